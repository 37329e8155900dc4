#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Selector sections: a [pf] with driver = and/or pci-id = instead of device
# governs every PF that matches all its selectors and that no [pf] with
# device names (helper/match.c). enp1s0, enp2s0 and enp4s0 are igb
# (8086:10c9), enp3s0 is ice (8086:1593); [pf special] names enp2s0 by
# device and wins over driver = igb there.

load helpers

# host_pf PCI IFNAME DRIVER: a PF with 2 VFs on vfio-pci at kernel defaults.
host_pf() {
	fake_pf "$1" "$2" 7 2 "$3"
	fake_vfs "$1" 2 vfio-pci
	echo 0 >"$SYS/bus/pci/devices/$1/sriov_drivers_autoprobe"
	fake_vf_state "$2" 0
	fake_vf_state "$2" 1
}

setup() {
	vfw_setup
	host_pf 0000:01:00.0 enp1s0 igb
	host_pf 0000:02:00.0 enp2s0 igb
	FAKE_PF_DEVICE=0x1593 host_pf 0000:03:00.0 enp3s0 ice
	host_pf 0000:04:00.0 enp4s0 igb
	policy <<'EOF2'
[pf ports]
driver = igb
vfs = 2
vlan = 100
mac = auto

[pf special]
device = enp2s0
vfs = 2
vlan = 300

[pf e810]
pci-id = 8086:1593
vfs = 2
vlan = 400

[vf e810 1]
vlan = 401
EOF2
}

# py EXPR FILE: a Python expression on the JSON document in FILE, as d.
py() {
	/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2"
}

# hook_prepare PCI: the qemu hook's prepare begin for a domain with one hostdev VF at PCI.
hook_prepare() {
	local pci=$1
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu vm1 prepare begin - <<EOF2
<domain type='kvm'>
  <name>vm1</name>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x${pci:0:4}' bus='0x${pci:5:2}' slot='0x${pci:8:2}' function='0x${pci:11:1}'/></source>
    </hostdev>
  </devices>
</domain>
EOF2
}

# A third selector section, [pf intel] at line 21, that also selects enp1s0 and enp4s0.
add_intel() {
	printf '\n[pf intel]\npci-id = 8086:10c9\nvfs = 1\n' >>"$POLICY"
}

@test "select: driver = igb governs each igb PF, a device section wins, pci-id selects by IDs, [vf] ranges per PF" {
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'ports/enp1s0 vf0: vlan 0 -> 100 qos 0 802.1Q'
	assert_line 'ports/enp4s0 vf1: vlan 0 -> 100 qos 0 802.1Q'
	assert_line 'special vf0: vlan 0 -> 300 qos 0 802.1Q'
	assert_line 'e810/enp3s0 vf0: vlan 0 -> 400 qos 0 802.1Q'
	assert_line 'e810/enp3s0 vf1: vlan 0 -> 401 qos 0 802.1Q'
	refute_output --partial 'ports/enp2s0'
	# read back from the fake rtnetlink
	grep -q '^vf1 .* vlan=100 ' "$NL/enp1s0"
	grep -q '^vf1 .* vlan=100 ' "$NL/enp4s0"
	grep -q '^vf1 .* vlan=300 ' "$NL/enp2s0"
	grep -q '^vf0 .* vlan=400 ' "$NL/enp3s0"
	grep -q '^vf1 .* vlan=401 ' "$NL/enp3s0"
	# mac = auto: derived from each PF's own permanent address
	grep -q "^vf0 mac=$(auto_mac "$(pf_mac enp1s0)" 0) " "$NL/enp1s0"
	grep -q "^vf0 mac=$(auto_mac "$(pf_mac enp4s0)" 0) " "$NL/enp4s0"
	[ "$(auto_mac "$(pf_mac enp1s0)" 0)" != "$(auto_mac "$(pf_mac enp4s0)" 0)" ]
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	# only the PF named, by its interface
	fake_vf_state enp4s0 0
	fake_vf_state enp1s0 0
	run --separate-stderr vfw -c "$POLICY" apply enp4s0
	assert_success
	assert_line 'ports/enp4s0 vf0: vlan 0 -> 100 qos 0 802.1Q'
	refute_output --partial enp1s0
}

