#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# manage = no in a [pf] section: vfwarden writes nothing to that PF or its
# VFs (apply, apply PF, udev, the libvirt hook), status marks it, the
# section still validates and still governs its PF (match.c). enp1s0 is
# [pf one], managed; enp2s0 is [pf maint], set aside, with a VLAN and a VF
# count set by hand that differ from its section.

load helpers

setup() {
	vfw_setup
	ONE=0000:01:00.0
	MNT=0000:02:00.0
	for pf in $ONE $MNT; do
		fake_pf $pf "enp${pf:6:1}s0" 7 2
		fake_vfs $pf 2 vfio-pci
		echo 0 >"$SYS/bus/pci/devices/$pf/sriov_drivers_autoprobe"
		fake_vf_state "enp${pf:6:1}s0" 0
		fake_vf_state "enp${pf:6:1}s0" 1
	done
	# by hand, behind vfwarden's back
	fake_vf_state enp2s0 0 vlan=42 trust=1
	write_policy no
	METRICS=$BATS_TEST_TMPDIR/m.prom
	REC=$ROOT/run/vfwarden/vf
	MVF=$(vf_pci $MNT 0)
}

# write_policy yes|no: [pf maint]'s manage (line 9 of the file).
write_policy() {
	policy <<EOF2
[pf one]
device = enp1s0
vfs = 2
vlan = 100

[pf maint]
device = enp2s0
vfs = 3
manage = $1
vlan = 200
EOF2
}

# pf_sum PCI: one checksum over the PF's sysfs tree, its VFs' and its netlink table.
pf_sum() {
	local nl=$NL/enp${1:6:1}s0
	(
		cd "$SYS/bus/pci/devices" || exit 1
		find "$1" "${1%:*.*}:10."* -printf '%p %y %m %l\n' | LC_ALL=C sort
		find "$1" "${1%:*.*}:10."* -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
		sha256sum "$nl"
	) | sha256sum | cut -d' ' -f1
}

py() {
	/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2"
}

# metric NAME LABELS: the sample's value, "none" when there is no such sample.
metric() {
	/usr/bin/python3 - "$1" "$2" "$METRICS" <<'PY'
import ast, sys
from prometheus_client.parser import text_string_to_metric_families
name, labels, path = sys.argv[1], ast.literal_eval(sys.argv[2]), sys.argv[3]
for fam in text_string_to_metric_families(open(path).read()):
    for s in fam.samples:
        if s.name == name and s.labels == labels:
            print(int(s.value))
            sys.exit(0)
print("none")
PY
}

# hook OP SUBOP PCI [DOMAIN]: the qemu hook with a domain using VF PCI on stdin.
hook() {
	local pci=$3
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu "${4:-vm1}" "$1" "$2" - <<EOF2
<domain type='kvm'>
  <name>${4:-vm1}</name>
  <devices>
    <interface type='hostdev' managed='yes'>
      <mac address='52:54:00:aa:bb:01'/>
      <source><address type='pci' domain='0x${pci:0:4}' bus='0x${pci:5:2}' slot='0x${pci:8:2}' function='0x${pci:11:1}'/></source>
      <vlan><tag id='42'/></vlan>
    </interface>
  </devices>
</domain>
EOF2
}

@test "manage: apply converges [pf one], leaves [pf maint] alone with one line, exit 0" {
	local before
	before=$(pf_sum $MNT)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_stderr_line "maint: manage = no at $POLICY:9, $MNT left alone"
	assert_line --partial 'one vf0: vlan 0 -> 100'
	refute_output --partial maint
	run nl_log
	refute_output --partial enp2s0
	assert_output --partial enp1s0
	assert_equal "$(pf_sum $MNT)" "$before"
	# the hand-made VLAN and count survive; no record of a run on the PF
	grep -q '^vf0 .* vlan=42 .* trust=1 ' "$NL/enp2s0"
	assert_equal "$(sysfs bus/pci/devices/$MNT/sriov_numvfs)" 2
	[ ! -e "$ROOT/run/vfwarden/last-apply.d/$MNT" ]
	[ -e "$ROOT/run/vfwarden/last-apply.d/$ONE" ]
	# a second run: nothing to do, the skip said again
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	assert_stderr_line "maint: manage = no at $POLICY:9, $MNT left alone"
}

