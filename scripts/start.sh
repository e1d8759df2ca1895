#!/usr/bin/env bash
# `npm start`: installs the locked dependencies when needed, then runs scripts/start.ts on Node 26.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-deps.sh
# The live page's assets: built when missing or older than their sources.
if [ ! -f dist/live-page/index.html ] || [ -n "$(find live/page -newer dist/live-page/index.html -print -quit)" ]; then
  echo "==> building the live page (esbuild)" >&2
  node_modules/.bin/node live/page/build.ts
fi
exec node_modules/.bin/node --import tsx scripts/start.ts