@test "select: status shows LABEL/IFNAME for a selector section, section and selected_by in --json" {
	vfw -c "$POLICY" apply >/dev/null
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --regexp '^ports/enp1s0 +enp1s0 +0000:01:00\.0 +igb +2/2/7 +up$'
	assert_line --regexp '^special +enp2s0 +0000:02:00\.0 +igb +2/2/7 +up$'
	assert_line --regexp '^e810/enp3s0 +enp3s0 +0000:03:00\.0 +ice +2/2/7 +up$'
	assert_line --regexp '^ports/enp4s0 +enp4s0 +0000:04:00\.0 +igb +2/2/7 +up$'
	vfw -c "$POLICY" status --json >"$BATS_TEST_TMPDIR/s.json"
	assert_equal "$(py "[(p['label'], p['section'], p['selected_by']) for p in d['pfs']]" "$BATS_TEST_TMPDIR/s.json")" \
		"[('ports/enp1s0', 'ports', {'driver': 'igb', 'pci_id': None}), ('special', 'special', None), ('e810/enp3s0', 'e810', {'driver': None, 'pci_id': '8086:1593'}), ('ports/enp4s0', 'ports', {'driver': 'igb', 'pci_id': None})]"
	# a selector section's label shows each PF it governs
	run --separate-stderr vfw -c "$POLICY" status ports
	assert_success
	assert_line --regexp '^ports/enp1s0 '
	assert_line --regexp '^ports/enp4s0 '
	refute_line --regexp '^(special|e810/enp3s0) '
	vfw -c "$POLICY" status --prometheus >"$BATS_TEST_TMPDIR/m.prom"
	grep -qx 'vfwarden_pf_vfs_wanted{device="enp4s0",pci="0000:04:00.0",label="ports/enp4s0"} 2' "$BATS_TEST_TMPDIR/m.prom"
	grep -qx 'vfwarden_policy_pf_present{label="ports"} 1' "$BATS_TEST_TMPDIR/m.prom"
}

@test "select: a selector section that matches no PF is skipped and shown absent" {
	printf '\n[pf mlx]\ndriver = mlx5_core\nvfs = 1\n' >>"$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_stderr_line 'mlx: driver = mlx5_core matches no PF here that a [pf] with device does not name, skipped'
	run --separate-stderr vfw -c "$POLICY" status
	assert_line --regexp '^mlx +- +- +- +-/1/- +absent$'
	vfw -c "$POLICY" status --json >"$BATS_TEST_TMPDIR/s.json"
	assert_equal "$(py "[(a['label'], a['device'], a['selected_by']) for a in d['absent_pfs']]" "$BATS_TEST_TMPDIR/s.json")" \
		"[('mlx', None, {'driver': 'mlx5_core', 'pci_id': None})]"
	run --separate-stderr vfw -c "$POLICY" doctor --json
	echo "$output" >"$BATS_TEST_TMPDIR/d.json"
	assert_equal "$(py "[(c['check'], c['result'], c['detail']) for c in d['checks'] if c['check'].startswith('policy ')]" "$BATS_TEST_TMPDIR/d.json")" \
		"[('policy ports', 'ok', 'driver = igb selects 2 PFs'), ('policy special', 'ok', \"device 'enp2s0' is present\"), ('policy e810', 'ok', 'pci-id = 8086:1593 selects 1 PF'), ('policy mlx', 'warn', 'driver = mlx5_core selects no PF here that a [pf] with device does not govern')]"
}

@test "select: two selector sections on one PF: apply refuses that PF and changes nothing on it, the rest converges" {
	add_intel
	local before1 before4
	before1=$(cat "$NL/enp1s0")
	before4=$(cat "$NL/enp4s0")
	run --separate-stderr vfw -c "$POLICY" apply
	assert_equal "$status" 3
	assert_stderr_line "ports: [pf ports] ($POLICY:2) and [pf intel] ($POLICY:21) both select 0000:01:00.0, left alone"
	assert_stderr_line "ports: [pf ports] ($POLICY:2) and [pf intel] ($POLICY:21) both select 0000:04:00.0, left alone"
	assert_line 'e810/enp3s0 vf0: vlan 0 -> 400 qos 0 802.1Q'
	assert_line 'special vf0: vlan 0 -> 300 qos 0 802.1Q'
	assert_equal "$(cat "$NL/enp1s0")" "$before1"
	assert_equal "$(cat "$NL/enp4s0")" "$before4"
	assert_equal "$(sysfs bus/pci/devices/0000:01:00.0/sriov_numvfs) $(sysfs bus/pci/devices/0000:04:00.0/sriov_numvfs)" "2 2"
	run nl_log
	refute_output --partial enp1s0
	refute_output --partial enp4s0
	grep -q ambiguous "$ROOT/run/vfwarden/last-apply.d/0000:01:00.0"
	# status: ambiguous, no label, both sections named
	run --separate-stderr vfw -c "$POLICY" status
	assert_line --regexp '^ambiguous +enp1s0 +0000:01:00\.0 +igb +2/-/7 +up$'
	assert_line "ambiguous: [pf ports] ($POLICY:2) and [pf intel] ($POLICY:21) both select 0000:01:00.0; apply leaves it alone"
	vfw -c "$POLICY" status --json >"$BATS_TEST_TMPDIR/s.json"
	assert_equal "$(py "[(p['label'], p['ambiguous']) for p in d['pfs'] if p['pci'] == '0000:01:00.0']" "$BATS_TEST_TMPDIR/s.json")" \
		"[(None, ['ports', 'intel'])]"
	# doctor fails both sections
	vfw -c "$POLICY" doctor --json >"$BATS_TEST_TMPDIR/d.json" || true
	assert_equal "$(py "[(c['check'], c['result']) for c in d['checks'] if c['check'] in ('policy ports', 'policy intel')]" "$BATS_TEST_TMPDIR/d.json")" \
		"[('policy ports', 'fail'), ('policy intel', 'fail')]"
}

