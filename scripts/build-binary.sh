#!/usr/bin/env bash
# Builds the single `keyup` executable for this platform (linux-x64 in the release workflow): the CLI
# bundled with every dependency into one CommonJS file (esbuild), made into a Node.js single
# executable application (the blob from --experimental-sea-config, injected by postject into a copy of
# the node binary). The result needs no Node.js on the machine that runs it.
#   ./scripts/build-binary.sh            -> dist-binary/keyup-<platform>-<arch>
# It embeds Node.js 24, the supported line with the longest life left (scripts/node-line.sh; setup
# caches it); KEYUP_BINARY_NODE=/path/to/node picks another. Run `pnpm build` first (`pnpm release`
# and `pnpm test` do).
set -euo pipefail
cd "$(dirname "$0")/.."

node="${KEYUP_BINARY_NODE:-$(bash scripts/node-line.sh 24)}"
platform="$("$node" -p 'process.platform + "-" + process.arch')"
out=dist-binary
bin="$out/keyup-$platform"
[ -f packages/core/dist/index.js ] || { echo "build-binary: packages/core/dist is missing: run pnpm build first" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
# One CommonJS file: a single executable runs one CommonJS script and can require only Node's builtins.
# `module` first: jsonc-parser's `main` is a UMD build whose internal requires esbuild cannot follow.
pnpm exec esbuild packages/cli/src/bin.ts --bundle --platform=node --format=cjs --target=node20 --main-fields=module,main \
  --outfile="$out/keyup.cjs" --log-level=warning
cat >"$out/sea-config.json" <<JSON
{ "main": "$out/keyup.cjs", "output": "$out/keyup.blob", "disableExperimentalSEAWarning": true }
JSON
# Quiet unless it fails ("Wrote single executable preparation blob…" is all it says otherwise).
sea_log="$("$node" --experimental-sea-config "$out/sea-config.json" 2>&1)" || { echo "$sea_log" >&2; exit 1; }
cp "$node" "$bin"
chmod u+w "$bin"
# postject warns about note sections of the node binary it does not touch; nothing to act on.
pnpm exec postject "$bin" NODE_SEA_BLOB "$out/keyup.blob" --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 >/dev/null |
  { grep -v "Can't find string offset for section name" >&2 || true; }
rm "$out/keyup.blob" "$out/sea-config.json"
echo "$bin"
