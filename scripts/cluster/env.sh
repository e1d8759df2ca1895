# Sourced by the cluster's scripts: the names and addresses of one cluster. ICECREAM_CLUSTER_INDEX
# (0-99) lets two checkouts run a cluster each.
index=${ICECREAM_CLUSTER_INDEX:-0}
netns=icecream-cluster-$index
cgroup=icecream-cluster-$index
host_link=ic-cluster-$index
host_ip=10.201.$index.1   # the machine's end of the link into the namespace
node_ip=10.201.$index.2   # the node's address: API server, kubelet
node_name=icecream-node
service_cidr=10.96.0.0/16
api_service_ip=10.96.0.1
dns_service_ip=10.96.0.10
pod_cidr=10.244.0.0/24
export KUBE_VERSION=v1.37.2 COREDNS_VERSION=v1.14.7
