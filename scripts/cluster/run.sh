#!/usr/bin/env bash
# Runs one cluster from start to removal: prepares it (prepare.sh), runs node.sh as the init of a
# private pid + mount namespace inside the cluster's network namespace, and once that init has
# ended (stdin closed, or SIGKILL to the pid it writes to RUN_DIR/init.pid), removes the network
# namespace and the cgroups (remove.sh). Started in a session of its own by cluster.ts, so a
# terminal's Ctrl-C reaches only the owner, whose end of the stdin pipe then closes.
# Usage: scripts/cluster/run.sh RUN_DIR ETCD APISERVER KUBE_NODE_DIR KUBE_ROUTER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
run=$1
trap '"$here/remove.sh"' EXIT
"$here/remove.sh" # a cluster of this index left behind by a machine crash
"$here/prepare.sh" "$run"
# `&` alone would give node.sh /dev/null as stdin; it needs the owner's pipe.
ip netns exec "$netns" unshare --mount --pid --fork --kill-child --propagation slave --mount-proc \
  "$here/node.sh" "$@" <&0 &
namespace=$!
until init=$(cat "/proc/$namespace/task/$namespace/children" 2>/dev/null) && [ -n "$init" ]; do
  sleep 0.05
done
echo "$init" >"$run/init.pid"
wait "$namespace" || true
