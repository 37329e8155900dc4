#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# One host, one answer: which [pf] section governs which PF (helper/match.c),
# as apply, status (table, --json, --prometheus), doctor and the libvirt hook
# see it. enp1s0 is governed by [pf one]; enp2s0 is ambiguous (named by
# interface in [pf a] and by PCI address in [pf b]); [pf gone] is absent.

load helpers

setup() {
	vfw_setup
	ONE=0000:01:00.0
	AMB=0000:02:00.0
	for pf in $ONE $AMB; do
		fake_pf $pf "enp${pf:6:1}s0" 7 2
		fake_vfs $pf 2 vfio-pci
		echo 0 >"$SYS/bus/pci/devices/$pf/sriov_drivers_autoprobe"
		fake_vf_state "enp${pf:6:1}s0" 0
		fake_vf_state "enp${pf:6:1}s0" 1
	done
	policy <<'EOF2'
[pf one]
device = enp1s0
vfs = 2
vlan = 100

[pf a]
device = enp2s0
vfs = 2
vlan = 200

[pf b]
device = 0000:02:00.0
vfs = 1

[pf gone]
device = 0000:09:00.0
vfs = 1
EOF2
	METRICS=$BATS_TEST_TMPDIR/m.prom
}

# py EXPR FILE: a Python expression on the JSON document in FILE, as d.
py() {
	/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2"
}

# metric NAME LABELS: the sample's value, "none" when there is no such sample
# (LABELS: Python dict literal that the sample's labels must equal).
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

@test "match: apply converges [pf one], leaves the ambiguous PF alone with one error per section, exit 3" {
	run --separate-stderr vfw -c "$POLICY" apply
	assert_equal "$status" 3
	assert_stderr_line 'a: 0000:02:00.0 is also [pf b], left alone'
	assert_stderr_line 'b: 0000:02:00.0 is also [pf a], left alone'
	assert_stderr_line "gone: device '0000:09:00.0' not present, skipped"
	assert_line --partial 'one vf0: vlan 0 -> 100'
	# nothing written for enp2s0, not even one attribute
	run nl_log
	refute_output --partial enp2s0
	assert_output --partial enp1s0
	grep -qx 'status=3' "$ROOT/run/vfwarden/last-apply.d/$AMB"
	grep -q 'ambiguous' "$ROOT/run/vfwarden/last-apply.d/$AMB"
	# named alone, the ambiguous PF is refused just the same
	run --separate-stderr vfw -c "$POLICY" apply enp2s0
	assert_equal "$status" 3
	assert_stderr_line 'a: 0000:02:00.0 is also [pf b], left alone'
	refute_stderr_contains 'not in the policy'
}

@test "match: status shows the ambiguous PF with no label, in the table and in --json" {
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --regexp '^one +enp1s0 +0000:01:00\.0 +igb +2/2/7 +up$'
	assert_line --regexp '^ambiguous +enp2s0 +0000:02:00\.0 +igb +2/-/7 +up$'
	assert_line --regexp '^gone +- +0000:09:00\.0 +- +-/1/- +absent$'
	assert_line 'ambiguous: [pf a] and [pf b] both name 0000:02:00.0; apply leaves it alone'
	# its VFs: no label, no drift against either section
	assert_line --regexp '^ambiguous +enp2s0 +0000:02:00\.0 +0 .* -$'
	refute_line --regexp '^(a|b) '
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/s.json"
	J=$BATS_TEST_TMPDIR/s.json
	assert_equal "$(py "[(p['pci'], p['label'], p['ambiguous'], p['policy_vfs'], p['drift']) for p in d['pfs']]" "$J")" \
		"[('0000:01:00.0', 'one', None, 2, False), ('0000:02:00.0', None, ['a', 'b'], None, False)]"
	assert_equal "$(py "[v['managed'] for p in d['pfs'] for v in p['vfs'] if p['pci'] == '$AMB']" "$J")" "[False, False]"
	assert_equal "$(py "[a['label'] for a in d['absent_pfs']]" "$J")" "['gone']"
	# selecting by either label shows the ambiguous PF
	run --separate-stderr vfw -c "$POLICY" status b
	assert_success
	assert_line --regexp '^ambiguous +enp2s0 '
	refute_line --regexp '^one '
}

