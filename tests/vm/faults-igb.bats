#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2 --systemd
# Faults and concurrency on the real kernel: whatever breaks an apply, the
# next apply converges, nothing the policy forbids stays, and status tells
# the truth. Read back from sysfs and rtnetlink. systemd is PID 1, so that a
# udev event starts vfwarden@PCI.service as on a real host.

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

teardown() {
	rm -f /etc/vfwarden/vfwarden.conf
}

# The domain XML libvirt hands the qemu hook (stdin) for a domain named $1
# whose <interface type='hostdev'> is VF PCI address $2, with MAC $3, VLAN 42.
hook_xml() {
	local p=$2
	cat <<EOF
<domain type='qemu' id='1'>
  <name>$1</name>
  <uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <interface type='hostdev' managed='yes'>
      <mac address='$3'/>
      <source><address type='pci' domain='0x${p:0:4}' bus='0x${p:5:2}' slot='0x${p:8:2}' function='0x${p:11:1}'/></source>
      <vlan><tag id='42'/></vlan>
    </interface>
  </devices>
</domain>
EOF
}

# timed NAME CMD...: run CMD under timeout $BOUND, append "NAME EXIT MS" to
# $BATS_TEST_TMPDIR/calls (one short write per call), its output to out.NAME.
timed() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(date +%s%N)
	timeout "$BOUND" "$@" > "$BATS_TEST_TMPDIR/out.$name" 2>&1 || rc=$?
	t1=$(date +%s%N)
	echo "$name $rc $(((t1 - t0) / 1000000))" >> "$BATS_TEST_TMPDIR/calls"
}

# hook_cycle NAME VF-PCI MAC: the qemu hook as libvirt runs it around one
# domain's life, by its installed path: 'prepare begin', then 'release end',
# each with the domain XML on stdin.
hook_cycle() {
	local hook=/etc/libvirt/hooks/qemu.d/vfwarden xml=$BATS_TEST_TMPDIR/$1.xml
	hook_xml "$1" "$2" "$3" > "$xml"
	timed "$1-prepare" sh -c "exec $hook $1 prepare begin - < $xml"
	# What prepare recorded for the VF while the domain "runs" (an exit 0
	# alone would also be a hook that took the VF for not its own).
	cat "/run/vfwarden/vf/$2" > "$BATS_TEST_TMPDIR/rec.$1" 2> /dev/null || true
	timed "$1-release" sh -c "exec $hook $1 release end - < $xml"
}

@test "applies, hook calls and udev-started instances at the same moment serialize on the lock: no lost work, no hang" {
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd: udev starts vfwarden@PCI.service"
	# The hook and the instances udev starts read the installed policy.
	mkdir -p /etc/vfwarden
	install -m 0644 "$POLICY" /etc/vfwarden/vfwarden.conf
	POLICY=/etc/vfwarden/vfwarden.conf
	# Every call must end within BOUND seconds: the hook's lock wait (30 s)
	# plus its work, or an apply queued behind all the others under TCG.
	BOUND=150
	# VF 2 of PF0 and VF 3 of PF1 (the guest's fixed layout: devfn 0x80 + 2k).
	vf_a=${PF0_PCI%:*}:10.4 vf_b=${PF1_PCI%:*}:10.6
	declare -A since
	for pci in "$PF0_PCI" "$PF1_PCI"; do
		since[$pci]=$(systemctl show -P ExecMainStartTimestampMonotonic "vfwarden@$pci.service")
	done

	for i in 1 2 3; do
		timed "apply$i" "$VFWARDEN" apply &
		pids+=($!)
	done
	timed apply4 "$VFWARDEN" apply "$PF1" &
	pids+=($!)
	# The hooks' VFs do not exist yet: whichever of prepare and the applies
	# takes the lock first creates them.
	hook_cycle vm-a "$vf_a" 52:54:00:aa:bb:0a &
	pids+=($!)
	hook_cycle vm-b "$vf_b" 52:54:00:aa:bb:0b &
	pids+=($!)
	# An add event of the PF's netdev: the rule has systemd start vfwarden@PCI.
	timed udev-a udevadm trigger --action=add "/sys/class/net/$PF0" &
	pids+=($!)
	timed udev-b udevadm trigger --action=add "/sys/class/net/$PF1" &
	pids+=($!)
	for p in "${pids[@]}"; do wait "$p"; done

	# The instances udev started: each started after the trigger, and ended.
	for pci in "$PF0_PCI" "$PF1_PCI"; do
		unit=vfwarden@$pci.service
		wait_for "$BOUND" sh -c "[ \"\$(systemctl show -P ExecMainStartTimestampMonotonic $unit)\" != '${since[$pci]}' ] &&
			[ \"\$(systemctl show -P ActiveState $unit)\" != activating ]"
		t0=$(systemctl show -P ExecMainStartTimestampMonotonic "$unit")
		t1=$(systemctl show -P ExecMainExitTimestampMonotonic "$unit")
		echo "$unit $(systemctl show -P ExecMainStatus "$unit") $(((t1 - t0) / 1000)) $(systemctl show -P Result "$unit") $(systemctl show -P NRestarts "$unit")" >> "$BATS_TEST_TMPDIR/units"
	done
	{
		echo "# calls (name exit ms), bound ${BOUND} s each:"
		sed 's/^/#   /' "$BATS_TEST_TMPDIR/calls"
		echo "# udev-started units (name exit ms result restarts):"
		sed 's/^/#   /' "$BATS_TEST_TMPDIR/units"
	} >&3
	# 4 applies, 2 prepares, 2 releases, 2 triggers: every exit status is
	# there, all 0 (a call killed at the bound would be 124), each in time.
	[ "$(wc -l < "$BATS_TEST_TMPDIR/calls")" -eq 10 ]
	while read -r name rc ms; do
		[ "$rc" = 0 ] || { echo "$name: exit $rc"; cat "$BATS_TEST_TMPDIR/out.$name"; false; }
		[ "$ms" -lt $((BOUND * 1000)) ]
	done < "$BATS_TEST_TMPDIR/calls"
	while read -r unit rc ms result restarts; do
		[ "$rc" = 0 ] && [ "$result" = success ] && [ "$restarts" = 0 ] ||
			{ echo "$unit: exit $rc, $result, $restarts restarts"; journalctl -q -u "$unit"; false; }
		[ "$ms" -lt $((BOUND * 1000)) ]
	done < "$BATS_TEST_TMPDIR/units"

	# Each prepare claimed its VF for its domain; each release dropped it.
	grep -qx domain=vm-a "$BATS_TEST_TMPDIR/rec.vm-a"
	grep -qx domain=vm-b "$BATS_TEST_TMPDIR/rec.vm-b"

	# The kernel holds the policy: counts, drivers, VLAN, spoofchk, trust on
	# every VF; the hooks' VFs have their auto MAC and the policy VLAN again
	# (release put them back) and no record is left.
	converged
	assert_equal "$(vf_attr "$PF0" 2 mac vlan)" "$(auto_mac "$(perm_mac "$PF0")" 2) 10"
	assert_equal "$(vf_attr "$PF1" 3 mac vlan)" "$(auto_mac "$(perm_mac "$PF1")" 3) 20"
	[ ! -e "/run/vfwarden/vf/$vf_a" ] && [ ! -e "/run/vfwarden/vf/$vf_b" ]
	no_drift
	# at most one apply created the VFs of PF0 (a prepare may have)
	[ "$(cat "$BATS_TEST_TMPDIR"/out.apply* | grep -c '^a: vfs 0 -> 7')" -le 1 ]
	run "$VFWARDEN" apply
	assert_success
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
