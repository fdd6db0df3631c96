#!/usr/bin/env bash
# Prints the `node` binary of a supported Node.js line (20, 22, 24): the machine's own when its major
# version is that line, else the one setup cached from the npm registry's node-<platform>-<arch>
# package. With --fetch, downloads and caches the line if it is missing; without, fails if it is.
#   scripts/node-line.sh 24            -> node_modules/.cache/keyup-node/v24/bin/node
#   scripts/node-line.sh 22 --fetch    (what scripts/setup.sh runs)
set -euo pipefail
line="${1:?usage: node-line.sh LINE [--fetch]}"
# Inside the checkout, not under $HOME: some tests run the CLI as another user (files that user
# cannot read), and that user must be able to run this Node too, which a root-owned ~/.cache forbids.
cache="${KEYUP_NODE_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/node_modules/.cache/keyup-node}"

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$line" ]; then
  command -v node
  exit 0
fi

dir="$cache/v$line"
if [ ! -x "$dir/bin/node" ]; then
  if [ "${2:-}" != "--fetch" ]; then
    echo "node-line: Node.js $line is not cached in $dir: run ./scripts/setup.sh" >&2
    exit 1
  fi
  platform="$(node -p 'process.platform + "-" + process.arch')"
  echo "setup: fetching Node.js $line (node-$platform@$line) into $dir" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-$platform@$line" --silent >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/node-*.tgz -C "$tmp/x"
  "$tmp/x/package/bin/node" --version >/dev/null
  mkdir -p "$cache"
  rm -rf "$dir"
  mv "$tmp/x/package" "$dir"
fi
echo "$dir/bin/node"
