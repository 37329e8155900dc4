#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --libvirt
# vm-env: VFWARDEN_VM_TIMEOUT=480
# libvirt in the VM: a domain whose hostdev interface is an igb VF starts
# and stops (nested QEMU, TCG, no disk). This checks the guest's libvirt, not
# vfwarden: without a policy the hook leaves the VF to libvirt, which sets and
# restores MAC and VLAN by itself. What only vfwarden sets (trust, spoofchk,
# rates) across start and stop is proven in hook-libvirt.bats.
#   tests/vm/run --libvirt -- bats --tap tests/vm/libvirt.bats

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'lib/vm'

setup() {
	vm_require
	[ "$VFWARDEN_VM_LIBVIRT" = 1 ] || fail "needs tests/vm/run --libvirt"
}

teardown() {
	virsh -c qemu:///system destroy vfw-smoke > /dev/null 2>&1 || true
	virsh -c qemu:///system undefine vfw-smoke > /dev/null 2>&1 || true
	vm_reset_vfs
}

@test "a domain with a VF as hostdev interface starts and stops" {
	pf=${VFWARDEN_VM_PFS%% *}
	addr=$(pci_of "$pf")
	# libvirt sets a hostdev interface's MAC through the PF: it must be up.
	ip link set "$pf" up
	set_numvfs "$addr" 1
	vf=$(vf_addrs "$addr")
	vm_domain_xml vfw-smoke "$vf" 52:54:00:aa:00:01 > "$BATS_TEST_TMPDIR/dom.xml"
	run virsh -c qemu:///system define "$BATS_TEST_TMPDIR/dom.xml"
	assert_success
	run virsh -c qemu:///system start vfw-smoke
	assert_success
	run virsh -c qemu:///system domstate vfw-smoke
	assert_output running
	# managed='yes': libvirt moved the VF to vfio-pci and set its MAC via the PF.
	assert_equal "$(driver_of "$vf")" vfio-pci
	run ip link show "$pf"
	assert_output --partial "vf 0     link/ether 52:54:00:aa:00:01"
	run virsh -c qemu:///system destroy vfw-smoke
	assert_success
	assert_equal "$(driver_of "$vf")" igbvf
}
