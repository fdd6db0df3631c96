#!/usr/bin/env bash
# The keyup demo from a fresh clone: setup, build, then a rotation against a local emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm -s build >/dev/null
pnpm exec tsx scripts/demo.ts