@test "select: check on the host names both FILE:LINEs of two selector sections on one PF" {
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
	assert_stderr_empty
	add_intel
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_stderr_line "$POLICY:21: [pf intel] selects 0000:01:00.0 (enp1s0) on this host, and so does [pf ports] ($POLICY:2): give each PF one section"
	assert_stderr_line "$POLICY:21: [pf intel] selects 0000:04:00.0 (enp4s0) on this host, and so does [pf ports] ($POLICY:2): give each PF one section"
	# a third selector section on those PFs is named too, and status THIRD lists them
	printf '\n[pf third]\ndriver = igb\nvfs = 1\n' >>"$POLICY"
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_stderr_line "$POLICY:25: [pf third] selects 0000:01:00.0 (enp1s0) on this host, and so does [pf ports] ($POLICY:2): give each PF one section"
	assert_stderr_line "$POLICY:25: [pf third] selects 0000:04:00.0 (enp4s0) on this host, and so does [pf ports] ($POLICY:2): give each PF one section"
	run --separate-stderr vfw -c "$POLICY" status third
	assert_line --regexp '^ambiguous +enp1s0 +0000:01:00\.0 '
	assert_line --regexp '^ambiguous +enp4s0 +0000:04:00\.0 '
	# a host without those PFs has no conflict to report
	rm -rf "$SYS/bus/pci/devices/0000:01:00.0" "$SYS/bus/pci/devices/0000:04:00.0"
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
}

@test "select: the hook refuses a VF of a PF two selector sections select, and prepares a selected one" {
	add_intel
	local vf
	vf=$(vf_pci 0000:01:00.0 0)
	hook_prepare "$vf"
	assert_failure
	assert_equal "$stderr" "vfwarden: domain 'vm1': VF $vf of 0000:01:00.0: [pf ports] ($POLICY:2) and [pf intel] ($POLICY:21) both select 0000:01:00.0, refusing the start"
	[ ! -e "$ROOT/run/vfwarden/vf/$vf" ]
	vf=$(vf_pci 0000:03:00.0 1)
	hook_prepare "$vf"
	assert_success
	[ -e "$ROOT/run/vfwarden/vf/$vf" ]
	grep -q '^vf1 .* vlan=401 ' "$NL/enp3s0"
}

@test "select: a fixed mac in a selector section is a FILE:LINE error, nothing changes" {
	local sum
	printf '\n[vf ports 1]\nmac = 02:00:00:00:00:01\n' >>"$POLICY"
	sum=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_stderr_line "$POLICY:21: fixed mac 02:00:00:00:00:01 for [pf ports], which selects PFs by driver or pci-id and may match several; use mac = auto or a [pf] with device"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_equal "$status" 1
	assert_equal "$(tree_sum)" "$sum"
}

@test "select: device and a selector, or neither, in one section is a FILE:LINE error" {
	policy <<'EOF2'
[pf a]
device = enp1s0
driver = igb
vfs = 1

[pf b]
vfs = 1

[pf c]
pci-id = 8086:10C9
vfs = 1
EOF2
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_stderr_line "$POLICY:3: [pf a] has both 'device' and 'driver': a section names one PF by device or selects PFs by driver and pci-id"
	assert_stderr_line "$POLICY:6: [pf b] has no 'device', 'driver' or 'pci-id'"
	assert_stderr_line "$POLICY:10: invalid pci-id '8086:10C9' (vendor:device in lower-case hex, such as 8086:1593)"
}

@test "select: udev marks the VFs of a PF a selector section selects, and only those" {
	policy <<'EOF2'
[pf e810]
pci-id = 8086:1593
vfs = 2
EOF2
	run --separate-stderr vfw -c "$POLICY" udev "$(vf_pci 0000:03:00.0 0)"
	assert_success
	assert_output 'NM_UNMANAGED=1'
	run --separate-stderr vfw -c "$POLICY" udev "$(vf_pci 0000:01:00.0 0)"
	assert_success
	assert_output ''
	printf '\n[pf ports]\ndriver = igb\nvfs = 2\n' >>"$POLICY"
	run --separate-stderr vfw -c "$POLICY" udev "$(vf_pci 0000:01:00.0 1)"
	assert_success
	assert_output 'NM_UNMANAGED=1'
}