@test "manage: apply --dry-run and apply PF say so too and write nothing" {
	local before
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_stderr_line "maint: manage = no at $POLICY:9, $MNT left alone"
	refute_output --partial maint
	for pf in enp2s0 $MNT "$(pf_mac enp2s0)"; do
		run --separate-stderr vfw -c "$POLICY" apply "$pf"
		assert_success
		assert_stderr_line "maint: manage = no at $POLICY:9, $MNT left alone"
		refute_stderr_contains 'not in the policy'
		assert_output 'no changes: the host matches the policy'
	done
	# apply --json: skipped with the reason unmanaged, no change on it
	run --separate-stderr vfw -c "$POLICY" apply --dry-run --json
	assert_success
	run jq -c '[.skipped[] | [.pf.label, .pf.pci, .reason]], [.changes[] | .pf.label] - ["one"]' <<<"$output"
	assert_output - <<EOF2
[["maint","$MNT","unmanaged"]]
[]
EOF2
	assert_equal "$(tree_sum)" "$before"
	run nl_log
	assert_output ''
}

@test "manage: back to yes, the next apply converges the PF as usual" {
	vfw -c "$POLICY" apply >/dev/null 2>&1
	write_policy yes
	sed -i 's/^vfs = 3$/vfs = 2/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply enp2s0
	assert_success
	assert_line 'maint vf0: vlan 42 qos 0 802.1Q -> 200 qos 0 802.1Q'
	assert_line 'maint vf0: trust on -> off'
	assert_line 'maint vf1: vlan 0 -> 200 qos 0 802.1Q'
	refute_stderr_contains 'manage = no'
	grep -q '^vf0 .* vlan=200 .* trust=0 ' "$NL/enp2s0"
}

@test "manage: udev gives no NM_UNMANAGED mark to a VF of an unmanaged PF" {
	run vfw -c "$POLICY" udev "$MVF"
	assert_success
	assert_output ''
	run vfw -c "$POLICY" udev "$(vf_pci $ONE 0)"
	assert_success
	assert_output 'NM_UNMANAGED=1'
	write_policy yes
	run vfw -c "$POLICY" udev "$MVF"
	assert_output 'NM_UNMANAGED=1'
}

@test "manage: the hook starts a VM on a VF of an unmanaged PF, writes nothing, keeps no record" {
	local before
	before=$(tree_sum)
	hook prepare begin "$MVF"
	assert_success
	assert_equal "$stderr" "vfwarden: domain 'vm1': $MVF is vf0 of [pf maint], manage = no at $POLICY:9: left alone"
	[ ! -e "$REC/$MVF" ]
	hook reconnect begin "$MVF"
	assert_success
	hook release end "$MVF"
	assert_success
	assert_stderr_line "vfwarden: domain 'vm1': $MVF is vf0 of [pf maint], manage = no at $POLICY:9: left alone"
	hook stopped end "$MVF"
	assert_success
	assert_equal "$(tree_sum)" "$before"
	run nl_log
	assert_output ''
	# a VF of the managed PF is prepared as usual
	hook prepare begin "$(vf_pci $ONE 0)"
	assert_success
	[ -e "$REC/$(vf_pci $ONE 0)" ]
}

@test "manage: a release on an unmanaged PF restores nothing and drops only its own domain's record" {
	# vm1 started while the PF was managed; the admin then set it aside
	fake_vf_state enp2s0 0 mac=52:54:00:aa:bb:01 vlan=42
	fake_owner "$MVF" vm1
	hook release end "$MVF" vm2
	assert_success
	grep -qx 'domain=vm1' "$REC/$MVF"
	hook release end "$MVF" vm1
	assert_success
	[ ! -e "$REC/$MVF" ]
	grep -q '^vf0 mac=52:54:00:aa:bb:01 vlan=42 ' "$NL/enp2s0"
	run nl_log
	assert_output ''
}

@test "manage: a pending reset of a VF of an unmanaged PF waits; manage = yes does it" {
	fake_vf_state enp2s0 0 mac=52:54:00:aa:bb:01 vlan=42
	printf 'domain=vm1\nmac=52:54:00:aa:bb:01\nvlan=42\nreset-pending=yes\n' >"$(mkdir -p "$REC" && echo "$REC/$MVF")"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	grep -qx 'reset-pending=yes' "$REC/$MVF"
	grep -q '^vf0 mac=52:54:00:aa:bb:01 vlan=42 ' "$NL/enp2s0"
	run nl_log
	refute_output --partial enp2s0
	run --separate-stderr vfw -c "$POLICY" status
	assert_line --regexp '^maint +enp2s0 +0000:02:00\.0 +0 .*domain vm1 \(reset pending\) +unmanaged$'
	write_policy yes
	sed -i 's/^vfs = 3$/vfs = 2/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	[ ! -e "$REC/$MVF" ]
	grep -q '^vf0 .* vlan=200 ' "$NL/enp2s0"
	assert_line --partial 'maint vf0: mac 52:54:00:aa:bb:01 -> '
}

