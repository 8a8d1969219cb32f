# Drives an interactive zsh through zsh/zpty: types LINE and a TAB, prints the line as
# zsh completed it.  For jemctl's zsh completion as `meson install` installs it.
#   zsh -f tests/control/zsh_complete.zsh VENDOR_COMPLETIONS_DIR BIN_DIR LINE
setopt extendedglob
zmodload zsh/zpty || exit 2
zpty -b z 'zsh -f -i'
zpty -w z "PS1='%% '; unsetopt zle_bracketed_paste 2>/dev/null; fpath=(${(q)1} \$fpath);
autoload -Uz compinit; compinit -u -D; PATH=${(q)2}:\$PATH; export JEMCTL_RUNTIME_DIR=${(q)JEMCTL_RUNTIME_DIR}"
sleep 0.5
zpty -w -n z "$3"$'\t'
sleep 2
out=""
while zpty -r -t z chunk; do out+=$chunk; done
zpty -d z
# The last prompt's line, without the terminal's escape sequences.
out=${out//$'\r'/}
out=${out//$'\e'\[[0-9;?]#[A-Za-z]/}
out=${out//?$'\b'/}
print -r -- "${${out##*% }%%[[:space:]]#}"
