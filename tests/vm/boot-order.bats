#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2 --systemd --libvirt
# vm-setup: tests/vm/boot-order.setup
# "No VM starts before its VFs exist", at boot, with systemd as PID 1: the
# policy for both igb PFs, vfwarden.service and an autostart domain on a VF
# of each PF are in place before boot (boot-order.setup); igb is loaded by
# udev's coldplug, as on a real host. Times are systemd's and udev's
# (CLOCK_MONOTONIC, usec), settings are read back from the kernel.
# boot-order-again.bats is this file again: the tier boots it twice.

load helpers

setup() {
	vm_setup
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd"
	[ "${VFWARDEN_VM_LIBVIRT:-0}" = 1 ] || skip "needs tests/vm/run --libvirt"
}

# usec (monotonic) at which udev finished its first event for sysfs path $1
udev_usec() {
	udevadm info -q property -p "$1" | sed -n 's/^USEC_INITIALIZED=//p'
}
unit_usec() { systemctl show -P "$2" "$1"; }

@test "at boot: vfwarden.service ends after both PFs' drivers bound, before libvirtd starts" {
	run systemctl is-failed vfwarden.service
	assert_output inactive
	assert_equal "$(systemctl show -P ExecMainStatus vfwarden.service)" 0
	started=$(unit_usec vfwarden.service ExecMainStartTimestampMonotonic)
	done_at=$(unit_usec vfwarden.service ExecMainExitTimestampMonotonic)
	libvirtd=$(unit_usec libvirtd.service ExecMainStartTimestampMonotonic)
	# on fd 3: TAP comments, kept in the tier's results as the measurement
	echo "# vfwarden.service ran $started..$done_at us, libvirtd started at $libvirtd us" >&3
	[ "$done_at" -gt 0 ] && [ "$libvirtd" -gt 0 ]
	[ "$done_at" -le "$libvirtd" ]
	for i in 0 1; do
		pci=${PF_ADDRS[$i]} pf=${PFS[$i]}
		assert_equal "$(basename "$(readlink /sys/bus/pci/devices/$pci/driver)")" igb
		bound=$(udev_usec "/sys/class/net/$pf")
		vf0=$(udev_usec "/sys/bus/pci/devices/$(vf_pci "$pci" 0)")
		echo "# $pci: netdev $pf initialized by udev at $bound us, its VF 0 at $vf0 us" >&3
		[ -n "$bound" ] && [ "$bound" -lt "$done_at" ]
		[ -n "$vf0" ] && [ "$vf0" -lt "$libvirtd" ]
		assert_equal "$(numvfs "$pci")" 2
	done
}

@test "at boot: the autostart domain runs on VFs that have the policy's settings" {
	wait_for 240 sh -c '[ "$(virsh -q domstate bootvm)" = running ]'
	for i in 0 1; do
		pci=${PF_ADDRS[$i]} pf=${PFS[$i]}
		assert_equal "$(vf_driver "$pci" 0)" vfio-pci
		# trust, spoofchk and the rate are vfwarden's: libvirt sets none of them
		run vf_attrs "$pf" trust spoofchk max_tx
		assert_output "0 true false 100
1 true false 100"
	done
}
