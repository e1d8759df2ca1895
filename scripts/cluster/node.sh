#!/usr/bin/env bash
# The cluster's init: pid 1 of a private pid and mount namespace inside the cluster's network
# namespace (scripts/cluster/cluster.ts starts it). Starts etcd, kube-apiserver, containerd (with
# the images), the controller-manager, the scheduler, the kubelet and kube-proxy, each logging to
# RUN_DIR/logs; on the line "bootstrapped" on stdin (its RBAC and its node exist), the NetworkPolicy
# enforcer. It exits when stdin closes (the owner stopped or died), and the kernel then kills every
# process of the namespace with it: components, shims and containers.
# Usage (inside the namespaces): node.sh RUN_DIR ETCD APISERVER KUBE_NODE_DIR KUBE_ROUTER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
run=$1 etcd=$2 apiserver=$3 kube=$4 kube_router=$5
config=$run/config pki=$run/pki

# Private to this mount namespace: /run (containerd's and runc's state) and the three kernel
# sysctls the kubelet expects, shown as files holding its values so the machine's stay untouched.
mount -t tmpfs tmpfs /run
# `ip netns exec` mounted a fresh /sys for the namespace, without the cgroup hierarchies: mount
# them again (the same hierarchies, as /proc/self/cgroup lists them) for the kubelet and runc.
mount -t tmpfs cgroups /sys/fs/cgroup
while IFS=: read -r _ controllers _; do
  case $controllers in
    '') mkdir /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified ;;
    name=*) mkdir "/sys/fs/cgroup/${controllers#name=}" &&
      mount -t cgroup -o "none,$controllers" cgroup "/sys/fs/cgroup/${controllers#name=}" ;;
    *) mkdir "/sys/fs/cgroup/$controllers" && mount -t cgroup -o "$controllers" cgroup "/sys/fs/cgroup/$controllers" ;;
  esac
done </proc/self/cgroup
mkdir -p "$run/sysctl"
for entry in vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1; do
  file=$run/sysctl/${entry%%=*}
  mkdir -p "$(dirname "$file")"
  echo "${entry#*=}" >"$file"
  mount --bind "$file" "/proc/sys/${entry%%=*}"
done
# Per network namespace: forwarding between the pods' bridge and the node, iptables on bridged
# traffic (Services and NetworkPolicies between pods on the same bridge).
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

start() { # name command...
  local name=$1
  shift
  "$@" >"$run/logs/$name.log" 2>&1 &
  echo "$name $!" >>"$run/logs/pids"
}

start etcd "$etcd" --data-dir "$run/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster default=http://127.0.0.1:2380
start kube-apiserver "$apiserver" --etcd-servers http://127.0.0.1:2379 \
  --bind-address 0.0.0.0 --secure-port 6443 --advertise-address "$node_ip" \
  --service-cluster-ip-range "$service_cidr" \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --token-auth-file "$pki/tokens.csv" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --kubelet-client-certificate "$pki/kubelet-client.crt" --kubelet-client-key "$pki/kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP
start containerd containerd --config "$config/containerd.toml"
until [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1; do sleep 0.2; done
for image in "$run"/images/*.tar; do
  ctr -n k8s.io images import --no-unpack=false "$image" >>"$run/logs/images.log" 2>&1
done
# No --authentication-kubeconfig: reading its ConfigMap at start fails while the API server is
# still making its RBAC roles, and these two serve only health and metrics on loopback.
start kube-controller-manager "$kube/kube-controller-manager" --kubeconfig "$config/controller-manager.kubeconfig" \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials \
  --service-cluster-ip-range "$service_cidr" --leader-elect=false --bind-address 127.0.0.1
start kube-scheduler "$kube/kube-scheduler" --kubeconfig "$config/scheduler.kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1
start kubelet "$kube/kubelet" --config "$config/kubelet.yaml" --kubeconfig "$config/kubelet.kubeconfig" \
  --root-dir "$run/kubelet" --node-ip "$node_ip" --hostname-override "$node_name"
start kube-proxy "$kube/kube-proxy" --config "$config/kube-proxy.yaml"
echo started >&2

read -r line
[ "$line" = bootstrapped ]
start kube-router "$kube_router" --kubeconfig "$config/kube-router.kubeconfig" \
  --hostname-override "$node_name" --run-firewall=true --run-router=false \
  --run-service-proxy=false --run-loadbalancer=false --enable-cni=false --metrics-port 0 \
  --health-port 20244
echo enforcing >&2
cat >/dev/null
