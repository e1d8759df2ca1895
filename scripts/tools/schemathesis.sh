#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI fuzzer) into a Python virtual environment in the cache
# (git-ignored, reused, keyed by the pinned version) and prints the path of its `st` command.
# Idempotent: a second run only checks the marker file. Progress goes to stderr.
#
#   st=$(bash scripts/tools/schemathesis.sh) && "$st" run --help
#
# Cold install: about 3 minutes; warm, well under 1 s.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

source "$(dirname "$0")/../lib/python-venv.sh"
cache=${ICECREAM_CACHE:-$HOME/.cache/icecream}
venv="$cache/schemathesis/venv-$SCHEMATHESIS_VERSION"
ensure_venv "$venv" schemathesis "schemathesis==$SCHEMATHESIS_VERSION"
echo "$venv/bin/st"
