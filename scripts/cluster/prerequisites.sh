#!/usr/bin/env bash
# Installs the host packages the one-node cluster needs (containerd, runc, the CNI plugins, the
# netfilter and namespace tools, buildah, a static busybox for test pods), when one is missing. Needs root and apt; a missing
# prerequisite is named in one line.
set -euo pipefail
packages=(containerd runc containernetworking-plugins iptables nftables debootstrap conntrack socat
  ethtool iproute2 ipset buildah fuse-overlayfs gcc libc6-dev busybox-static jq)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

fail() { echo "error: the cluster needs ${missing[*]} installed, and $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "installing them needs root (run: sudo apt-get install ${missing[*]})"
command -v apt-get >/dev/null 2>&1 || fail "this machine has no apt-get to install them with"
echo "installing ${missing[*]} with apt-get (first run only, ~1 min)..." >&2
apt-get update >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
