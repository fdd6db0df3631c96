#!/usr/bin/env bash
# Every test keyup has, from a fresh clone: setup, then `pnpm test` (build, typecheck, unit and
# integration tests against one local moto server, and the release tests: the packed tarballs on
# Node 20, 22 and 24, the single executable, the workflows), the unit and integration tests again on
# Node 24, then lint and the API docs build.
set -euo pipefail
cd "$(dirname "$0")/.."
load_start="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
bash scripts/setup.sh
setup_s=$SECONDS

started=$SECONDS
pnpm test
suite_s=$((SECONDS - started))
echo "suite on $(node --version): $suite_s s"

# The same unit and integration tests on Node 24 (the release tests already cover every line). The
# build is the one above: the packages' output does not depend on the Node that built them.
node24="$(bash scripts/node-line.sh 24)"
if [ "$node24" != "$(command -v node)" ]; then
  started=$SECONDS
  PATH="$(dirname "$node24"):$PATH" pnpm exec node scripts/run-tests.mjs --project unit --project integration
  node24_s=$((SECONDS - started))
  echo "suite on $("$node24" --version): $node24_s s"
fi

started=$SECONDS
pnpm lint
# `pnpm docs` is pnpm's own command (it opens a package's homepage): the script needs `run`.
pnpm run docs >/dev/null
echo "lint and docs: ok"
# One line in reports/suite-runs.jsonl: what `pnpm bench --only 8` publishes as the suite's time.
node -e 'import("./scripts/suite-runs.mjs").then((m) => m.recordSuiteRun(JSON.parse(process.argv[1])))' \
  "{\"kind\":\"test.sh\",\"seconds\":$SECONDS,\"loadStart\":$load_start,\"steps\":{\"setup\":$setup_s,\"suite\":$suite_s,\"node24\":${node24_s:-0},\"lintDocs\":$((SECONDS - started))}}"
echo "scripts/test.sh: $SECONDS s"
