#!/usr/bin/env bash
# `npm start`: installs the locked dependencies when needed, then runs scripts/start.ts on Node 26.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-deps.sh
exec node_modules/.bin/node --import tsx scripts/start.ts
