#!/bin/bash
# SPDX-License-Identifier: MIT
# The hand script vfwarden replaces, as found in rc.local files: write the
# VF count, set each VF with `ip link set ... vf`, bind vfio-pci through
# driver_override. Used by `make bench` as the baseline; policy:
#   baseline.sh PF_IFNAME NUMVFS VLAN [kernel]
set -e
pf=$1 n=$2 vlan=$3 drv=${4:-vfio-pci}
# the PF's device: a PCI function, or netdevsim's own bus
dev=$(readlink -f "/sys/class/net/$pf/device")
ip link set "$pf" up
if [ "$drv" = vfio-pci ]; then echo 0 > "$dev/sriov_drivers_autoprobe"; fi
echo 0 > "$dev/sriov_numvfs"
echo "$n" > "$dev/sriov_numvfs"
for ((i = 0; i < n; i++)); do
	mac=$(printf '02:00:00:00:%02x:%02x' $((i >> 8)) $((i & 255)))
	ip link set "$pf" vf "$i" mac "$mac" vlan "$vlan" spoofchk on trust off
	if [ "$drv" = vfio-pci ]; then
		vf=$(basename "$(readlink "$dev/virtfn$i")")
		echo vfio-pci > "/sys/bus/pci/devices/$vf/driver_override"
		echo "$vf" > /sys/bus/pci/drivers_probe
	fi
done