@test "match: metrics give the ambiguous PF no label and vfwarden_pf_ambiguous 1" {
	vfw -c "$POLICY" apply >/dev/null 2>&1 || true
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	assert_equal "$(metric vfwarden_pf_ambiguous "{'device': 'enp2s0', 'pci': '$AMB'}")" 1
	assert_equal "$(metric vfwarden_pf_ambiguous "{'device': 'enp1s0', 'pci': '$ONE', 'label': 'one'}")" 0
	assert_equal "$(metric vfwarden_pf_vfs_wanted "{'device': 'enp2s0', 'pci': '$AMB'}")" none
	assert_equal "$(metric vfwarden_pf_vfs_wanted "{'device': 'enp1s0', 'pci': '$ONE', 'label': 'one'}")" 2
	assert_equal "$(metric vfwarden_pf_last_apply_exit_status "{'device': 'enp2s0', 'pci': '$AMB'}")" 3
	assert_equal "$(metric vfwarden_pf_last_apply_failures "{'device': 'enp2s0', 'pci': '$AMB', 'attribute': 'ambiguous'}")" 1
	assert_equal "$(metric vfwarden_policy_pf_present "{'label': 'a'}")" 1
	assert_equal "$(metric vfwarden_policy_pf_present "{'label': 'gone'}")" 0
	run grep -c 'label="a"\|label="b"' "$METRICS"
	assert_output 2 # vfwarden_policy_pf_present only
}

@test "match: doctor fails each ambiguous section with the reason, passes [pf one], warns on [pf gone]" {
	run --separate-stderr vfw -c "$POLICY" doctor --json
	echo "$output" >"$BATS_TEST_TMPDIR/d.json"
	J=$BATS_TEST_TMPDIR/d.json
	assert_equal "$(py "[(c['check'], c['result'], c['detail']) for c in d['checks'] if c['check'].startswith('policy ')]" "$J")" \
		"[('policy one', 'ok', \"device 'enp1s0' is present\"), ('policy a', 'fail', '0000:02:00.0 is also [pf b]'), ('policy b', 'fail', '0000:02:00.0 is also [pf a]'), ('policy gone', 'warn', \"device '0000:09:00.0' is not present\")]"
}

@test "match: the hook refuses a VM on a VF of the ambiguous PF with one line, and nothing else" {
	local vf
	vf=$(vf_pci $AMB 0)
	hook_prepare "$vf"
	assert_failure
	assert_equal "$stderr" "vfwarden: domain 'vm1': VF $vf of $AMB: [pf a] and [pf b] both name $AMB, refusing the start"
	[ ! -e "$ROOT/run/vfwarden/vf/$vf" ]
	run nl_log
	assert_output ''
	# a VF of the governed PF is prepared
	vf=$(vf_pci $ONE 0)
	hook_prepare "$vf"
	assert_success
	[ -e "$ROOT/run/vfwarden/vf/$vf" ]
	# release and stop never fail, also for the ambiguous PF
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu vm1 release end - <<<"<domain><name>vm1</name><devices><hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x02' slot='0x10' function='0x0'/></source></hostdev></devices></domain>"
	assert_success
}

@test "match: a VM without a VF of the ambiguous PF is never blocked" {
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu vm2 prepare begin - <<<"<domain><name>vm2</name><devices><disk type='file'/></devices></domain>"
	assert_success
	assert_stderr_empty
}

