# shellcheck shell=sh
# `kodama cp` into a pod (pods/cp.ts): `sh -c UNTAR sh DIR` with a tar stream on stdin, unpacked into DIR
# (made first), modification times set to now as kubectl cp does. busybox sh and dash run it.
mkdir -p "$1" && tar -xmf - -C "$1"
