# kodama session env unset: variables $@ removed for later runs. Their ~/.kodama/env/NAME files go and a
# marker ~/.kodama/env/unset/NAME takes their place, so envload.sh unsets what the container started with.
# Usage: sh -c ENVUNSET kodama-env-unset NAME...
set -eu
d="${HOME:-/home/kodama}/.kodama/env"
umask 077
mkdir -p "$d/unset"
for n in "$@"; do
  case "$n" in
    "" | [0-9]* | *[!A-Za-z0-9_]*)
      echo "kodama: bad variable name" >&2
      exit 2
      ;;
  esac
  rm -f "$d/$n"
  : > "$d/unset/$n"
done
