# Sourced by scripts/tools/{kube-apiserver,kube-node}.sh: builds binaries from the k8s.io/kubernetes
# Go module. It points its staging modules at local folders (replace => ./staging/...), so
# `go install` refuses it; a wrapper module replaces each staging module with its published v0.x
# release instead.
source "$(dirname "${BASH_SOURCE[0]}")/../chart/go-tool-lib.sh"
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}

kube_module_dir() {
  go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# kube_build OUT WORKDIR CMD...: builds k8s.io/kubernetes/cmd/CMD for each CMD. With one CMD, OUT
# is the binary; with several, OUT is a folder holding one binary per CMD.
kube_build() {
  local out=$1 work=$2 dir cmd imports=() packages=()
  shift 2
  dir=$(kube_module_dir)
  [ -n "$dir" ] || { echo "could not download k8s.io/kubernetes@$KUBE_VERSION" >&2; return 1; }
  for cmd in "$@"; do packages+=("k8s.io/kubernetes/cmd/$cmd"); done
  go_wrapper_module "$work" k8s.io/kubernetes "$KUBE_VERSION" "${packages[@]}"
  # One replace line per staging module: k8s.io/x => ./staging/src/k8s.io/x becomes k8s.io/x vX.
  awk -v v="v0.${KUBE_VERSION#v1.}" '
    /^replace \($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock && $2 == "=>" && $3 ~ /^\.\/staging\// { print "replace " $1 " => " $1 " " v }
  ' "$dir/go.mod" >>"$work/go.mod"
  grep -c '^replace ' "$work/go.mod" | sed 's/^/staging replace lines: /'
  go mod tidy
  [ $# -eq 1 ] || { mkdir -p "$out"; out="$out/"; }
  CGO_ENABLED=0 go build -trimpath -o "$out" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" \
    "${packages[@]}"
}
