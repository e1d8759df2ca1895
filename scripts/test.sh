#!/usr/bin/env bash
# The test command: type-check, lint, then every vitest project (unit, integration against a real
# Kafka and Elasticsearch, chart, terraform, image). Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"

report_dir=${ICECREAM_CACHE:-$HOME/.cache/icecream}/test-reports
mkdir -p "$report_dir"
passed=0 failed=0
check() { # name, command...: a whole-tree check counted as one test
  local name=$1; shift
  echo "==> $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
check typecheck tsc --noEmit
check lint biome check .

echo "==> vitest $*"
vitest run --reporter=default --reporter=json --outputFile.json="$report_dir/vitest.json" "$@"
vitest_status=$?
if [ -s "$report_dir/vitest.json" ]; then
  read -r vp vf < <(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests,r.numFailedTests+(r.numTotalTestSuites&&r.success===false&&r.numFailedTests===0?1:0))' "$report_dir/vitest.json")
  passed=$((passed + vp)) failed=$((failed + vf))
elif [ "$vitest_status" -ne 0 ]; then
  failed=$((failed + 1))
fi
rm -f "$report_dir/vitest.json"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$vitest_status" -eq 0 ]
