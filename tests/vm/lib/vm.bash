# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for bats files run inside the test VM (tests/vm/run -- bats ...).
#   load "${BATS_TEST_DIRNAME}/lib/vm"      (from tests/vm/*.bats)

# vm_require: fail early, and clearly, outside the VM.
vm_require() {
	if [ "${VFWARDEN_VM:-}" != 1 ]; then
		echo "not inside a tests/vm/run guest (VFWARDEN_VM unset): these tests change real devices" >&2
		return 1
	fi
}

# vm_pfs: the igb PF netdevs, one a line, in PCI order.
vm_pfs() { printf '%s\n' $VFWARDEN_VM_PFS; }

# pci_of NETDEV: its PCI address.
pci_of() { basename "$(readlink -f "/sys/class/net/$1/device")"; }

# driver_of PCI-ADDRESS: the bound driver's name, or nothing.
driver_of() {
	local d
	d=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) || return 0
	basename "$d"
}

# iommu_group_of PCI-ADDRESS: its IOMMU group number.
iommu_group_of() { basename "$(readlink -f "/sys/bus/pci/devices/$1/iommu_group")"; }

# vf_addrs PCI-ADDRESS: the PF's VFs' PCI addresses, in VF index order.
vf_addrs() {
	local i=0
	while [ -e "/sys/bus/pci/devices/$1/virtfn$i" ]; do
		basename "$(readlink -f "/sys/bus/pci/devices/$1/virtfn$i")"
		i=$((i + 1))
	done
}

# set_numvfs PCI-ADDRESS N: as the kernel wants it (0 first when changing).
set_numvfs() {
	local f=/sys/bus/pci/devices/$1/sriov_numvfs
	[ "$(cat "$f")" = "$2" ] && return 0
	[ "$(cat "$f")" = 0 ] || echo 0 > "$f" || return
	[ "$2" = 0 ] || echo "$2" > "$f"
}

# bind_driver PCI-ADDRESS DRIVER: bind through driver_override (vfio-pci,
# igbvf, ...); an empty DRIVER clears the override and re-probes.
bind_driver() {
	local dev=/sys/bus/pci/devices/$1
	if [ -e "$dev/driver" ]; then
		echo "$1" > "$dev/driver/unbind" || return
	fi
	echo "$2" > "$dev/driver_override" || return
	echo "$1" > /sys/bus/pci/drivers_probe 2>/dev/null
	if [ -n "$2" ] && [ "$(driver_of "$1")" != "$2" ]; then
		echo "bind_driver: $1 did not bind to $2" >&2
		return 1
	fi
}

# vm_reset_vfs: every PF back to 0 VFs (teardown).
vm_reset_vfs() {
	local pf
	for pf in $VFWARDEN_VM_PFS; do
		[ -e "/sys/class/net/$pf" ] && set_numvfs "$(pci_of "$pf")" 0
	done
	return 0
}

# vm_domain_xml NAME VF-PCI-ADDRESS [MAC]: a libvirt domain (no disk,
# 64 MiB, TCG) whose <interface type='hostdev'> is that VF, on stdout.
vm_domain_xml() {
	local addr=$2 mac=${3:-52:54:00:aa:00:01}
	local dom=0x${addr%%:*} rest=${addr#*:}
	local bus=0x${rest%%:*} slot=0x${rest#*:}
	local fn=0x${slot#*.}
	slot=${slot%.*}
	sed -e "s/@NAME@/$1/g" -e "s/@VF_DOMAIN@/$dom/g" -e "s/@VF_BUS@/$bus/g" \
		-e "s/@VF_SLOT@/$slot/g" -e "s/@VF_FUNCTION@/$fn/g" -e "s/@VF_ADDR@/$addr/g" \
		-e "s/@MAC@/$mac/g" "$(dirname "${BASH_SOURCE[0]}")/domain-vf.xml.in"
}
