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
# CPython 3.11 fails some of Hypothesis's ast.parse calls deep in the coverage phase ("AST
# constructor recursion depth mismatch"): a Python 3.12 or newer where there is one, also one
# that pyenv installed without putting it on the PATH.
newer_python() {
  local candidate
  for candidate in python3.13 python3.12 "$(pyenv root 2>/dev/null)"/versions/3.1[2-9]*/bin/python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  command -v python3 || true
}
export PYTHON=${PYTHON:-$(newer_python)}
venv="$cache/schemathesis/venv-$SCHEMATHESIS_VERSION-$("$PYTHON" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')"
ensure_venv "$venv" schemathesis "schemathesis==$SCHEMATHESIS_VERSION"
echo "$venv/bin/st"
