#!/usr/bin/env bash
# Every test keyup has, from a fresh clone: setup, then `pnpm test` (build, typecheck, unit and
# integration tests against one local moto server, and the release tests: the packed tarballs on
# Node 20, 22 and 24, the single executable, the workflows), the unit and integration tests again on
# Node 24, then lint and the API docs build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

started=$SECONDS
pnpm test
echo "suite on $(node --version): $((SECONDS - started)) s"

# The same unit and integration tests on Node 24 (the release tests already cover every line). The
# build is the one above: the packages' output does not depend on the Node that built them.
node24="$(bash scripts/node-line.sh 24)"
if [ "$node24" != "$(command -v node)" ]; then
  started=$SECONDS
  PATH="$(dirname "$node24"):$PATH" pnpm exec node scripts/run-tests.mjs --project unit --project integration
  echo "suite on $("$node24" --version): $((SECONDS - started)) s"
fi

pnpm lint
# `pnpm docs` is pnpm's own command (it opens a package's homepage): the script needs `run`.
pnpm run docs >/dev/null
echo "lint and docs: ok"
