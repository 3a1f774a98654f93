# shellcheck shell=sh
# After wraphead.sh: become the command (an exec'd process leads its own session, so the PID printed is the
# command's and its process group's).
exec "$@"
