#!/usr/bin/env bash
# Builds the offline stand-in for the DigitalOcean Terraform provider (test/terraform/provider:
# serves the real provider's schema from ../shared/schemas/terraform/, never calls an API) and
# prints a plugin directory for `terraform init -plugin-dir=<dir>`:
#   <dir>/registry.terraform.io/digitalocean/digitalocean/<version>/<os>_<arch>/terraform-provider-digitalocean_v<version>
# Cached under ${ICECREAM_CACHE:-$HOME/.cache/icecream}/terraform, keyed by the provider version
# and a hash of the Go sources and the schema; a second run reuses it. Progress goes to stderr.
# Needs Go >= 1.25 (the Go module proxy serves terraform-plugin-go); cold build ~50 s, warm 0 s.
set -euo pipefail

PROVIDER_VERSION=2.99.1

repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${ICECREAM_SHARED:-$repo/../shared}
schema="$shared/schemas/terraform/digitalocean-$PROVIDER_VERSION.schema.json"
src="$repo/test/terraform/provider"
cache=${ICECREAM_CACHE:-$HOME/.cache/icecream}

log() { echo "terraform-provider: $*" >&2; }

if [ ! -f "$schema" ]; then
  log "the provider schema is missing: $schema (the shared/ folder beside the repository holds it)"
  exit 1
fi
if ! command -v go >/dev/null; then
  log "Go is not installed (need Go >= 1.25 to build the offline provider stand-in)"
  exit 1
fi

key=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go "$schema" | sha256sum | cut -c1-16)
platform="$(go env GOOS)_$(go env GOARCH)"
plugins="$cache/terraform/plugins-$PROVIDER_VERSION-$key"
binary="$plugins/registry.terraform.io/digitalocean/digitalocean/$PROVIDER_VERSION/$platform/terraform-provider-digitalocean_v$PROVIDER_VERSION"

if [ -x "$binary" ]; then
  log "reusing $binary"
  echo "$plugins"
  exit 0
fi

mkdir -p "$cache/terraform"
exec 9>"$cache/terraform/.build.lock"
flock 9
if [ -x "$binary" ]; then echo "$plugins"; exit 0; fi

start=$SECONDS
build="$cache/terraform/build-$key"
rm -rf "$build" && mkdir -p "$build"
cp "$src/go.mod" "$src/go.sum" "$src"/*.go "$build/"
cp "$schema" "$build/schema.json" # embedded into the binary; never committed
log "building the offline DigitalOcean provider v$PROVIDER_VERSION for $platform (about 1 minute cold)"
mkdir -p "$(dirname "$binary")"
(cd "$build" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$binary.tmp" .) >&2
mv "$binary.tmp" "$binary"
rm -rf "$build"
log "built $binary in $((SECONDS - start)) s"
echo "$plugins"
