#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 1
# vm-env: VFWARDEN_VM_TIMEOUT=480
# The datapath: QEMU's igb switches frames between the VFs of one PF, so
# VFs on igbvf, each in its own network namespace, show by traffic that the
# policy's VLANs and MACs hold. IPv6 link-local addresses only. vfwarden
# sets everything; the test never runs `ip link set ... vf`.
# Spoof-checking is not emulated by QEMU's igb: it is proven by netlink
# read-back in apply-igb.bats, not here.

load helpers

setup() {
	vm_setup
	vm_reset
	for ns in $(ip netns list | awk '{print $1}'); do ip netns del "$ns"; done
}

teardown() {
	for ns in $(ip netns list | awk '{print $1}'); do ip netns del "$ns"; done
}

# Move each kernel VF of PF0 into its own namespace nsI, up, with IPv6 LL.
vfs_into_namespaces() {
	local i net
	for ((i = 0; i < $1; i++)); do
		net=$(ls /sys/bus/pci/devices/$(vf_pci "$PF0_PCI" $i)/net)
		ip netns add "ns$i"
		# no duplicate address detection: the link-local address is usable at once
		ip netns exec "ns$i" sysctl -qw net.ipv6.conf.default.accept_dad=0
		ip link set "$net" netns "ns$i" name vf
		ip -n "ns$i" link set lo up
		ip -n "ns$i" link set dev vf up
	done
	for ((i = 0; i < $1; i++)); do
		for _ in $(seq 150); do
			[ "$(ip netns exec "ns$i" cat /sys/class/net/vf/operstate)" = up ] &&
				ip -n "ns$i" -6 -o addr show dev vf scope link | grep -q inet6 && break
			sleep 0.2
		done
	done
}

ll_addr() { ip -n "ns$1" -6 -o addr show dev vf scope link | awk '{print $4}' | cut -d/ -f1; }
reaches() { ip netns exec "ns$1" ping -6 -c 3 -i 0.3 -W 2 "$(ll_addr "$2")%vf" > /dev/null 2>&1; }

@test "same VLAN reaches, other VLAN is isolated, a policy edit restores traffic live" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 3
vf-driver = kernel
vlan = 100
[vf a 2]
vlan = 200
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	vfs_into_namespaces 3
	reaches 0 1
	! reaches 0 2
	! reaches 1 2

	# move vf2 to VLAN 100: no reboot, no recreation
	sed -i 's/^vlan = 200/vlan = 100/' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "a vf2: vlan 200 qos 0 802.1Q -> 100 qos 0 802.1Q"
	reaches 0 2
	reaches 2 1
}

@test "untagged VFs reach each other; a VLAN on one side cuts them apart" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vf-driver = kernel
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	vfs_into_namespaces 2
	reaches 0 1
	printf '[vf a 1]\nvlan = 100\n' >> "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	! reaches 0 1
}

@test "the MAC a peer learns is the one the policy gave (auto and explicit)" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vf-driver = kernel
[vf a 1]
mac = 02:aa:00:00:00:01
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	vfs_into_namespaces 2
	reaches 0 1
	reaches 1 0
	# ns0 learned vf1's MAC, ns1 learned vf0's: read their neighbour tables
	run ip -n ns0 -6 neigh show dev vf "$(ll_addr 1)"
	assert_output --partial "lladdr 02:aa:00:00:00:01"
	run ip -n ns1 -6 neigh show dev vf "$(ll_addr 0)"
	assert_output --partial "lladdr $(auto_mac "$(perm_mac "$PF0")" 0)"
}

@test "QoS: the priority rides in the tag, the same VLAN still reaches" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vf-driver = kernel
vlan = 100
qos = 5
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_attr "$PF0" 0 qos)" 5
	vfs_into_namespaces 2
	# the priority bits ride in the tag the PF inserts; same VLAN still reaches
	reaches 0 1
	# 802.1ad: igb refuses it (EPROTONOSUPPORT, tested in apply-igb.bats) and
	# QEMU's igb emulates no QinQ datapath: nothing to send here.
}
