#!/usr/bin/env bash
# Prints the path of kube-apiserver (pinned version), building it from the k8s.io/kubernetes Go
# module into the cache on first use.
# Usage: scripts/tools/kube-apiserver.sh  (also: --module-dir prints the module's folder, which
# holds api/openapi-spec for offline schemas).
source "$(dirname "$0")/kube-lib.sh"

build_kube_apiserver() { # out workdir
  kube_build "$1" "$2" kube-apiserver
}

if [ "${1:-}" = --module-dir ]; then kube_module_dir; exit; fi
go_tool_ensure kube-apiserver "$KUBE_VERSION" 11 build_kube_apiserver
