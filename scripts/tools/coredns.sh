#!/usr/bin/env bash
# Prints the path of CoreDNS (pinned version), building it from its Go module into the cache on
# first use. The cluster runs it as a pod whose image is this binary alone.
# Usage: scripts/tools/coredns.sh
source "$(dirname "$0")/../chart/go-tool-lib.sh"
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.7}

build_coredns() { # out workdir
  go_wrapper_module "$2" github.com/coredns/coredns "$COREDNS_VERSION" github.com/coredns/coredns
  go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" github.com/coredns/coredns
}
go_tool_ensure coredns "$COREDNS_VERSION" 12 build_coredns