# As at boot: the PF's driver not bound yet (unbind_pf), bound SEC seconds later.
unbind_pf() {
	rm "$SYS/bus/pci/devices/$1/driver"
	mv "$SYS/bus/pci/devices/$1/net" "$BATS_TEST_TMPDIR/net-$1"
}
rebind_pf_later() {
	(
		sleep "$2"
		mv "$BATS_TEST_TMPDIR/net-$1" "$SYS/bus/pci/devices/$1/net"
		ln -s ../../../../bus/pci/drivers/igb "$SYS/bus/pci/devices/$1/driver"
	) > /dev/null 2>&1 3>&- &
}

@test "select: apply --wait-pfs waits for an unbound PF a selector may select, not for one its pci-id excludes" {
	unbind_pf 0000:04:00.0
	rebind_pf_later 0000:04:00.0 1
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 10
	assert_success
	assert_line 'ports/enp4s0 vf0: vlan 0 -> 100 qos 0 802.1Q'
	# it waited for the rebind, about 1 s (0.9 s under load: the timers differ)
	assert_stderr_contains "s for the PFs' drivers"
	# an unbound 8086:10c9 is not what pci-id = 8086:1593 waits for
	policy <<'EOF2'
[pf e810]
pci-id = 8086:1593
vfs = 2
EOF2
	unbind_pf 0000:01:00.0
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 5
	assert_success
	refute_stderr_contains 'waited'
}

@test "select: show gives one block per PF a selector section governs, LABEL/IFNAME, and why it matched" {
	run --separate-stderr vfw -c "$POLICY" show
	assert_success
	assert_line --regexp '^\[pf ports/enp1s0\] +# .*/vfwarden.conf:1$'
	assert_line --regexp '^\[pf ports/enp4s0\] +# .*/vfwarden.conf:1$'
	refute_line --partial '[pf ports/enp2s0]'
	assert_line --regexp '^# why: driver = igb \(.*/vfwarden.conf:2\) matched the driver$'
	assert_line --regexp '^# why: pci-id = 8086:1593 \(.*/vfwarden.conf:13\) matched the PCI vendor and device$'
	assert_line --regexp '^# why: device = enp2s0 \(.*/vfwarden.conf:8\) matched the interface name$'
	assert_line --regexp '^\[vf e810/enp3s0 1\]$'
	run --separate-stderr vfw -c "$POLICY" show --json
	assert_success
	echo "$output" > "$BATS_TEST_TMPDIR/show.json"
	run jq -c '[.pfs[] | select(.section == "ports") | [.label, .pf.interface, .why[0].key, .why[0].host, .settings.driver.value, (.settings | has("device"))]]' "$BATS_TEST_TMPDIR/show.json"
	assert_output '[["ports/enp1s0","enp1s0","driver","igb","igb",false],["ports/enp4s0","enp4s0","driver","igb","igb",false]]'
	run jq -c '[.pfs[] | select(.section == "special") | [.label, (.settings | has("driver")), .settings.device.value]]' "$BATS_TEST_TMPDIR/show.json"
	assert_output '[["special",false,"enp2s0"]]'
	# named on the command line by its interface: that PF alone; by label: every PF of the section
	run --separate-stderr vfw -c "$POLICY" show enp3s0 enp4s0
	assert_success
	assert_line --regexp '^\[pf e810/enp3s0\]'
	assert_line --regexp '^\[pf ports/enp4s0\]'
	refute_line --partial '[pf ports/enp1s0]'
	refute_line --partial '[pf special]'
	run --separate-stderr vfw -c "$POLICY" show ports
	assert_success
	assert_line --regexp '^\[pf ports/enp1s0\]'
	assert_line --regexp '^\[pf ports/enp4s0\]'
	refute_line --partial '[pf e810'
}

@test "select: apply --json labels a selected PF's changes LABEL/IFNAME; a selector that matches nothing is skipped absent" {
	run --separate-stderr vfw -c "$POLICY" apply --dry-run --json
	assert_success
	run jq -c '[.changes[] | select(.vf == 0 and .key == "vlan") | [.pf.label, .pf.interface]] | sort' <<<"$output"
	assert_output '[["e810/enp3s0","enp3s0"],["ports/enp1s0","enp1s0"],["ports/enp4s0","enp4s0"],["special","enp2s0"]]'
	policy <<'EOF2'
[pf none]
driver = mlx5_core
vfs = 2
EOF2
	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_success
	run jq -c '[.skipped[] | [.pf.label, .reason]], .counts.changes' <<<"$output"
	assert_output - <<'EOF2'
[["none","absent"]]
0
EOF2
}
