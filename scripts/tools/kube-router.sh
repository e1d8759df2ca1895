#!/usr/bin/env bash
# Prints the path of kube-router (pinned version), the cluster's NetworkPolicy enforcer, building
# it from its Go module into the cache on first use. The cluster runs only its firewall (iptables
# + ipset). sigs.k8s.io/kube-network-policies, the enforcer kind uses, cannot work on this
# project's test machines: it queues packets through nftables' `queue` expression, which their
# kernel lacks (CONFIG_NFT_QUEUE is not set: adding a `queue num 100 bypass` rule fails with "No
# such file or directory"), so kube-router is used instead.
# Usage: scripts/tools/kube-router.sh
source "$(dirname "$0")/../chart/go-tool-lib.sh"
KUBE_ROUTER_VERSION=${KUBE_ROUTER_VERSION:-v2.1.0}

build_kube_router() { # out workdir
  local dir
  # Its go.mod has replace lines of its own, so it builds inside a copy of the module.
  dir=$(go mod download -json "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "could not download kube-router $KUBE_ROUTER_VERSION" >&2; return 1; }
  cp -r "$dir" "$2/src" && chmod -R u+w "$2/src"
  (cd "$2/src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" ./cmd/kube-router)
}
go_tool_ensure kube-router "$KUBE_ROUTER_VERSION" 5 build_kube_router
