#!/usr/bin/env bash
# The suite N times in a row (default 3) with two CPU-bound processes beside it, as issue 14 asks: no
# test may depend on the machine's speed. Each run is `pnpm test` (build, typecheck, every vitest
# project on this Node.js line) and lands in reports/suite-runs.jsonl with busyLoops 2; the script
# stops at the first failed run and exits with its status.
#
#   bash scripts/suite-under-load.sh        # three runs
#   bash scripts/suite-under-load.sh 1      # one
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"

busy=()
stop_busy() { for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_busy EXIT
for _ in 1 2; do
  node -e 'for (;;);' &
  busy+=("$!")
done

for i in $(seq 1 "$runs"); do
  started=$SECONDS
  echo "== run $i of $runs beside two busy loops (load $(cut -d' ' -f1 /proc/loadavg))"
  KEYUP_BUSY_LOOPS=2 pnpm test
  echo "== run $i of $runs: passed in $((SECONDS - started)) s"
done
