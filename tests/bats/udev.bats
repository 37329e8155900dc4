#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden udev VF: the hidden command 70-vfwarden.rules runs for every VF
# netdev event (IMPORT{program}). NM_UNMANAGED=1 only for a VF whose PF the
# policy names; never anything else, never a non-zero exit.

load helpers

setup() {
	vfw_setup
	fake_pf 0000:01:00.0 enp1s0 7 2
	fake_pf 0000:02:00.0 enp2s0 7 1
	fake_vfs 0000:01:00.0 2 igbvf
	fake_vfs 0000:02:00.0 1 igbvf
	vf_netdev 0000:01:10.0 enp1s0v0
	vf_netdev 0000:01:10.1 enp1s0v1
	vf_netdev 0000:02:10.0 enp2s0v0
}

# vf_netdev VF_PCI IFNAME: the VF's netdev, with its device link as in sysfs.
vf_netdev() {
	local d=$SYS/bus/pci/devices/$1/net/$2
	mkdir -p "$d"
	ln -sfn ../.. "$d/device"
	ln -sfn "../../bus/pci/devices/$1/net/$2" "$SYS/class/net/$2"
}

@test "udev: a VF of a PF the policy names gets NM_UNMANAGED=1, by PCI address, name or MAC" {
	local device
	for device in 0000:01:00.0 enp1s0 "$(pf_mac enp1s0)"; do
		policy <<-EOF
		[pf a]
		device = $device
		vfs = 2
		EOF
		run vfw -c "$POLICY" udev enp1s0v1
		assert_success
		assert_output "NM_UNMANAGED=1"
		# the VF by its PCI address
		run vfw -c "$POLICY" udev 0000:01:10.0
		assert_success
		assert_output "NM_UNMANAGED=1"
	done
}

@test "udev: a VF of a PF the policy does not name gets nothing" {
	policy <<-'EOF'
	[pf a]
	device = enp1s0
	vfs = 2
	EOF
	run --separate-stderr vfw -c "$POLICY" udev enp2s0v0
	assert_success
	assert_output ""
	[ -z "$stderr" ]
}

@test "udev: a policy that does not validate still names its PFs" {
	# a section half-written in an editor, and an error elsewhere
	policy <<-'EOF'
	[pf a]
	device = 0000:01:00.0

	[pf b]
	device = enp2s0
	vlan = 5000
	EOF
	run vfw -c "$POLICY" check
	assert_failure 1
	run vfw -c "$POLICY" udev enp1s0v0
	assert_success
	assert_output "NM_UNMANAGED=1"
	run vfw -c "$POLICY" udev enp2s0v0
	assert_output "NM_UNMANAGED=1"
}

@test "udev: not a VF, no such netdev, a bad name or an unreadable policy: nothing, exit 0" {
	policy <<-'EOF'
	[pf a]
	device = enp1s0
	vfs = 2
	EOF
	local arg
	for arg in enp1s0 eth9 ../../bus/pci/devices/0000:01:10.0/net/enp1s0v0 0000:09:00.0 ""; do
		run --separate-stderr vfw -c "$POLICY" udev "$arg"
		assert_success
		assert_output ""
		[ -z "$stderr" ]
	done
	run vfw -c "$BATS_TEST_TMPDIR/none.conf" udev enp1s0v0
	assert_success
	assert_output ""
	chmod 0666 "$POLICY"
	run vfw -c "$POLICY" udev enp1s0v0
	assert_success
	assert_output ""
	# wrong use: a usage message, still exit 0
	run vfw udev
	assert_success
	run vfw udev a b
	assert_success
}

@test "udev: hidden from vfwarden --help" {
	run vfw --help
	assert_success
	refute_output --partial udev
}
