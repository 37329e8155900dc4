#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options:
# vm-env: VFWARDEN_VM_TIMEOUT=480
# Real-kernel smoke test of the VM itself: igb SR-IOV, IOMMU groups, vfio,
# PF hot-plug.
#   tests/vm/run -- bats --tap tests/vm/smoke.bats      (default --nics 2)

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'lib/vm'

setup() {
	vm_require
}

teardown() {
	vm_reset_vfs
}

@test "the igb PFs are present, named and addressed as documented" {
	run vm_pfs
	assert_success
	[ "${#lines[@]}" -ge 1 ]
	i=0
	for pf in $VFWARDEN_VM_PFS; do
		assert_equal "$pf" "eth$i"
		assert_equal "$(pci_of "$pf")" "$(printf '0000:%02x:00.0' $((i + 1)))"
		assert_equal "$(driver_of "$(pci_of "$pf")")" igb
		assert_equal "$(cat "/sys/class/net/$pf/address")" "$(printf '52:54:00:12:34:%02x' $((i + 1)))"
		assert_equal "$(cat "/sys/class/net/$pf/device/vendor")" 0x8086
		assert_equal "$(cat "/sys/class/net/$pf/device/device")" 0x10c9
		i=$((i + 1))
	done
	run cat /run/vfwarden-vm/pfs
	assert_line --index 0 "eth0 0000:01:00.0"
}

@test "each PF offers 7 VFs and has none yet" {
	for pf in $VFWARDEN_VM_PFS; do
		assert_equal "$(cat "/sys/class/net/$pf/device/sriov_totalvfs")" 7
		assert_equal "$(cat "/sys/class/net/$pf/device/sriov_numvfs")" 0
	done
}

@test "IOMMU groups are populated, one per PF" {
	run ls /sys/kernel/iommu_groups
	assert_success
	[ "${#lines[@]}" -gt 2 ]
	seen=
	for pf in $VFWARDEN_VM_PFS; do
		addr=$(pci_of "$pf")
		g=$(iommu_group_of "$addr")
		run ls "/sys/kernel/iommu_groups/$g/devices"
		assert_output "$addr"
		[[ " $seen " != *" $g "* ]]
		seen="$seen $g"
	done
}

@test "writing sriov_numvfs creates VFs, each in its own IOMMU group" {
	pf=${VFWARDEN_VM_PFS%% *}
	addr=$(pci_of "$pf")
	echo 7 > "/sys/bus/pci/devices/$addr/sriov_numvfs"
	assert_equal "$(cat "/sys/bus/pci/devices/$addr/sriov_numvfs")" 7
	run vf_addrs "$addr"
	assert_success
	assert_equal "${#lines[@]}" 7
	groups=()
	for vf in "${lines[@]}"; do
		assert_equal "$(basename "$(readlink -f "/sys/bus/pci/devices/$vf/physfn")")" "$addr"
		assert_equal "$(cat "/sys/bus/pci/devices/$vf/device")" 0x10ca
		g=$(iommu_group_of "$vf")
		assert_equal "$(ls "/sys/kernel/iommu_groups/$g/devices")" "$vf"
		groups+=("$g")
	done
	assert_equal "$(printf '%s\n' "${groups[@]}" | sort -u | wc -l)" 7
	# The PF's netdev reports the VFs too (what 'ip link' shows).
	run ip link show "$pf"
	assert_line --partial "vf 6 "
}

@test "a VF binds to vfio-pci via driver_override and back" {
	pf=${VFWARDEN_VM_PFS%% *}
	addr=$(pci_of "$pf")
	set_numvfs "$addr" 2
	vf=$(vf_addrs "$addr" | head -n 1)
	bind_driver "$vf" vfio-pci
	assert_equal "$(driver_of "$vf")" vfio-pci
	[ -c "/dev/vfio/$(iommu_group_of "$vf")" ]
	bind_driver "$vf" ""
	assert_equal "$(driver_of "$vf")" igbvf
}

# The VM's PF hot-plug helper (vm-hotplug, tests/vm/hotplug): a PF can be
# added and removed while the guest runs, and VFs work on the new one. Last:
# they unplug and plug back a cold-plugged PF. (Formerly hotplug.bats, which
# had a guest of its own.)
@test "vm-hotplug adds an igb PF, with working SR-IOV, and removes it" {
	run vm-hotplug add
	assert_success
	read -r dev ifname addr <<< "$output"
	assert_equal "$dev" igb2
	assert_equal "$(cat "/sys/class/net/$ifname/address")" 52:54:00:12:34:03
	assert_equal "$(driver_of "$addr")" igb
	assert_equal "$(cat "/sys/bus/pci/devices/$addr/sriov_totalvfs")" 7
	set_numvfs "$addr" 2
	run vf_addrs "$addr"
	assert_equal "${#lines[@]}" 2

	run vm-hotplug list
	assert_success
	assert_output --partial "igb2=hp0"

	run vm-hotplug del igb2
	assert_success
	[ ! -e "/sys/bus/pci/devices/$addr" ]
	[ ! -e "/sys/class/net/$ifname" ]
}

@test "a cold-plugged PF can be removed and plugged back" {
	addr=$(pci_of eth1)
	run vm-hotplug del igb1
	assert_success
	[ ! -e "/sys/bus/pci/devices/$addr" ]
	run vm-hotplug add igb1
	assert_success
	read -r dev ifname addr2 <<< "$output"
	assert_equal "$dev" igb1
	assert_equal "$(cat "/sys/class/net/$ifname/address")" 52:54:00:12:34:02
}

@test "vm-hotplug refuses what it cannot do" {
	run vm-hotplug del igb9
	assert_failure
	assert_output --partial "not plugged"
	run vm-hotplug add igb0
	assert_failure
	assert_output --partial "plugged already"
}
