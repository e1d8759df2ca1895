#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI fuzzer) into a Python virtual environment in the cache
# (git-ignored, reused, keyed by the pinned version) and prints the path of its `st` command.
# Idempotent: a second run only checks the marker file. Progress goes to stderr.
#
#   st=$(bash scripts/tools/schemathesis.sh) && "$st" run --help
#
# Cold install: under a minute; warm, well under 1 s.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

cache=${ICECREAM_CACHE:-$HOME/.cache/icecream}
venv="$cache/schemathesis/venv-$SCHEMATHESIS_VERSION"
marker="$venv/.installed"

log() { echo "schemathesis: $*" >&2; }

if [ -f "$marker" ] && [ -x "$venv/bin/st" ]; then
  log "reusing $venv"
  echo "$venv/bin/st"
  exit 0
fi

python=${PYTHON:-$(command -v python3 || true)}
if [ -z "$python" ]; then
  log "python3 is not installed; install Python 3.9+ (e.g. apt-get install python3-venv) and retry"
  exit 1
fi

# Test processes of two checkouts may call this at once: one installs, the other waits for it.
mkdir -p "$cache/schemathesis"
exec 9>"$cache/schemathesis/.lock"
if ! flock -n 9; then
  log "another install is running; waiting for it"
  flock 9
  if [ -f "$marker" ]; then echo "$venv/bin/st"; exit 0; fi
fi

start=$SECONDS
rm -rf "$venv"
log "creating virtual environment $venv"
"$python" -m venv "$venv" >&2
log "installing schemathesis==$SCHEMATHESIS_VERSION"
"$venv/bin/pip" install --disable-pip-version-check --no-input --progress-bar off \
  "schemathesis==$SCHEMATHESIS_VERSION" >&2
"$venv/bin/st" --version >&2
touch "$marker"
log "installed in $((SECONDS - start)) s"
echo "$venv/bin/st"
