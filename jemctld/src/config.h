/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config: the configuration file of jemctld (documented in jemctld(8)).  Every
 * long command-line option that takes a setting is also a key of the file, with the same
 * name and meaning, so the two can never drift apart: the file's lines are turned into
 * "--key=value" arguments placed before the real command line, and one getopt loop parses
 * both (the command line comes last, so a flag overrides the file).
 */
#ifndef JEMCTLD_CONFIG_H
#define JEMCTLD_CONFIG_H

#include <getopt.h>
#include <stdbool.h>

/* Read when no --config is given, if it exists. */
#define JD_CONFIG_DEFAULT "/etc/jemctl/jemctld.conf"
/* Longest line of the file (a runtime directory path fits with room to spare). */
#define JD_CONFIG_LINE_MAX 4096

/*
 * Builds the argument vector to parse: argv[0], then one "--key[=value]" per setting of
 * the configuration file (--config FILE from argv, else JD_CONFIG_DEFAULT if it exists),
 * then argv[1..].  Keys are checked against longopts (exact names; "config", "help" and
 * "version" are not keys); an option without argument takes a boolean value (true/false,
 * yes/no, on/off, 1/0) and "false" leaves it out.
 * Returns 0 with *ret_argc and *ret_argv set (allocated, freed with the process), or 2 (the
 * exit status) after printing "jemctld: FILE:LINE: why" for an unknown key, a line that
 * is not "key = value", a missing value or a bad boolean, or why the file cannot be read.
 */
int jd_config_argv(int argc, char **argv, const struct option *longopts, int *ret_argc,
                   char ***ret_argv);

/*
 * Where argument index i of the vector built above came from: "FILE:LINE: " for a
 * setting of the file, "" for the command line.  For messages about bad values, e.g.
 * jd_config_origin(optind - 1) right after getopt_long returned the option (settings of
 * the file are always one "--key=value" argument).  Never NULL.
 */
const char *jd_config_origin(int i);

/* Frees the vector jd_config_argv built, the file's arguments and their origins (at exit;
 * nothing of them may be used after).  Never fails. */
void jd_config_free(void);

/* The configuration file read ("" if none), for the log. */
const char *jd_config_path(void);

#endif
