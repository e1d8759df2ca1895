#!/usr/bin/env bash
# Prints the path of kube-apiserver (pinned version), building it from the k8s.io/kubernetes Go
# module into the cache on first use. k8s.io/kubernetes points its staging modules at local
# folders (replace => ./staging/...), so `go install` refuses it; a wrapper module replaces each
# staging module with its published v0.x release instead.
# Usage: scripts/tools/kube-apiserver.sh  (also: --module-dir prints the module's folder, which
# holds api/openapi-spec for offline schemas).
source "$(dirname "$0")/../chart/go-tool-lib.sh"
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
staging_version="v0.${KUBE_VERSION#v1.}"

module_dir() {
  go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

build_kube_apiserver() { # out workdir
  local dir gomod
  dir=$(module_dir)
  [ -n "$dir" ] || { echo "could not download k8s.io/kubernetes@$KUBE_VERSION" >&2; return 1; }
  gomod="$dir/go.mod"
  go_wrapper_module "$2" k8s.io/kubernetes "$KUBE_VERSION" k8s.io/kubernetes/cmd/kube-apiserver
  # One replace line per staging module: k8s.io/x => ./staging/src/k8s.io/x becomes k8s.io/x vX.
  awk -v v="$staging_version" '
    /^replace \($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock && $2 == "=>" && $3 ~ /^\.\/staging\// { print "replace " $1 " => " $1 " " v }
  ' "$gomod" >>"$2/go.mod"
  grep -c '^replace ' "$2/go.mod" | sed 's/^/staging replace lines: /'
  go mod tidy
  CGO_ENABLED=0 go build -trimpath -o "$1" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" \
    k8s.io/kubernetes/cmd/kube-apiserver
}

if [ "${1:-}" = --module-dir ]; then module_dir; exit; fi
go_tool_ensure kube-apiserver "$KUBE_VERSION" 11 build_kube_apiserver