@test "match: apply, status, --json, metrics, doctor and the hook give the same answer per PF" {
	local s_one s_amb j m h_one h_amb d
	vfw -c "$POLICY" apply >/dev/null 2>&1 || true
	# apply: converged (vlan 100 on enp1s0's VF 0) or left alone (enp2s0 unchanged)
	grep -q '^vf0 .* vlan=100 ' "$NL/enp1s0" || fail "apply did not converge [pf one]"
	grep -q '^vf0 .* vlan=0 ' "$NL/enp2s0" || fail "apply touched the ambiguous PF"
	s_one=$(vfw -c "$POLICY" status | awk '$3 == "'$ONE'" && NF == 6 { print $1 }')
	s_amb=$(vfw -c "$POLICY" status | awk '$3 == "'$AMB'" && NF == 6 { print $1 }')
	vfw -c "$POLICY" status --json >"$BATS_TEST_TMPDIR/s.json"
	j=$(py "[p['label'] or ('ambiguous' if p['ambiguous'] else '-') for p in d['pfs']]" "$BATS_TEST_TMPDIR/s.json")
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	m=$(metric vfwarden_pf_ambiguous "{'device': 'enp2s0', 'pci': '$AMB'}")/$(metric vfwarden_pf_ambiguous "{'device': 'enp1s0', 'pci': '$ONE', 'label': 'one'}")
	vfw -c "$POLICY" doctor --json >"$BATS_TEST_TMPDIR/d.json" || true
	d=$(py "[c['result'] for c in d['checks'] if c['check'].startswith('policy ')]" "$BATS_TEST_TMPDIR/d.json")
	hook_prepare "$(vf_pci $ONE 1)"
	h_one=$( ((status == 0)) && echo start || echo refuse)
	hook_prepare "$(vf_pci $AMB 1)"
	h_amb=$( ((status == 0)) && echo start || echo refuse)
	assert_equal "$s_one $s_amb | $j | $m | $d | $h_one $h_amb" \
		"one ambiguous | ['one', 'ambiguous'] | 1/0 | ['ok', 'fail', 'fail', 'warn'] | start refuse"
}

@test "match: a device that names two PFs (one permanent MAC on two ports) governs neither" {
	rm -rf "$SYS/bus/pci/devices/$AMB" "$SYS/class/net/enp2s0" "$NL"/enp2s0
	FAKE_PF_MAC=52:54:00:12:34:77 fake_pf 0000:03:00.0 enp3s0 7 0
	FAKE_PF_MAC=52:54:00:12:34:77 fake_pf 0000:04:00.0 enp4s0 7 0
	policy <<'EOF2'
[pf one]
device = enp1s0
vfs = 2

[pf twin]
device = 52:54:00:12:34:77
vfs = 1
EOF2
	run --separate-stderr vfw -c "$POLICY" apply
	assert_equal "$status" 3
	assert_stderr_line "twin: device '52:54:00:12:34:77' matches both 0000:03:00.0 and 0000:04:00.0, left alone"
	assert_equal "$(sysfs bus/pci/devices/0000:03:00.0/sriov_numvfs) $(sysfs bus/pci/devices/0000:04:00.0/sriov_numvfs)" "0 0"
	grep -q ambiguous "$ROOT/run/vfwarden/last-apply.d/0000:03:00.0"
	grep -q ambiguous "$ROOT/run/vfwarden/last-apply.d/0000:04:00.0"
	run --separate-stderr vfw -c "$POLICY" status
	assert_line --regexp '^ambiguous +enp3s0 +0000:03:00\.0 '
	assert_line --regexp '^ambiguous +enp4s0 +0000:04:00\.0 '
	assert_line 'ambiguous: [pf twin] names 0000:03:00.0 and 0000:04:00.0; apply leaves it alone'
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_output --partial "device '52:54:00:12:34:77' matches both 0000:03:00.0 and 0000:04:00.0"
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_stderr_line "$POLICY:6: [pf twin] device '52:54:00:12:34:77' matches both 0000:03:00.0 (enp3s0) and 0000:04:00.0 (enp4s0) on this host: name each PF by its PCI address"
}

@test "match: check on the host names both FILE:LINEs of two sections on one PF, once" {
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	assert_stderr_line "$POLICY:12: [pf b] names 0000:02:00.0 (enp2s0) on this host, and so does [pf a] ($POLICY:7): give each PF one section"
	# a third section on that PF is named too, against the first
	printf '\n[pf c]\ndevice = 52:54:00:12:34:02\nvfs = 1\n' >>"$POLICY"
	run --separate-stderr vfw -c "$POLICY" check
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 2
	assert_stderr_line "$POLICY:20: [pf c] names 0000:02:00.0 (enp2s0) on this host, and so does [pf a] ($POLICY:7): give each PF one section"
	# without that PF on the host, the policy is valid
	rm -rf "$SYS/bus/pci/devices/$AMB" "$SYS/class/net/enp2s0" "$NL"/enp2s0
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
	assert_stderr_empty
}
