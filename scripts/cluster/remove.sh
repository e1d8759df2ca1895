#!/usr/bin/env bash
# Removes what a cluster leaves on the machine once its processes are gone: its network namespace
# (and with it the link to the machine) and its cgroups. A process still in the namespace (a
# cluster whose init was never stopped) is killed by its id first. Safe to run when nothing is
# left. Usage: scripts/cluster/remove.sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
if ip netns list | grep -qx "$netns\( .*\)\?"; then
  for pid in $(ip netns pids "$netns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$netns"
fi
ip link delete "$host_link" 2>/dev/null || true
# Deepest first: a cgroup is removed once its children are. A cgroup whose last process is still
# exiting refuses for a moment.
for attempt in $(seq 50); do
  left=$(find /sys/fs/cgroup/*/"$cgroup" -depth -type d 2>/dev/null || true)
  [ -z "$left" ] && exit 0
  for dir in $left; do rmdir "$dir" 2>/dev/null || true; done
  sleep 0.1
done
echo "error: cgroups left behind: $(find /sys/fs/cgroup/*/"$cgroup" -depth -type d | tr '\n' ' ')" >&2
exit 1
