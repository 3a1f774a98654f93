# Receives a local repository's bundle for `start --repo` from a laptop path (src/session/git/git.ts):
#   sh -c RECEIVE kodama-receive SIZE FILE
# stdin: exactly SIZE bytes (v4 exec cannot end stdin), written to FILE.part, then renamed to FILE only when
# all of them arrived (else exit 1 and no FILE). POSIX sh, as busybox sh and dash run it (no bashisms).
head -c "$1" > "$2.part" && [ "$(wc -c < "$2.part")" -eq "$1" ] && mv "$2.part" "$2"
