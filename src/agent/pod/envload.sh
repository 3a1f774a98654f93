# kodama: a run's variables rotated since the pod started (kodama agent keys rotate). The env Secret reaches
# the container through envFrom, read once when the container starts; a rotated key is also written to
# ~/.kodama/env/NAME (mode 0600, on the home volume), and this puts each such file's value over the
# container's before the agent starts. Usage: sh -c ENVLOAD kodama-env COMMAND ARGS...
d="${HOME:-/home/kodama}/.kodama/env"
if [ -d "$d" ]; then
  for f in "$d"/*; do
    [ -f "$f" ] || continue
    n=${f##*/}
    case "$n" in
      "" | [0-9]* | *[!A-Za-z0-9_]*) continue ;;
    esac
    v=$(cat "$f") || continue
    export "$n=$v"
  done
  # removed since (kodama session env unset): a marker each
  for f in "$d"/unset/*; do
    [ -f "$f" ] || continue
    n=${f##*/}
    case "$n" in
      "" | [0-9]* | *[!A-Za-z0-9_]*) continue ;;
    esac
    unset "$n"
  done
fi
exec "$@"
