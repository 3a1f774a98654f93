# `kodama attach`'s shell in the session's pod (src/session/access/attach.ts):
#   sh -c ATTACH kodama-attach SHELL
# exec's the shell the user chose (SHELL, session.shell) when the image has it, else bash, else sh; a
# zellij SHELL attaches to (or creates) the session's zellij session, so detaching keeps its panes running.
# stdin/stdout are the user's terminal. Exit 127 with a message when the image has no shell at all.
# POSIX sh, as busybox sh and dash run it (no bashisms).
want="$1"
if [ "${want##*/}" = zellij ] && command -v "$want" >/dev/null 2>&1; then
  exec "$want" attach --create "kodama-${KODAMA_SESSION:-session}"
fi
for s in "$want" bash sh; do
  case "$s" in
    */*) [ -x "$s" ] && exec "$s" ;;
    *) command -v "$s" >/dev/null 2>&1 && exec "$s" ;;
  esac
done
echo "kodama: no shell in this image (tried $want, bash, sh)" >&2
exit 127
