#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden [-c FILE] status [--json] on a fake host.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	VF0=$(vf_pci $PF 0)
	VF1=$(vf_pci $PF 1)
}

# enp1s0 (managed, 2 VFs on vfio-pci), enp2s0 (unmanaged, 1 VF unbound),
# enp3s0 (managed, no VFs yet), and the VFs of enp1s0 matching the policy.
host_three_pfs() {
	host_two_vfio_vfs
	fake_pf 0000:02:00.0 enp2s0 7 1
	fake_vf 0000:02:00.0 0 0000:02:10.0 none 40
	fake_vf_state enp2s0 0 mac=02:00:00:00:02:00 vlan=42 qos=1
	fake_pf 0000:03:00.0 enp3s0 4 0 ixgbe
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
trust = on
[vf uplink 1]
mac = 02:11:22:33:44:55
[pf empty]
device = 0000:03:00.0
vfs = 0
EOF
	M0=$(auto_mac "$(pf_mac enp1s0)" 0)
	fake_vf_state enp1s0 0 mac="$M0" vlan=100 trust=1
	fake_vf_state enp1s0 1 mac=02:11:22:33:44:55 vlan=100 trust=1
}

# row PCI VF: the VF table's row of that VF.
row() {
	awk -v pci="$1" -v vf="$2" '$3 == pci && $4 == vf' <<<"$output"
}

# summary KEY: the PF table's line whose label, interface or PCI is KEY.
summary() {
	awk -v k="$1" 'NF == 0 { exit } NR > 1 && ($1 == k || $2 == k || $3 == k)' <<<"$output"
}

# vf_rows: the VF table, header and rows.
vf_rows() {
	awk '/^PF +IFACE +PCI +VF +VF-PCI/ { t = 1 } t' <<<"$output"
}

@test "status: the table lists every PF and VF with driver, MAC and VLAN" {
	host_three_pfs
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_stderr_empty
	assert_line --index 4 --regexp '^PF +IFACE +PCI +VF +VF-PCI +DRIVER +MAC +VLAN/QOS +SPOOF +TRUST +LINK +RATE +OWNER +DRIFT$'
	[ "${#lines[@]}" -eq 8 ]
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[*]}" "uplink enp1s0 $PF 0 $VF0 vfio-pci $M0 100/0/802.1Q on on auto 0/0 - -"
	read -ra r <<<"$(row $PF 1)"
	assert_equal "${r[*]}" "uplink enp1s0 $PF 1 $VF1 vfio-pci 02:11:22:33:44:55 100/0/802.1Q on on auto 0/0 - -"
	# Not in the policy: label '-', shown as the kernel has it, no drift.
	read -ra r <<<"$(row 0000:02:00.0 0)"
	assert_equal "${r[*]}" "- enp2s0 0000:02:00.0 0 0000:02:10.0 none 02:00:00:00:02:00 42/1/802.1Q on off auto 0/0 - -"
	# A PF without VFs has its summary line only.
	read -ra r <<<"$(summary 0000:03:00.0)"
	assert_equal "${r[*]}" "empty enp3s0 0000:03:00.0 ixgbe 0/0/4 up"
	[ -z "$(row 0000:03:00.0 -)" ]
}

@test "status: a live value that differs from the policy is marked '*' and named in DRIFT" {
	host_three_pfs
	fake_vf_state enp1s0 1 mac=02:11:22:33:44:55 vlan=200 trust=0
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	read -ra r <<<"$(row $PF 1)"
	assert_equal "${r[7]}" '200/0/802.1Q*'
	assert_equal "${r[9]}" 'off*'
	assert_equal "${r[6]}" '02:11:22:33:44:55'
	assert_equal "${r[-1]}" 'vlan,trust'
	# The VF that matches is not marked.
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[-1]}" '-'
	refute_output --partial "$M0*"
	[ "$(grep -c '\*' <<<"$output")" -eq 1 ]
}

@test "status: a wrong MAC and a wrong driver are drift" {
	host_three_pfs
	fake_vf_state enp1s0 0 mac=02:00:00:00:00:01 vlan=100 trust=1
	fake_vf $PF 1 "$VF1" igbvf 31
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[6]}" '02:00:00:00:00:01*'
	assert_equal "${r[-1]}" 'mac'
	read -ra r <<<"$(row $PF 1)"
	assert_equal "${r[5]}" 'igbvf*'
	assert_equal "${r[-1]}" 'vf-driver'
}

