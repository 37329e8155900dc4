#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options:
# The VM's PF hot-plug helper (vm-hotplug, tests/vm/hotplug): a PF can be
# added and removed while the guest runs, and VFs work on the new one.
#   tests/vm/run -- bats --tap tests/vm/hotplug.bats

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'lib/vm'

setup() {
	vm_require
}

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
