#!/usr/bin/env bash
# Every test keyup has, from a fresh clone: setup, then `pnpm test` (build, typecheck, unit and
# integration tests against one local moto server), then lint and the API docs build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm test
pnpm lint
# `pnpm docs` is pnpm's own command (it opens a package's homepage): the script needs `run`.
pnpm run docs >/dev/null
echo "lint and docs: ok"
