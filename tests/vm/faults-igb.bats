#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2
# Faults and concurrency on the real kernel: whatever breaks an apply, the
# next apply converges, nothing the policy forbids stays, and status tells
# the truth. Read back from sysfs and rtnetlink.

load helpers

setup() {
	vm_setup
	vm_reset
	policy <<EOF
[pf a]
device = $PF0
vfs = 7
vlan = 10
[pf b]
device = $PF1
vfs = 7
vlan = 20
EOF
}

# Every VF of both PFs as the policy says: count, driver, vlan, spoofchk on, trust off.
converged() {
	local pf pci net vlan i
	for pf in a b; do
		if [ $pf = a ]; then pci=$PF0_PCI net=$PF0 vlan=10; else pci=$PF1_PCI net=$PF1 vlan=20; fi
		[ "$(numvfs "$pci")" = 7 ] || return 1
		for ((i = 0; i < 7; i++)); do
			[ "$(vf_driver "$pci" $i)" = vfio-pci ] || return 1
		done
		vfs_have "$net" 7 "$vlan true false" vlan spoofchk trust || return 1
	done
}

no_drift() {
	"$VFWARDEN" -c "$POLICY" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = [(p["label"], v["index"], v["drift"]) for p in d["pfs"] if p["label"] for v in p["vfs"] if v["drift"]]
assert not bad and not any(p["drift"] for p in d["pfs"]), bad'
}

@test "kill -9 in the middle of an apply: the next apply converges" {
	"$VFWARDEN" -c "$POLICY" apply > /dev/null &
	pid=$!
	# wait until it has created VFs and is setting attributes
	for _ in $(seq 200); do [ -e /sys/bus/pci/devices/$PF0_PCI/virtfn0 ] && break; sleep 0.05; done
	sleep 0.3
	kill -9 $pid
	wait $pid || true
	# VFs a kill left half-made: trust as the driver made them (off), never on
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	converged
	no_drift
}

@test "something outside turns trust on and spoofchk off: apply puts the policy back" {
	"$VFWARDEN" -c "$POLICY" apply
	ip link set "$PF0" vf 3 trust on spoofchk off
	run "$VFWARDEN" -c "$POLICY" status
	assert_line --regexp "^a .* 3 .* off\* +on\* .*spoofchk,trust$"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "a vf3: spoofchk off -> on"
	assert_output --partial "a vf3: trust on -> off"
	converged
}

@test "the PF's driver goes away during an apply: no hang, a clear error, then convergence" {
	# by PCI address: the netdev may come back under another name
	sed -i "s/^device = $PF0\$/device = $PF0_PCI/; s/^device = $PF1\$/device = $PF1_PCI/" "$POLICY"
	"$VFWARDEN" -c "$POLICY" apply > "$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -e /sys/bus/pci/devices/$PF0_PCI/virtfn0 ] && break; sleep 0.05; done
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/unbind
	wait $pid && rc=0 || rc=$?
	[ "$rc" -ne 0 ]
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/bind
	for _ in $(seq 100); do [ -d /sys/bus/pci/devices/$PF0_PCI/net ] && break; sleep 0.1; done
	PF0=$(ls /sys/bus/pci/devices/$PF0_PCI/net)
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	converged
}

@test "applies and hook calls at the same moment serialize on the lock: no lost work" {
	for i in 1 2 3; do
		"$VFWARDEN" -c "$POLICY" apply > "$BATS_TEST_TMPDIR/apply$i" 2>&1 &
		pids+=($!)
	done
	"$VFWARDEN" -c "$POLICY" apply "$PF1" > "$BATS_TEST_TMPDIR/apply4" 2>&1 &
	pids+=($!)
	for p in "${pids[@]}"; do wait "$p"; done
	converged
	# exactly one of them created the VFs of PF0
	[ "$(cat "$BATS_TEST_TMPDIR"/apply* | grep -c '^a: vfs 0 -> 7')" -eq 1 ]
	run "$VFWARDEN" -c "$POLICY" apply
	assert_output --partial "no changes"
}

@test "a lock held too long gives a clear timeout, not a hang" {
	mkdir -p /run/vfwarden
	flock /run/vfwarden/lock sleep 30 &
	holder=$!
	sleep 0.5
	start=$(date +%s)
	run "$VFWARDEN" -c "$POLICY" apply --lock-timeout 2
	end=$(date +%s)
	kill $holder || true
	assert_failure 4
	assert_output --partial "another vfwarden holds /run/vfwarden/lock"
	[ $((end - start)) -lt 10 ]
	assert_equal "$(numvfs "$PF0_PCI")" 0
}
