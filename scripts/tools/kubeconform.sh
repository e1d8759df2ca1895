#!/usr/bin/env bash
# Prints the path of kubeconform (pinned version), building it from the Go module proxy into the
# cache on first use. Usage: scripts/tools/kubeconform.sh
source "$(dirname "$0")/../chart/go-tool-lib.sh"
KUBECONFORM_VERSION=${KUBECONFORM_VERSION:-v0.8.0}

build_kubeconform() { # out workdir
  GOBIN="$2/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  mv "$2/bin/kubeconform" "$1"
}
go_tool_ensure kubeconform "$KUBECONFORM_VERSION" 1 build_kubeconform
