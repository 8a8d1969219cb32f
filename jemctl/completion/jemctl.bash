# SPDX-License-Identifier: BSD-2-Clause
# bash completion of jemctl (jemctl(1)): verbs, options, the pids that have a control
# socket in the runtime directory, and the mallctl names of the process being addressed
# (asked from it with `jemctl ls`).  Installed by `meson install` into
# share/bash-completion/completions/jemctl.

_jemctl_runtime_dir() { # the --runtime-dir given on the line, else jemctl's default
        local i
        for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
                if [[ ${COMP_WORDS[i]} == --runtime-dir ]]; then
                        printf '%s' "${COMP_WORDS[i + 1]}"
                        return
                fi
        done
        if [[ -n ${JEMCTL_RUNTIME_DIR-} ]]; then
                printf '%s' "$JEMCTL_RUNTIME_DIR"
        elif [[ $EUID == 0 ]]; then
                printf '/run/jemctl'
        else
                printf '%s/jemctl' "${XDG_RUNTIME_DIR-}"
        fi
}

_jemctl_pids() {
        local f dir
        dir=$(_jemctl_runtime_dir)
        for f in "$dir"/*.sock; do
                [[ -S $f ]] || continue
                f=${f##*/}
                printf '%s\n' "${f%.sock}"
        done
}

# The names on stdin with their <i>/<j> placeholders filled from the numbers typed in
# the same components of the word being completed ("arena.3.d" gives arena.3.dirty_...).
_jemctl_fill() {
        awk -v cur="$1" 'BEGIN { nc = split(cur, c, ".") }
        { n = split($0, p, "."); out = ""
          for (k = 1; k <= n; k++) {
                  part = p[k]
                  if (k < nc && (part ~ /^<[ij]>/) && c[k] ~ /^[0-9]+$/) sub(/^<[ij]>/, c[k], part)
                  out = out (k > 1 ? "." : "") part
          }
          print out }'
}

_jemctl_bash() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        local verbs="ps stats get set decay purge ls info watch prof help"
        local globals="--json --runtime-dir --timeout --comm --unit --all --daemon
                       --no-daemon --host -H --help --version"
        local i verb="" vi=0
        for ((i = 1; i < COMP_CWORD; i++)); do
                case ${COMP_WORDS[i]} in
                --runtime-dir | --timeout | --daemon | --comm | --unit | --arena | -H | --host | \
                        --interval | --count | -o | --format | --root | --lg-sample) ((i++)) ;;
                -*) ;;
                *)
                        verb=${COMP_WORDS[i]}
                        vi=$i
                        break
                        ;;
                esac
        done
        case $prev in
        --runtime-dir | --root)
                COMPREPLY=($(compgen -d -- "$cur"))
                return
                ;;
        -o)
                COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
        --format)
                COMPREPLY=($(compgen -W "heap pprof folded svg" -- "$cur"))
                return
                ;;
        --timeout | --interval | --count | --arena | --lg-sample | --daemon | --comm | --unit)
                return
                ;;
        esac
        if [[ -z $verb ]]; then
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "$globals" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
                fi
                return
        fi
        # The positional arguments after the verb, options and their values left out.
        local pos=() pid=""
        for ((i = vi + 1; i < COMP_CWORD; i++)); do
                case ${COMP_WORDS[i]} in
                --runtime-dir | --timeout | --daemon | --comm | --unit | --arena | -H | --host | \
                        --interval | --count | -o | --format | --root | --lg-sample) ((i++)) ;;
                -*) ;;
                *) pos+=("${COMP_WORDS[i]}") ;;
                esac
        done
        if [[ $cur == -* ]]; then
                local own=""
                case $verb in
                ps) own="--clean" ;;
                stats) own="--full" ;;
                purge) own="--arena" ;;
                watch) own="--interval --count" ;;
                prof) own="-o --format --root --lg-sample" ;;
                esac
                COMPREPLY=($(compgen -W "$own $globals" -- "$cur"))
                return
        fi
        case $verb in
        help)
                ((${#pos[@]} == 0)) && COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
                return
                ;;
        ps) return ;;
        esac
        if ((${#pos[@]} == 0)); then
                if [[ $verb == prof ]]; then
                        COMPREPLY=($(compgen -W "convert $(_jemctl_pids)" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$(_jemctl_pids)" -- "$cur"))
                fi
                return
        fi
        pid=${pos[0]}
        case $verb in
        prof)
                if [[ $pid == convert ]]; then
                        COMPREPLY=($(compgen -f -- "$cur"))
                elif ((${#pos[@]} == 1)); then
                        COMPREPLY=($(compgen -W "on off status reset dump" -- "$cur"))
                fi
                ;;
        get | set | ls | list)
                [[ $verb == ls || $verb == list ]] && ((${#pos[@]} > 1)) && return
                local rt names
                rt=$(_jemctl_runtime_dir)
                names=$(jemctl --runtime-dir "$rt" --timeout 2 ls "$pid" 2>/dev/null |
                        awk 'NR > 1 { print $1 }' | _jemctl_fill "$cur")
                if [[ $verb == set ]]; then
                        # Only what can be written, as NAME= (bash puts no space after it).
                        names=$(jemctl --runtime-dir "$rt" --timeout 2 ls "$pid" 2>/dev/null |
                                awk 'NR > 1 && ($3 == "rw" || $3 == "-w" || $3 == "--") { print $1 "=" }' |
                                _jemctl_fill "$cur")
                        compopt -o nospace 2>/dev/null
                fi
                COMPREPLY=($(compgen -W "$names" -- "$cur"))
                ;;
        esac
}
complete -F _jemctl_bash jemctl
