#!/usr/bin/env bash
# Prints the path of etcd (pinned version), building it from the Go module proxy into the cache
# on first use. Usage: scripts/tools/etcd.sh
source "$(dirname "$0")/../chart/go-tool-lib.sh"
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}

build_etcd() { # out workdir
  go_wrapper_module "$2" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
  go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3
}
go_tool_ensure etcd "$ETCD_VERSION" 2 build_etcd
