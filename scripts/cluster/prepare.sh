#!/usr/bin/env bash
# Makes everything a cluster run needs in RUN_DIR (certificates, tokens, each component's config,
# the images as archives), then its network namespace (with a link to the machine, the only
# change outside it: one veth pair, gone with the namespace) and its cgroup. Prints nothing on
# stdout; scripts/cluster/node.sh starts the components inside.
# Usage: scripts/cluster/prepare.sh RUN_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
run=$1
mkdir -p "$run"/{pki,config,images,logs,cni,cni-ipam,pod-logs}
cd "$run"

# Certificates: one CA; the API server's serving cert; its client cert for the kubelets
# (system:masters); the service-account key pair. Clients authenticate with tokens.
ssl() { openssl "$@" 2>/dev/null; }
ssl req -x509 -newkey rsa:2048 -nodes -keyout pki/ca.key -out pki/ca.crt -days 2 -subj /CN=icecream-cluster-ca
certificate() { # name subject extensions
  ssl req -newkey rsa:2048 -nodes -keyout "pki/$1.key" -out "pki/$1.csr" -subj "$2"
  printf '%s\n' "$3" >"pki/$1.ext"
  ssl x509 -req -in "pki/$1.csr" -CA pki/ca.crt -CAkey pki/ca.key -CAcreateserial -days 2 \
    -extfile "pki/$1.ext" -out "pki/$1.crt"
}
certificate apiserver /CN=kube-apiserver "subjectAltName=IP:$node_ip,IP:$api_service_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
certificate kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
certificate kubelet "/CN=$node_name" "subjectAltName=IP:$node_ip,DNS:$node_name
extendedKeyUsage=serverAuth"
ssl genrsa -out pki/sa.key 2048
ssl rsa -in pki/sa.key -pubout -out pki/sa.pub

# One token per identity (user, groups); each component gets a kubeconfig holding its own.
: >pki/tokens.csv
identity() { # name user groups
  local token
  token=$(openssl rand -hex 24)
  echo "$token,$2,$2,\"$3\"" >>pki/tokens.csv
  cat >"config/$1.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: icecream, cluster: {server: "https://$node_ip:6443", certificate-authority: "$run/pki/ca.crt"}}]
users: [{name: $1, user: {token: "$token"}}]
contexts: [{name: $1, context: {cluster: icecream, user: $1}}]
current-context: $1
KUBECONFIG
}
identity admin admin system:masters
identity kubelet "system:node:$node_name" system:nodes
identity controller-manager system:kube-controller-manager ""
identity scheduler system:kube-scheduler ""
identity kube-proxy system:kube-proxy ""
identity kube-router icecream:kube-router ""

cat >config/containerd.toml <<TOML
version = 2
root = "$run/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "icecream.local/pause:1"
  # Root here lacks CAP_SYS_RESOURCE: the kubelet's negative oom_score_adj would fail every sandbox.
  restrict_oom_score_adj = true
  # Else each pod leaves an empty /run/netns/cni-* file behind.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$run/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
TOML

cat >cni/10-icecream.conflist <<JSON
{"cniVersion": "1.0.0", "name": "icecream", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$run/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON

# Pods resolve through CoreDNS only; nothing outside the cluster is reachable.
: >config/resolv.conf
cat >config/kubelet.yaml <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# kubelet 1.37 refuses cgroup v1 unless told, and this machine has cgroup v1.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup
failSwapOn: false
# Check the kernel sysctls instead of writing them machine-wide (node.sh shows it the values).
protectKernelDefaults: true
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $run/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $run/pki/kubelet.crt
tlsPrivateKeyFile: $run/pki/kubelet.key
clusterDNS: [$dns_service_ip]
clusterDomain: cluster.local
resolvConf: $run/config/resolv.conf
podLogsDir: $run/pod-logs
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML

cat >config/kube-proxy.yaml <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $pod_cidr
hostnameOverride: $node_name
clientConnection: {kubeconfig: $run/config/kube-proxy.kubeconfig}
# Zeros leave the conntrack sysctls alone: some of them are machine-wide.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML

# Images, made locally: no registry is reachable. The pause program; CoreDNS (its binary alone);
# a static busybox for the tests' pods.
image_root=$(mktemp -d)
trap 'rm -rf "$image_root"' EXIT
mkdir "$image_root/pause"
gcc -static -O2 -o "$image_root/pause/pause" "$here/pause.c"
"$here/pack-image.sh" icecream.local/pause:1 "$image_root/pause" images/pause.tar /pause
mkdir "$image_root/coredns"
cp "$("$here/../tools/coredns.sh")" "$image_root/coredns/coredns"
"$here/pack-image.sh" "icecream.local/coredns:$COREDNS_VERSION" "$image_root/coredns" images/coredns.tar /coredns
mkdir -p "$image_root/busybox/bin" "$image_root/busybox/tmp"
cp /bin/busybox "$image_root/busybox/bin/busybox"
for applet in $(/bin/busybox --list | grep -vx busybox); do ln -s busybox "$image_root/busybox/bin/$applet"; done
"$here/pack-image.sh" icecream.local/busybox:1 "$image_root/busybox" images/busybox.tar /bin/sh

# The namespace, its link to the machine, and the cgroup the kubelet puts every pod under.
ip netns add "$netns"
ip link add "$host_link" type veth peer name eth0 netns "$netns"
ip addr add "$host_ip/30" dev "$host_link"
ip link set "$host_link" up
ip -n "$netns" link set lo up
ip -n "$netns" addr add "$node_ip/30" dev eth0
ip -n "$netns" link set eth0 up
for hierarchy in /sys/fs/cgroup/*/; do
  [ -f "$hierarchy/cgroup.procs" ] || continue
  mkdir -p "$hierarchy$cgroup"
  # A new cpuset cgroup starts with no CPUs and no memory nodes: copy the parent's.
  if [ -f "$hierarchy$cgroup/cpuset.cpus" ]; then
    cat "$hierarchy/cpuset.cpus" >"$hierarchy$cgroup/cpuset.cpus"
    cat "$hierarchy/cpuset.mems" >"$hierarchy$cgroup/cpuset.mems"
  fi
done
