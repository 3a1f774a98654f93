# kodama agent keys rotate and session env set: write the new value of variable $1 (read on stdin, never an argument) to
# ~/.kodama/env/$1, mode 0600, atomically (a temporary file renamed over the old one), for envload.sh.
# Usage: sh -c ROTATE kodama-rotate NAME < value
set -eu
n=$1
case "$n" in
  "" | [0-9]* | *[!A-Za-z0-9_]*)
    echo "kodama: bad variable name" >&2
    exit 2
    ;;
esac
d="${HOME:-/home/kodama}/.kodama/env"
umask 077
mkdir -p "$d"
t="$d/.$n.$$"
cat > "$t"
mv -f "$t" "$d/$n"
# set again after a `session env unset`: the marker goes
rm -f "$d/unset/$n"
