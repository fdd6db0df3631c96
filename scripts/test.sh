#!/usr/bin/env bash
# Every test keyup has, from a fresh clone: setup, then `pnpm test` (build, typecheck, unit and
# integration tests against one local moto server, and the release tests: the packed tarballs on
# Node 20, 22 and 24, the single executable, the workflows), the unit and integration tests again on
# Node 24, then lint and the API docs build.
set -euo pipefail
cd "$(dirname "$0")/.."
load_start="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
# CPU time (user + system, in clock ticks) of this shell and the children it has waited for: each step
# is over when its command returns, so the difference around it is the step's CPU, whatever it spawned.
# The fields after the command name: utime, stime, cutime and cstime are the 12th to the 15th.
cpu_ticks() {
  local stat
  stat="$(cat /proc/$$/stat 2>/dev/null)" || { echo 0; return; }
  read -r -a fields <<<"${stat##*) }"
  echo $((fields[11] + fields[12] + fields[13] + fields[14]))
}
ticks="$(getconf CLK_TCK 2>/dev/null || echo 100)"
cpu_s() { awk -v t="$1" -v hz="$ticks" 'BEGIN { printf "%.1f", t / hz }'; }
cpu_start=$(cpu_ticks)
bash scripts/setup.sh
setup_s=$SECONDS
setup_cpu=$(($(cpu_ticks) - cpu_start))

started=$SECONDS
cpu_before=$(cpu_ticks)
pnpm test
suite_s=$((SECONDS - started))
suite_cpu=$(($(cpu_ticks) - cpu_before))
echo "suite on $(node --version): $suite_s s"

# The same unit and integration tests on Node 24 (the release tests already cover every line). The
# build is the one above: the packages' output does not depend on the Node that built them.
node24="$(bash scripts/node-line.sh 24)"
if [ "$node24" != "$(command -v node)" ]; then
  started=$SECONDS
  cpu_before=$(cpu_ticks)
  PATH="$(dirname "$node24"):$PATH" pnpm exec node scripts/run-tests.mjs --project unit --project integration
  node24_s=$((SECONDS - started))
  node24_cpu=$(($(cpu_ticks) - cpu_before))
  echo "suite on $("$node24" --version): $node24_s s"
fi

started=$SECONDS
cpu_before=$(cpu_ticks)
pnpm lint
# `pnpm docs` is pnpm's own command (it opens a package's homepage): the script needs `run`.
pnpm run docs >/dev/null
echo "lint and docs: ok"
lint_cpu=$(($(cpu_ticks) - cpu_before))
total_cpu=$(($(cpu_ticks) - cpu_start))
# One line in reports/suite-runs.jsonl: what `pnpm bench --only 8` publishes as the suite's time.
node -e 'import("./scripts/suite-runs.mjs").then((m) => m.recordSuiteRun(JSON.parse(process.argv[1])))' \
  "{\"kind\":\"test.sh\",\"seconds\":$SECONDS,\"loadStart\":$load_start,\"steps\":{\"setup\":$setup_s,\"suite\":$suite_s,\"node24\":${node24_s:-0},\"lintDocs\":$((SECONDS - started))},\"cpuSeconds\":$(cpu_s "$total_cpu"),\"stepsCpu\":{\"setup\":$(cpu_s "$setup_cpu"),\"suite\":$(cpu_s "$suite_cpu"),\"node24\":$(cpu_s "${node24_cpu:-0}"),\"lintDocs\":$(cpu_s "$lint_cpu")}}"
echo "scripts/test.sh: $SECONDS s, CPU $(cpu_s "$total_cpu") s user + system"
