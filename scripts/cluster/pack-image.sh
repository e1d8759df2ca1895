#!/usr/bin/env bash
# Packs a root file system as an image archive in `docker save` form (manifest.json, the image
# config and one layer), which `ctr images import` takes: images here are made locally, as no
# registry is reachable.
# Usage: scripts/cluster/pack-image.sh NAME:TAG ROOTFS_DIR OUT.tar [ENTRYPOINT ARG...]
set -euo pipefail
name=$1 rootfs=$2 out=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tar --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mv "$work/layer.tar" "$work/$layer.tar"
entrypoint=$(printf '%s\n' "$@" | jq -R . | jq -sc 'map(select(. != ""))')
jq -n --arg layer "sha256:$layer" --argjson entrypoint "$entrypoint" '{
  architecture: "amd64", os: "linux",
  config: {Entrypoint: $entrypoint, Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
  rootfs: {type: "layers", diff_ids: [$layer]}
}' >"$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$config.json"
jq -n --arg config "$config.json" --arg layer "$layer.tar" --arg name "$name" \
  '[{Config: $config, RepoTags: [$name], Layers: [$layer]}]' >"$work/manifest.json"
tar -C "$work" -cf "$out" manifest.json "$config.json" "$layer.tar"
