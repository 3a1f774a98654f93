# shellcheck shell=sh
# kodama session: the editor configs into HOME, as the session container's postStart hook
# (session/spec/manifests.ts):
#   sh -c EDITORCONFIG kodama-editor EDITOR_DIR REPLACE DEFAULTS
# The kubelet runs a postStart hook before the container counts as running, so the pod is Ready (and
# `start` returns) only once the files are there. EDITOR_DIR is the ConfigMap's mount; REPLACE and
# DEFAULTS are space-separated `FILE:PATH` pairs (a file of the ConfigMap, its path under HOME). A
# repository's file (REPLACE) replaces the copy at each start; a default only fills a missing file, so
# edits made in the session stay. It always succeeds: a hook that fails would have the kubelet kill the
# session's container, and a config that could not be copied must not cost the session.
dir="$1"; replace="$2"; defaults="$3"
for f in $replace; do
  src=$dir/${f%%:*}; dst="$HOME/${f#*:}"
  # a copy on the home volume (editable in the session); the repo's version wins at each start
  [ -f "$src" ] && mkdir -p "${dst%/*}" && rm -f "$dst" && cp "$src" "$dst"
done
for f in $defaults; do
  src=$dir/${f%%:*}; dst="$HOME/${f#*:}"
  # a default never replaces what is there (a file edited in the session, a link, a directory)
  [ -f "$src" ] && [ ! -e "$dst" ] && [ ! -L "$dst" ] && mkdir -p "${dst%/*}" && cp "$src" "$dst"
done
exit 0
