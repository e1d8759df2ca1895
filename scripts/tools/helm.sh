#!/usr/bin/env bash
# Prints the path of Helm (pinned version), building it from the Go module proxy into the cache
# on first use. Usage: scripts/tools/helm.sh  (HELM_VERSION overrides the pin).
source "$(dirname "$0")/../chart/go-tool-lib.sh"
HELM_VERSION=${HELM_VERSION:-v4.3.1}

build_helm() { # out workdir
  GOBIN="$2/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  mv "$2/bin/helm" "$1"
}
go_tool_ensure helm "$HELM_VERSION" 7 build_helm
