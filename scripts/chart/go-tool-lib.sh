# Sourced by scripts/tools/{helm,kubeconform,etcd,kube-apiserver}.sh.
# Builds a Go tool once into the cache, keyed by tool version and Go version, and prints its path.
# A lock file keeps two concurrent callers (e.g. a test run and a warm-up) from building twice.
set -euo pipefail

CACHE=${ICECREAM_CACHE:-$HOME/.cache/icecream}

go_tool_fail() { echo "error: $*" >&2; exit 1; }

# go_tool_path NAME VERSION: where the binary lives in the cache (prints it).
go_tool_path() {
  command -v go >/dev/null 2>&1 || go_tool_fail "Go is not installed (needed to build $1 $2 from Go modules); install Go >= 1.26"
  local gover
  gover=$(go env GOVERSION)
  echo "$CACHE/bin/$1-$2-$gover"
}

# go_tool_ensure NAME VERSION MINUTES BUILD_FUNCTION: builds with BUILD_FUNCTION OUT_FILE WORKDIR
# unless the binary is already in the cache, then prints the binary's path on stdout.
go_tool_ensure() {
  local name=$1 version=$2 minutes=$3 builder=$4 bin
  bin=$(go_tool_path "$name" "$version")
  if [ ! -x "$bin" ]; then
    mkdir -p "$CACHE/bin" "$CACHE/locks"
    exec 9>"$CACHE/locks/$name-$version.lock"
    flock 9
    if [ ! -x "$bin" ]; then
      echo "building $name $version from Go modules (first run only, ~$minutes min)..." >&2
      local work start
      work=$(mktemp -d "$CACHE/build-$name.XXXXXX")
      start=$(date +%s)
      if ! (cd "$work" && "$builder" "$work/$name.out" "$work") >&2; then
        rm -rf "$work"
        go_tool_fail "could not build $name $version from Go modules (see the output above)"
      fi
      mv "$work/$name.out" "$bin"
      rm -rf "$work"
      echo "built $name $version in $(($(date +%s) - start)) s: $bin" >&2
    fi
    exec 9>&-
  fi
  echo "$bin"
}

# go_wrapper_module DIR MODULE VERSION IMPORT...: a throw-away module whose tools.go imports each IMPORT.
go_wrapper_module() {
  local dir=$1 module=$2 version=$3 import
  shift 3
  cat >"$dir/go.mod" <<MOD
module icecream.local/tools

go 1.26

require $module $version
MOD
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for import in "$@"; do printf '\t_ "%s"\n' "$import"; done
    printf ')\n'
  } >"$dir/tools.go"
}