@test "status: after apply there is no drift left" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 5
spoofchk = off
EOF
	run vfw -c "$POLICY" status
	assert_success
	[ "$(vf_rows | awk 'NR > 1 && $NF != "-"' | wc -l)" -eq 2 ]
	run vfw -c "$POLICY" apply
	assert_success
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	refute_output --partial '*'
	[ "$(vf_rows | awk 'NR > 1 && $NF != "-"' | wc -l)" -eq 0 ]
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[7]} ${r[8]}" '5/0/802.1Q off'
}

@test "status: a VF count that differs from the policy is drift" {
	host_two_vfio_vfs
	fake_pf 0000:03:00.0 enp3s0 4 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 4
[pf empty]
device = enp3s0
vfs = 2
EOF
	fake_vf_state enp1s0 0 mac="$(auto_mac "$(pf_mac enp1s0)" 0)"
	fake_vf_state enp1s0 1 mac="$(auto_mac "$(pf_mac enp1s0)" 1)"
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	read -ra r <<<"$(summary 0000:03:00.0)"
	assert_equal "${r[4]}" '0/2/4*'
	# enp1s0 has 2 of the 4 VFs: its rows say so.
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[-1]}" 'vfs'
	run vfw -c "$POLICY" status --json
	assert_success
	python3 - "$output" <<'EOF'
import json, sys
pfs = {p["interface"]: p for p in json.loads(sys.argv[1])["pfs"]}
assert pfs["enp1s0"]["drift"] is True and pfs["enp1s0"]["numvfs"] == 2 and pfs["enp1s0"]["policy_vfs"] == 4
assert pfs["enp3s0"]["drift"] is True and pfs["enp3s0"]["vfs"] == []
EOF
}

@test "status: the owner of a VF in use is shown" {
	host_three_pfs
	fake_in_use 31 999 qemu-kvm
	fake_owner "$VF0" web1
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_equal "$(row $PF 0 | grep -o 'domain web1')" 'domain web1'
	assert_equal "$(row $PF 1 | grep -o 'pid 999 (qemu-kvm)')" 'pid 999 (qemu-kvm)'
}

@test "status --json: schema vfwarden-status/2 with PFs, VFs and drift" {
	host_three_pfs
	fake_vf_state enp1s0 1 mac=02:11:22:33:44:55 vlan=200 trust=1
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	assert_stderr_empty
	python3 - "$output" "$M0" <<'EOF'
import json, sys
doc = json.loads(sys.argv[1])
m0 = sys.argv[2]
assert doc["schema"] == "vfwarden-status/2", doc["schema"]
assert doc["policy_valid"] is True
pfs = doc["pfs"]
assert [p["pci"] for p in pfs] == ["0000:01:00.0", "0000:02:00.0", "0000:03:00.0"], pfs
up, other, empty = pfs
assert (up["label"], up["interface"], up["numvfs"]) == ("uplink", "enp1s0", 2)
assert (other["label"], other["interface"], other["numvfs"]) == (None, "enp2s0", 1)
assert (empty["label"], empty["interface"], empty["numvfs"], empty["vfs"]) == ("empty", "enp3s0", 0, [])
v0, v1 = up["vfs"]
assert (v0["mac"], v0["vlan"], v0["spoofchk"], v0["trust"], v0["driver"], v0["drift"]) == \
    (m0, 100, True, True, "vfio-pci", []), v0
assert (v1["mac"], v1["vlan"], v1["driver"], v1["drift"]) == ("02:11:22:33:44:55", 200, "vfio-pci", ["vlan"]), v1
(o0,) = other["vfs"]
assert (o0["mac"], o0["vlan"], o0["trust"], o0["driver"], o0["drift"]) == \
    ("02:00:00:00:02:00", 42, False, None, []), o0
assert o0["pci"] == "0000:02:10.0" and o0["index"] == 0
EOF
}

@test "status --json parses with jq too" {
	command -v jq >/dev/null || skip "jq not installed"
	host_three_pfs
	run vfw -c "$POLICY" status --json
	assert_success
	run jq -r '.schema, (.pfs[] | "\(.label) \(.interface) \(.pci) \(.numvfs) \([.vfs[].mac] | join(","))")' <<<"$output"
	assert_success
	assert_output - <<EOF
vfwarden-status/2
uplink enp1s0 $PF 2 $M0,02:11:22:33:44:55
null enp2s0 0000:02:00.0 1 02:00:00:00:02:00
empty enp3s0 0000:03:00.0 0 
EOF
}