@test "manage: with only unmanaged PFs here, unreadable XML with a hostdev does not refuse the start" {
	policy <<'EOF2'
[pf maint]
device = enp2s0
vfs = 2
manage = no
EOF2
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu vm1 prepare begin - <<<"<domain><name>vm1</name><devices><hostdev mode='subsystem' type='pci'>"
	assert_success
	assert_stderr_contains 'unreadable XML'
	# the same PF managed: refused, as before
	sed -i '/^manage = no$/d' "$POLICY"
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu vm1 prepare begin - <<<"<domain><name>vm1</name><devices><hostdev mode='subsystem' type='pci'>"
	assert_failure
}

@test "manage: status marks the PF unmanaged, shows the kernel's state without drift" {
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --regexp '^one +enp1s0 +0000:01:00\.0 +igb +2/2/7 +up$'
	assert_line --regexp '^maint +enp2s0 +0000:02:00\.0 +igb +2/-/7 +up$'
	assert_line "unmanaged: [pf maint] has manage = no ($POLICY:9): vfwarden writes nothing to $MNT or its VFs"
	# its VFs as the kernel has them, no '*', DRIFT says why
	assert_line --regexp '^maint +enp2s0 +0000:02:00\.0 +0 +0000:02:10\.0 +vfio-pci +00:00:00:00:00:00 +42/0/802\.1Q +on +on +auto +0/0 +- +unmanaged$'
	assert_line --regexp '^maint +enp2s0 +0000:02:00\.0 +1 .* unmanaged$'
	refute_line --regexp '^maint .*\*'
	run --separate-stderr vfw -c "$POLICY" status maint
	assert_success
	assert_line --regexp '^maint +enp2s0 '
	refute_line --regexp '^one '
}

@test "manage: status --json gives managed false and no policy values for the unmanaged PF" {
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/s.json"
	J=$BATS_TEST_TMPDIR/s.json
	assert_equal "$(py "[(p['pci'], p['label'], p['managed'], p['policy_vfs'], p['drift'], p['ambiguous']) for p in d['pfs']]" "$J")" \
		"[('0000:01:00.0', 'one', True, 2, False, None), ('0000:02:00.0', 'maint', False, None, False, None)]"
	assert_equal "$(py "[(v['managed'], v['drift'], v['vlan']) for p in d['pfs'] for v in p['vfs'] if p['pci'] == '$MNT']" "$J")" \
		"[(False, [], 42), (False, [], 0)]"
	assert_equal "$(py "d['absent_pfs']" "$J")" "[]"
}

@test "manage: metrics give vfwarden_pf_managed, keep the label, want nothing of the unmanaged PF" {
	vfw -c "$POLICY" apply >/dev/null 2>&1
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	assert_equal "$(metric vfwarden_pf_managed "{'device': 'enp2s0', 'pci': '$MNT', 'label': 'maint'}")" 0
	assert_equal "$(metric vfwarden_pf_managed "{'device': 'enp1s0', 'pci': '$ONE', 'label': 'one'}")" 1
	assert_equal "$(metric vfwarden_pf_vfs_wanted "{'device': 'enp2s0', 'pci': '$MNT', 'label': 'maint'}")" none
	assert_equal "$(metric vfwarden_pf_vfs_drift "{'device': 'enp2s0', 'pci': '$MNT', 'label': 'maint'}")" none
	assert_equal "$(metric vfwarden_pf_vfs "{'device': 'enp2s0', 'pci': '$MNT', 'label': 'maint'}")" 2
	assert_equal "$(metric vfwarden_policy_pf_present "{'label': 'maint'}")" 1
	# a PF no section names is not managed either
	fake_pf 0000:03:00.0 enp3s0 7 0
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	assert_equal "$(metric vfwarden_pf_managed "{'device': 'enp3s0', 'pci': '0000:03:00.0'}")" 0
	if command -v promtool >/dev/null; then
		promtool check metrics <"$METRICS"
	fi
}

@test "manage: an unmanaged section still validates, and still counts for ambiguity" {
	policy <<'EOF2'
[pf maint]
device = enp2s0
vfs = 2
manage = later
EOF2
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_stderr_line "$POLICY:4: invalid manage 'later' (yes or no)"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_equal "$status" 1
	# another section naming the same PF: ambiguous, as without manage = no
	write_policy no
	printf '\n[pf other]\ndevice = %s\nvfs = 1\n' $MNT >>"$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_equal "$status" 3
	assert_stderr_line "maint: $MNT is also [pf other], left alone"
	assert_stderr_line "other: $MNT is also [pf maint], left alone"
	run nl_log
	refute_output --partial enp2s0
}
