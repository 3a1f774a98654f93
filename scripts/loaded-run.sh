#!/usr/bin/env bash
# The flake hunt (issue 83): the whole suite, again and again, on a machine kept busier than CI's, each
# failing case recorded. A test that fails here fails CI one run in N: fix its cause (wait on a condition,
# make the test server answer as the real one does), never add a retry.
#
#   bash scripts/loaded-run.sh [RUNS=3] [HOGS=nproc] [JOBS=nproc+3]
#
# HOGS busy loops (nice 0, like a second suite's processes) run beside the suite, which runs JOBS test files
# side by side, more than the cores, as .ci/run does. Each run's JUnit report and log go to
# $OUT (default a new temp dir); the last line is "loaded runs: N, green: G in a row (longest), failures: ..."
# and `$OUT/failures.tsv` lists run, file and case of every failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
runs=${1:-3}
hogs=${2:-$(nproc)}
jobs=${3:-$(($(nproc) + 3))}
out=${OUT:-$(mktemp -d -t kodama-loaded-XXXXXX)}
mkdir -p "$out"
: >"$out/failures.tsv"
hog_pids=()
stop_hogs() { for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null; done; hog_pids=(); }
trap stop_hogs EXIT INT TERM

green=0 streak=0 best=0
for i in $(seq 1 "$runs"); do
  for _ in $(seq 1 "$hogs"); do
    (while :; do :; done) &
    hog_pids+=($!)
  done
  start=$SECONDS
  DENO_JOBS=$jobs deno task test --junit-path="$out/run-$i.xml" >"$out/run-$i.log" 2>&1
  code=$?
  stop_hogs
  deno run -A scripts/junit-files.ts "$out/run-$i.xml" >/dev/null 2>&1 || true
  fails=$(python3 - "$out/run-$i.xml" "$i" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(f"{sys.argv[2]}\t(no report)\t(the run wrote no report)")
    sys.exit()
for c in root.iter("testcase"):
    if c.find("failure") is not None or c.find("error") is not None:
        print(f"{sys.argv[2]}\t{c.get('classname')}\t{c.get('name')}")
PY
)
  if [ -n "$fails" ]; then
    echo "$fails" >>"$out/failures.tsv"
    streak=0
  elif [ "$code" = 0 ]; then
    green=$((green + 1)) streak=$((streak + 1))
    [ "$streak" -gt "$best" ] && best=$streak
  fi
  echo "run $i: exit $code in $((SECONDS - start)) s, $(echo -n "$fails" | grep -c . || true) failed case(s)"
  [ -n "$fails" ] && printf '  %s\n' "${fails//$'\n'/$'\n'  }"
done
echo "reports in $out"
echo "loaded runs: $runs, green: $green ($best in a row), failures: $(grep -c . "$out/failures.tsv" || true)"
