#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2 --systemd --libvirt
# vm-setup: tests/vm/zero-touch.setup
# Zero-touch: systemd as PID 1, udev, the installed units and rules; the
# policy was put in place before boot (zero-touch.setup) and nobody runs
# vfwarden by hand. Everything is read back from the kernel.

load helpers

setup() {
	vm_setup
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd"
}

# wait_for SECONDS CMD...: poll until CMD succeeds (TCG is slow; bounded).
wait_for() {
	local t=$1
	shift
	for _ in $(seq $((t * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

vlans_are() { vfs_have "$1" "$3" "$2" vlan; } # PF VLAN N: the first N VFs have VLAN

@test "at boot: VFs exist, configured and bound, before libvirtd starts" {
	assert_equal "$(numvfs "$PF0_PCI")" 3
	for i in 0 1 2; do
		assert_equal "$(vf_driver "$PF0_PCI" $i)" vfio-pci
		assert_equal "$(vf_attr "$PF0" $i vlan)" 11
	done
	assert_equal "$(vf_attr "$PF0" 2 trust)" true
	run systemctl is-failed vfwarden.service
	assert_output inactive
	done_at=$(systemctl show -P ExecMainExitTimestampMonotonic vfwarden.service)
	[ "$done_at" -gt 0 ]
	if systemctl cat libvirtd.service > /dev/null 2>&1; then
		started=$(systemctl show -P ExecMainStartTimestampMonotonic libvirtd.service)
		[ "$started" -gt 0 ]
		[ "$done_at" -le "$started" ]
	fi
	# a PF that the policy does not name is left untouched
	assert_equal "$(numvfs "$PF1_PCI")" 0
}

@test "a driver rebind of the PF brings its VFs back per policy" {
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/unbind
	[ ! -e /sys/bus/pci/devices/$PF0_PCI/virtfn0 ]
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/bind
	wait_for 90 grep -qx 3 /sys/bus/pci/devices/$PF0_PCI/sriov_numvfs
	pf=$(ls /sys/bus/pci/devices/$PF0_PCI/net)
	wait_for 60 vlans_are "$pf" 11 3
	wait_for 30 sh -c "readlink /sys/bus/pci/devices/$PF0_PCI/virtfn2/driver | grep -q vfio-pci"
	assert_equal "$(vf_attr "$pf" 2 trust)" true
}

@test "a hot-added PF gets its VFs per policy; hot-removing it fails nothing" {
	run vm-hotplug add
	assert_success
	read -r dev ifname pci <<< "$output"
	wait_for 120 grep -qsx 2 /sys/bus/pci/devices/$pci/sriov_numvfs
	wait_for 60 vlans_are "$ifname" 21 2
	assert_equal "$(vf_driver "$pci" 1)" vfio-pci
	run vm-hotplug del "$dev"
	assert_success
	sleep 2
	run systemctl list-units --failed --no-legend 'vfwarden*'
	assert_output ""
}

@test "a policy edit is applied by itself; a broken edit changes nothing and is logged" {
	sed -i 's/^vlan = 11/vlan = 12/' /etc/vfwarden/vfwarden.conf
	wait_for 60 vlans_are "$PF0" 12 3
	since=$(date '+%Y-%m-%d %H:%M:%S')
	echo "qos = 9" >> /etc/vfwarden/vfwarden.conf
	sleep 5
	wait_for 30 sh -c "journalctl -q --since '$since' -u vfwarden.service | grep -q '/etc/vfwarden/vfwarden.conf:8: invalid qos'"
	vlans_are "$PF0" 12 3
	assert_equal "$(numvfs "$PF0_PCI")" 3
}