@test "status: an invalid policy still shows the host, without labels, exit 1" {
	host_three_pfs
	echo 'vlan = 9999' >>"$POLICY"
	run --separate-stderr vfw -c "$POLICY" status
	assert_failure 1
	assert_stderr_line "$POLICY:11: invalid vlan '9999' (0-4095)"
	assert_stderr_contains 'showing the host without it'
	[ "${#lines[@]}" -eq 8 ]
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[0]} ${r[-1]}" '- -'
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_failure 1
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["policy_valid"] is False and d["pfs"][0]["label"] is None' "$output"
}

@test "status: a VF the netlink table does not show is all drift, values '-'" {
	host_two_vfio_vfs
	rm -f "$NL/enp1s0"
	fake_vf_state enp1s0 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
mac = none
EOF
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	read -ra r <<<"$(row $PF 1)"
	assert_equal "${r[6]} ${r[7]}" '- -'
	# Unknown attributes all drift; the driver is known from sysfs, mac = none asks nothing.
	[[ ${r[-1]} == vlan,*spoofchk* ]]
	[[ ${r[-1]} != *mac* && ${r[-1]} != *vf-driver* ]]
	read -ra r <<<"$(row $PF 0)"
	assert_equal "${r[6]} ${r[7]} ${r[-1]}" '00:00:00:00:00:00 0 -'
}

@test "status: no SR-IOV PF says so and points to doctor, not an empty table; status changes nothing" {
	policy </dev/null
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_stderr_empty
	assert_line --index 0 --partial 'No SR-IOV PF on this host'
	assert_output --partial "Run 'vfwarden doctor' to see why"
	refute_output --regexp '^PF +IFACE'
	host_three_pfs
	before=$(tree_sum)
	run vfw -c "$POLICY" status
	run vfw -c "$POLICY" status --json
	assert_success
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ ! -e "$ROOT/run/vfwarden/lock" ]
}

@test "status PF: a PF neither on the host nor in the policy is an error (exit 3)" {
	policy </dev/null
	run --separate-stderr vfw -c "$POLICY" status enp1s0
	assert_failure 3
	assert_stderr_contains "vfwarden: no SR-IOV PF 'enp1s0' on this host or in the policy"
}

@test "status: one summary line per PF: label, interface, PCI, driver, VFs present/wanted/max, link" {
	host_three_pfs
	fake_pf 0000:04:00.0 enp4s0 8 0 ixgbe
	echo 0 >"$SYS/class/net/enp4s0/carrier"
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --index 0 --regexp '^PF +IFACE +PCI +DRIVER +VFS +LINK$'
	read -ra r <<<"$(summary enp1s0)"
	assert_equal "${r[*]}" "uplink enp1s0 $PF igb 2/2/7 up"
	# unmanaged: no wanted count
	read -ra r <<<"$(summary enp2s0)"
	assert_equal "${r[*]}" "- enp2s0 0000:02:00.0 igb 1/-/7 up"
	read -ra r <<<"$(summary enp3s0)"
	assert_equal "${r[*]}" "empty enp3s0 0000:03:00.0 ixgbe 0/0/4 up"
	read -ra r <<<"$(summary enp4s0)"
	assert_equal "${r[*]}" "- enp4s0 0000:04:00.0 ixgbe 0/-/8 no-carrier"
	# four PFs, then the VF table
	[ "$(awk 'NF == 0 { exit } NR > 1' <<<"$output" | wc -l)" -eq 4 ]
}

