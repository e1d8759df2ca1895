#!/usr/bin/env bash
# Prints the folder holding kubelet, kube-scheduler, kube-controller-manager and kube-proxy
# (pinned version), built in one `go build` from the k8s.io/kubernetes Go module into the cache on
# first use (they share most packages, so one build is far shorter than four).
# Usage: scripts/tools/kube-node.sh
source "$(dirname "$0")/kube-lib.sh"

build_kube_node() { # out workdir
  kube_build "$1" "$2" kubelet kube-scheduler kube-controller-manager kube-proxy
}
go_tool_ensure kube-node "$KUBE_VERSION" 25 build_kube_node
