#!/usr/bin/env bash
# The benchmark suite: set up, install the benchmark-only tools, run every workload at full size
# (about 10 minutes on 2 cores; the generated portfolio is cached in out/bench/cache after the first
# run), write bench/results.json and refresh the table between the BENCHMARK-TABLE markers of
# README.md (that block only).
#
#   bash scripts/bench.sh                   # full size, README refreshed
#   bash scripts/bench.sh --size small      # quicker; the README is left alone
#   bash scripts/bench.sh --only 1,3        # some workloads; the README is left alone
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

stamp=".venv/.pmo-bench-installed"
want="$(sha256sum bench/requirements.txt | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bench: installing the benchmark tools into .venv"
  .venv/bin/python -m pip install -q -r bench/requirements.txt
  echo "$want" > "$stamp"
fi

export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
size="full"; partial=""; rest=()
while (($#)); do
  case "$1" in
    --size) size="${2:-}"; shift ;;
    --size=*) size="${1#--size=}" ;;
    --only|--output) partial=1; rest+=("$1" "${2:-}"); shift ;;
    --only=*|--output=*) partial=1; rest+=("$1") ;;
    *) rest+=("$1") ;;
  esac
  shift
done
status=0
.venv/bin/python -m bench --size "$size" ${rest[@]+"${rest[@]}"} || status=$?
if [ "$size" = "full" ] && [ -z "$partial" ] && [ -f bench/results.json ]; then
  .venv/bin/python -m bench.report --readme README.md
fi
exit "$status"