@test "status: a PF the policy names that is absent is shown absent (table and JSON)" {
	host_three_pfs
	cat >>"$POLICY" <<'EOF'
[pf gone]
device = enp9s0
vfs = 4
[pf gonepci]
device = 0000:09:00.0
vfs = 1
EOF
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	read -ra r <<<"$(summary gone)"
	assert_equal "${r[*]}" "gone enp9s0 - - -/4/- absent"
	read -ra r <<<"$(summary gonepci)"
	assert_equal "${r[*]}" "gonepci - 0000:09:00.0 - -/1/- absent"
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["absent_pfs"] == [{"label": "gone", "device": "enp9s0", "selected_by": None, "policy_vfs": 4},
                           {"label": "gonepci", "device": "0000:09:00.0", "selected_by": None, "policy_vfs": 1}], d["absent_pfs"]
assert [p["label"] for p in d["pfs"]] == ["uplink", None, "empty"]' "$output"
	# no PF on the host at all: the sentence, then the absent PFs
	rm -rf "${SYS:?}/bus/pci/devices"/* "${SYS:?}/class/net"/*
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --index 0 --partial 'No SR-IOV PF on this host'
	read -ra r <<<"$(awk '/^uplink /' <<<"$output")"
	assert_equal "${r[*]}" "uplink enp1s0 - - -/2/- absent"
}

@test "status: columns fit long interface names (mlx5's enp65s0f0np0)" {
	host_three_pfs
	fake_pf 0000:41:00.0 enp65s0f0np0 8 1 mlx5_core
	fake_vf 0000:41:00.0 0 0000:41:00.2 none 50
	fake_vf_state enp65s0f0np0 0 mac=02:00:00:00:41:00
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	# every column starts where its header does, in both tables
	python3 - "$output" <<'EOF'
import re, sys
for table in sys.argv[1].split("\n\n"):
    rows = table.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", rows[0])]
    for row in rows[1:]:
        got = [m.start() for m in re.finditer(r"\S+", row.replace("domain ", "domain_"))]
        assert got[:len(starts)] == starts, (rows[0], row)
EOF
	read -ra r <<<"$(summary enp65s0f0np0)"
	assert_equal "${r[*]}" "- enp65s0f0np0 0000:41:00.0 mlx5_core 1/-/8 up"
	read -ra r <<<"$(row 0000:41:00.0 0)"
	assert_equal "${r[1]} ${r[4]}" "enp65s0f0np0 0000:41:00.2"
}

@test "status PF...: only the PFs named (interface, PCI address, sysfs path, MAC, label), in every format" {
	host_three_pfs
	for spec in enp2s0 0000:02:00.0 /sys/bus/pci/devices/0000:02:00.0 /sys/class/net/enp2s0/ "$(pf_mac enp2s0)"; do
		run --separate-stderr vfw -c "$POLICY" status "$spec"
		assert_success
		[ "$(awk 'NF == 0 { exit } NR > 1' <<<"$output" | wc -l)" -eq 1 ]
		[ -n "$(summary enp2s0)" ]
		[ -n "$(row 0000:02:00.0 0)" ]
		[ -z "$(summary enp1s0)" ] && [ -z "$(row $PF 0)" ]
	done
	# by label, several, options after the operands
	run --separate-stderr vfw -c "$POLICY" status empty uplink --json
	assert_success
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [p["interface"] for p in d["pfs"]] == ["enp1s0", "enp3s0"], d' "$output"
	run --separate-stderr vfw -c "$POLICY" status enp3s0 --prometheus
	assert_success
	assert_output --partial 'vfwarden_pf_vfs{device="enp3s0",pci="0000:03:00.0",label="empty"} 0'
	refute_output --partial 'vfwarden_pf_vfs{device="enp1s0"'
	# one unknown: an error, the others still shown
	run --separate-stderr vfw -c "$POLICY" status enp1s0 enp7s0
	assert_failure 3
	assert_stderr_contains "no SR-IOV PF 'enp7s0'"
	[ -n "$(summary enp1s0)" ] && [ -z "$(summary enp2s0)" ]
}

@test "status --json: owner is an object: a domain (from the hook's record) or a process" {
	host_three_pfs
	fake_in_use 31 999 qemu-system-x86
	fake_owner "$VF0" web1
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	python3 -c '
import json, sys
pfs = json.loads(sys.argv[1])["pfs"]
v0, v1 = pfs[0]["vfs"]
assert v0["owner"] == {"kind": "domain", "name": "web1"} and v0["in_use"], v0
assert v1["owner"] == {"kind": "process", "pid": 999, "comm": "qemu-system-x86"} and v1["in_use"], v1
assert pfs[1]["vfs"][0]["owner"] is None' "$output"
	# a domain whose QEMU holds the group: both
	fake_in_use 30 1234 qemu-kvm
	run --separate-stderr vfw -c "$POLICY" status --json
	python3 -c '
import json, sys
v0 = json.loads(sys.argv[1])["pfs"][0]["vfs"][0]
assert v0["owner"] == {"kind": "domain", "name": "web1", "pid": 1234, "comm": "qemu-kvm"}, v0' "$output"
}
