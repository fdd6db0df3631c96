#!/usr/bin/env bash
# Installs what keyup's tests and demo need on a fresh clone: pnpm (the version package.json pins),
# the workspace's packages, and checks that moto and cfn-lint are there for python3.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pnpm="$(node -p "require('./package.json').packageManager.split('@')[1]")"
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want_pnpm" ]; then
  echo "setup: installing pnpm@$want_pnpm"
  npm install --global "pnpm@$want_pnpm" --no-fund --no-audit >/dev/null
fi

if ! python3 -c "import moto.server, flask" >/dev/null 2>&1; then
  echo "setup: moto server not found for python3; trying pip install 'moto[server]'" >&2
  python3 -m pip install --quiet 'moto[server]>=5.2,<6' || {
    echo "setup: keyup's tests and demo need Python 3 with moto[server] (pip install 'moto[server]')" >&2
    exit 1
  }
fi

# The tests lint the SAM template and the CDK construct's synthesized template with cfn-lint.
if ! command -v cfn-lint >/dev/null 2>&1 && ! python3 -c "import cfnlint.runner" >/dev/null 2>&1; then
  echo "setup: cfn-lint not found; trying pip install cfn-lint" >&2
  python3 -m pip install --quiet cfn-lint || {
    echo "setup: cfn-lint is MISSING: the template tests (examples/secretsmanager-rotation-lambda, packages/cdk) will fail until you pip install cfn-lint" >&2
    exit 1
  }
fi

pnpm install --frozen-lockfile --reporter=append-only | tail -n 3
