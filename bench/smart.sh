#!/bin/bash
# SPDX-License-Identifier: MIT
# A "smart" hand script: reads `ip -d link show` and sysfs first and skips
# what is already right. Same arguments as baseline.sh.
set -e
pf=$1 n=$2 vlan=$3 drv=${4:-vfio-pci}
# the PF's device: a PCI function, or netdevsim's own bus
dev=$(readlink -f "/sys/class/net/$pf/device")
[ "$(cat "/sys/class/net/$pf/operstate")" = up ] || ip link set "$pf" up
if [ "$(cat "$dev/sriov_numvfs")" != "$n" ]; then
	[ "$drv" = vfio-pci ] && echo 0 > "$dev/sriov_drivers_autoprobe"
	echo 0 > "$dev/sriov_numvfs"
	echo "$n" > "$dev/sriov_numvfs"
fi
show=$(ip -d link show "$pf")
for ((i = 0; i < n; i++)); do
	mac=$(printf '02:00:00:00:%02x:%02x' $((i >> 8)) $((i & 255)))
	line=$(grep -E "^ +vf $i " <<< "$show" || true)
	if ! grep -q "link/ether $mac .*vlan $vlan,.*spoof checking on.*trust off" <<< "$line"; then
		ip link set "$pf" vf "$i" mac "$mac" vlan "$vlan" spoofchk on trust off
	fi
	if [ "$drv" = vfio-pci ]; then
		vf=$(basename "$(readlink "$dev/virtfn$i")")
		if [ "$(basename "$(readlink "/sys/bus/pci/devices/$vf/driver" 2>/dev/null)")" != vfio-pci ]; then
			echo vfio-pci > "/sys/bus/pci/devices/$vf/driver_override"
			echo "$vf" > /sys/bus/pci/drivers_probe
		fi
	fi
done
