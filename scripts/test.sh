#!/usr/bin/env bash
# The test command: type-check, lint, then each vitest project in turn (unit, integration against
# a real Kafka and Elasticsearch, on kafkajs and again on @platformatic/kafka, the fault suite on
# three brokers, chart, terraform, image), so that one project's failed setup cannot hide the
# others' results. Arguments go to a
# single vitest run instead (`npm test -- --project unit`). Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"

report=${ICECREAM_CACHE:-$HOME/.cache/icecream}/test-reports/vitest-$$.json
mkdir -p "$(dirname "$report")"
passed=0 failed=0 failures=''

check() { # name, command...: a whole-tree check counted as one test
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)) && failures+="FAILED: $name"$'\n'; fi
}

run_vitest() {
  echo "==> vitest $*${KAFKA_CLIENT:+ (KAFKA_CLIENT=$KAFKA_CLIENT)}"
  rm -f "$report"
  vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
  local status=$? ok=0 bad=0
  if [ -s "$report" ]; then
    read -r ok bad < <(node -e 'const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests)' "$report")
    # Named again at the end, beside the summary, where a log's tail still shows them.
    local named
    named=$(node -e '
      for (const file of require(process.argv[1]).testResults)
        for (const t of file.assertionResults)
          if (t.status === "failed") console.log(`FAILED: ${process.argv[2]}${file.name.replace(process.cwd() + "/", "")} > ${t.fullName}`)
    ' "$report" "${KAFKA_CLIENT:+[KAFKA_CLIENT=$KAFKA_CLIENT] }")
    [ -n "$named" ] && failures+="$named"$'\n'
  fi
  passed=$((passed + ok)) failed=$((failed + bad))
  # A failed global setup or an unhandled error fails the run without failing a test: count it.
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
    failed=$((failed + 1))
    failures+="FAILED: vitest $* exited with status $status (see the errors above)"$'\n'
  fi
  rm -f "$report"
}

check typecheck tsc --noEmit
check lint biome check .
if [ $# -gt 0 ]; then
  run_vitest "$@"
else
  for project in unit integration chart terraform image; do
    run_vitest --project "$project"
    # The Kafka-bound tests once more on the second adapter: a difference is an adapter's bug.
    # (The port's contract suite already ran both adapters side by side; the live page's browser
    # test, the fuzzing and npm start's endings, which test no adapter, run once.)
    if [ "$project" = integration ]; then
      KAFKA_CLIENT=platformatic run_vitest --project integration \
        --exclude test/integration/kafka-client.test.ts --exclude test/integration/live-page.test.ts \
        --exclude test/integration/fuzz.test.ts --exclude test/integration/start.test.ts
      # The fault scenarios on three brokers (about 10 minutes), on the default adapter.
      run_vitest --project faults
    fi
  done
fi
printf '%s' "$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
