#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2
# The core on a real kernel: emulated igb (82576) PFs behind an emulated
# Intel IOMMU. Every result is read back from sysfs and rtnetlink.

load helpers

setup() {
	vm_setup
	vm_reset
}

@test "apply creates VFs, binds vfio-pci with autoprobe off, sets attributes" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 4
[vf a 1]
mac = 02:11:22:33:44:55
vlan = 100
qos = 2
[vf a 2]
spoofchk = off
trust = on
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "a: vfs 0 -> 4"
	assert_equal "$(numvfs "$PF0_PCI")" 4
	assert_equal "$(autoprobe "$PF0_PCI")" 0
	for i in 0 1 2 3; do
		assert_equal "$(vf_driver "$PF0_PCI" $i)" vfio-pci
		[ ! -e "/sys/bus/pci/devices/$(vf_pci "$PF0_PCI" $i)/net" ]
	done
	assert_equal "$(vf_attr "$PF0" 1 mac)" 02:11:22:33:44:55
	assert_equal "$(vf_attr "$PF0" 1 vlan)" 100
	assert_equal "$(vf_attr "$PF0" 1 qos)" 2
	assert_equal "$(vf_attr "$PF0" 2 spoofchk)" false
	assert_equal "$(vf_attr "$PF0" 2 trust)" true
	assert_equal "$(vf_attr "$PF0" 0 spoofchk)" true
	assert_equal "$(vf_attr "$PF0" 0 trust)" false
	assert_equal "$(vf_attr "$PF0" 0 vlan)" 0
	# the other PF is not in the policy: untouched
	assert_equal "$(numvfs "$PF1_PCI")" 0
}

@test "mac = auto is the documented hash of the permanent MAC and index" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 3
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	perm=$(perm_mac "$PF0")
	for i in 0 1 2; do
		assert_equal "$(vf_attr "$PF0" $i mac)" "$(auto_mac "$perm" $i)"
	done
	# the same after the VFs are gone and made again, as on the next boot
	echo 0 > /sys/bus/pci/devices/$PF0_PCI/sriov_numvfs
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_attr "$PF0" 2 mac)" "$(auto_mac "$perm" 2)"
}

@test "a second apply makes zero writes and says so; --dry-run writes nothing" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vlan = 7
[pf b]
device = $PF1_PCI
vfs = 1
vf-driver = kernel
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "no changes"
	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" 0

	echo 0 > /sys/bus/pci/devices/$PF0_PCI/sriov_numvfs
	run "$VFWARDEN" -c "$POLICY" apply --dry-run
	assert_success
	assert_output --partial "a: vfs 0 -> 2"
	assert_output --partial "dry run"
	assert_equal "$(numvfs "$PF0_PCI")" 0
	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply --dry-run)" 0
	# the counter sees real writes: the same apply, not dry, makes some
	[ "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" -gt 3 ]
	assert_equal "$(numvfs "$PF0_PCI")" 2
}

@test "the VF count changes N -> M through 0" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 4
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	sed -i 's/vfs = 4/vfs = 2/' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "a: vfs 4 -> 2"
	assert_equal "$(numvfs "$PF0_PCI")" 2
	assert_equal "$(vf_driver "$PF0_PCI" 1)" vfio-pci
}

@test "a VF whose vfio group is open is never destroyed without --force" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 3
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	g=$(vf_group "$PF0_PCI" 1)
	sleep 300 3<> /dev/vfio/$g &
	holder=$!
	sed -i 's/vfs = 3/vfs = 1/' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	assert_output --partial "in use by pid $holder"
	assert_equal "$(numvfs "$PF0_PCI")" 3
	kill $holder; wait $holder 2>/dev/null || true
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 1
}

@test "--force changes the count even with a VF in use" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
EOF
	"$VFWARDEN" -c "$POLICY" apply
	g=$(vf_group "$PF0_PCI" 0)
	sleep 300 3<> /dev/vfio/$g &
	holder=$!
	sed -i 's/vfs = 2/vfs = 3/' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply --force
	kill $holder; wait $holder 2>/dev/null || true
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 3
}

@test "vfs above sriov_totalvfs is refused before any write" {
	assert_equal "$(cat /sys/bus/pci/devices/$PF0_PCI/sriov_totalvfs)" 7
	policy <<EOF
[pf a]
device = $PF0
vfs = 8
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	assert_output --partial "above sriov_totalvfs 7"
	assert_equal "$(numvfs "$PF0_PCI")" 0
}

@test "igb refuses link-state and 802.1ad: named per VF and attribute, the rest applied" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
trust = on
[vf a 0]
link-state = disable
vlan = 30
[vf a 1]
vlan = 40
vlan-proto = 802.1ad
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	assert_output --partial "a vf0 link-state: not supported by igb"
	assert_output --partial "a vf1 vlan-proto:"
	assert_equal "$(vf_attr "$PF0" 0 vlan)" 30
	assert_equal "$(vf_attr "$PF0" 0 trust)" true
	assert_equal "$(vf_attr "$PF0" 1 trust)" true
	assert_equal "$(vf_attr "$PF0" 0 link_state)" auto
}

@test "apply --json: each change it lists is what the kernel reads back; igb's refusal has its errno name" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
trust = on
[vf a 0]
vlan = 30
link-state = disable
[vf a 1]
mac = 02:11:22:33:44:66
spoofchk = off
EOF
	doc=$BATS_TEST_TMPDIR/apply.json
	rc=0
	"$VFWARDEN" -c "$POLICY" apply --json > "$doc" 2> "$BATS_TEST_TMPDIR/stderr" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(jq -c '[.schema, .dry_run, .status]' "$doc")" '["vfwarden-apply/1",false,3]'
	assert_equal "$(jq -r '.changes[] | select(.key == "vfs") | "\(.vf) \(.old) \(.new)"' "$doc")" "null 0 2"
	assert_equal "$(numvfs "$PF0_PCI")" 2
	assert_equal "$(jq -r '[.changes[] | select(.key == "vf-driver") | "\(.vf) \(.new)"] | join(",")' "$doc")" \
		"0 vfio-pci,1 vfio-pci"
	assert_equal "$(vf_driver "$PF0_PCI" 0) $(vf_driver "$PF0_PCI" 1)" "vfio-pci vfio-pci"
	assert_equal "$(jq -c '[.failures[] | [.vf, .key, .errno]]' "$doc")" '[[0,"link-state","EOPNOTSUPP"]]'
	# every VF attribute change against rtnetlink, in one read
	ip -j -d link show dev "$PF0" > "$BATS_TEST_TMPDIR/link.json"
	run python3 - "$doc" "$BATS_TEST_TMPDIR/link.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
vfs = {v["vf"]: v for v in json.load(open(sys.argv[2]))[0]["vfinfo_list"]}
def kernel(i, key):
    v = vfs[i]
    vl = (v.get("vlan_list") or [{}])[0]
    return {"mac": v["address"], "trust": "on" if v["trust"] else "off",
            "spoofchk": "on" if v["spoofchk"] else "off",
            "vlan": "%d qos %d %s" % (vl.get("vlan", 0), vl.get("qos", 0), vl.get("protocol", "802.1Q")),
            "link-state": v["link_state"]}[key]
seen = []
for c in doc["changes"]:
    if c["vf"] is None or c["key"] in ("vf-driver",):
        continue
    assert kernel(c["vf"], c["key"]) == c["new"], (c, kernel(c["vf"], c["key"]))
    seen.append("%d %s" % (c["vf"], c["key"]))
assert kernel(0, "link-state") == "auto"
print(" ".join(sorted(seen)))
PY
	assert_success
	assert_output "0 mac 0 trust 0 vlan 1 mac 1 spoofchk 1 trust"
}

@test "max-tx-rate is applied once the igb PF link is up" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
[vf a 1]
max-tx-rate = 100
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(cat /sys/class/net/$PF0/operstate)" up
	assert_equal "$(vf_attr "$PF0" 1 max_tx)" 100
	assert_equal "$(vf_attr "$PF0" 0 max_tx)" 0
}

@test "vf-driver = kernel: autoprobe on, igbvf bound, its netdev has the policy MAC" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vf-driver = kernel
[vf a 1]
mac = 02:aa:bb:cc:dd:01
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(autoprobe "$PF0_PCI")" 1
	assert_equal "$(vf_driver "$PF0_PCI" 1)" igbvf
	net=$(ls /sys/bus/pci/devices/$(vf_pci "$PF0_PCI" 1)/net)
	assert_equal "$(cat /sys/class/net/$net/address)" 02:aa:bb:cc:dd:01
	# moving to vfio-pci rebinds without recreating
	sed -i 's/vf-driver = kernel/vf-driver = vfio-pci/' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_driver "$PF0_PCI" 0)" vfio-pci
	assert_equal "$(vf_driver "$PF0_PCI" 1)" vfio-pci
}

@test "apply PF... converges only the PFs named (by PCI address, sysfs path)" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 1
[pf b]
device = $PF1
vfs = 1
EOF
	run "$VFWARDEN" -c "$POLICY" apply "$PF1_PCI"
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 0
	assert_equal "$(numvfs "$PF1_PCI")" 1
	run "$VFWARDEN" -c "$POLICY" apply "/sys/class/net/$PF0"
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 1
}

@test "an invalid policy changes nothing on the host" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vlan = 4096
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_failure 1
	assert_output --partial "$POLICY:4: invalid vlan '4096'"
	assert_equal "$(numvfs "$PF0_PCI")" 0
}

@test "status reports the kernel's state and drift" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vlan = 5
EOF
	"$VFWARDEN" -c "$POLICY" apply
	ip link set "$PF0" vf 1 vlan 6
	run "$VFWARDEN" -c "$POLICY" status --json
	assert_success
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
pf = [p for p in d["pfs"] if p["label"] == "a"][0]
assert pf["numvfs"] == 2, pf
assert pf["vfs"][0]["vlan"] == 5 and pf["vfs"][0]["drift"] == [], pf["vfs"][0]
assert pf["vfs"][1]["vlan"] == 6 and pf["vfs"][1]["drift"] == ["vlan"], pf["vfs"][1]
assert pf["vfs"][0]["driver"] == "vfio-pci"
'
	run "$VFWARDEN" -c "$POLICY" status
	assert_success
	assert_line --regexp "^a +$PF0 .* 6/0/802.1Q\* .* vlan$"
}

# Issue 15 item 7: a VF on igbvf that carries host traffic is in use.
# kvf_setup: PF0 with 2 VFs on their kernel driver; KNET is VF1's netdev.
kvf_setup() {
	policy <<EOF2
[pf a]
device = $PF0
vfs = 2
vf-driver = kernel
EOF2
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_driver "$PF0_PCI" 1)" igbvf
	KNET=$(ls "/sys/bus/pci/devices/$(vf_pci "$PF0_PCI" 1)/net")
	[ -n "$KNET" ]
	sed -i 's/vfs = 2/vfs = 1/' "$POLICY"
}

@test "igbvf VF up with a global address: lowering vfs is refused (exit 3) unless --force" {
	kvf_setup
	ip link set "$KNET" up
	ip addr add 192.0.2.5/24 dev "$KNET"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	assert_output --partial "vf1 ($(vf_pci "$PF0_PCI" 1)) is in use: $KNET has address 192.0.2.5/24"
	assert_equal "$(numvfs "$PF0_PCI")" 2
	assert_equal "$(vf_driver "$PF0_PCI" 1)" igbvf
	run "$VFWARDEN" -c "$POLICY" apply --force
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 1
}

@test "igbvf VF enslaved to a bridge blocks lowering vfs; link-local only does not" {
	kvf_setup
	ip link add vfwbr0 type bridge
	ip link set "$KNET" master vfwbr0
	run "$VFWARDEN" -c "$POLICY" apply
	ip link del vfwbr0
	assert_failure 3
	assert_output --partial "is in use: $KNET is a port of vfwbr0"
	assert_equal "$(numvfs "$PF0_PCI")" 2
	# Out of the bridge, up, with a link-local address only: not in use.
	ip link set "$KNET" up
	ip addr add fe80::5/64 dev "$KNET"
	[ -z "$(ip -o addr show dev "$KNET" scope global)" ]
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 1
}

# vf-driver transitions (issue 15, item 11). _vfd_step NAME VFS D0 D1 ...:
# apply a policy of VFS VFs on PF0, VF i on vf-driver Di, then read the kernel
# back: apply's status, each VF's driver (kernel = igbvf), autoprobe (1 only
# when every VF is on the kernel driver), and that a VF on none stays unbound
# when something probes it. What is wrong is added to $vfd_failed, by step,
# so that one run names every transition that fails.
_vfd_step() {
	local name=$1 vfs=$2 i d want got bad='' ap=1
	shift 2
	{
		printf '[pf a]\ndevice = %s\nvfs = %s\n' "$PF0" "$vfs"
		for ((i = 0; i < vfs; i++)); do
			printf '[vf a %s]\nvf-driver = %s\n' "$i" "${@:i+1:1}"
		done
	} > "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	[ "$status" = 0 ] || bad+=" exit $status (${output//$'\n'/ | })"
	[ "$(numvfs "$PF0_PCI")" = "$vfs" ] || bad+=" numvfs $(numvfs "$PF0_PCI")"
	for ((i = 0; i < vfs; i++)); do
		d=${*:i+1:1}
		want=$d
		[ "$d" = kernel ] && want=igbvf || ap=0
		got=$(vf_driver "$PF0_PCI" $i)
		[ "$got" = "$want" ] || bad+=" vf$i $got"
		if [ "$d" = none ] && [ "$got" = none ]; then
			echo "$(vf_pci "$PF0_PCI" $i)" 2>/dev/null > /sys/bus/pci/drivers_probe || true
			got=$(vf_driver "$PF0_PCI" $i)
			[ "$got" = none ] || bad+=" vf$i probed: $got"
		fi
	done
	[ "$(autoprobe "$PF0_PCI")" = $ap ] || bad+=" autoprobe $(autoprobe "$PF0_PCI")"
	[ -z "$bad" ] || vfd_failed+="$name:$bad"$'\n'
}

@test "vf-driver: every transition of a PF's VFs, with and without a count change" {
	local s=$SECONDS prev=vfio-pci n=2 d
	vfd_failed=
	_vfd_step "fresh vfio-pci" 2 vfio-pci vfio-pci
	# v>k, k>n, n>v, v>n, n>k, k>v: every ordered pair once, VFs kept
	for d in kernel none vfio-pci none kernel vfio-pci; do
		_vfd_step "$prev->$d" 2 $d $d
		prev=$d
	done
	# the same with the count changing at every step
	for d in kernel none vfio-pci none kernel vfio-pci; do
		n=$((5 - n))
		_vfd_step "$prev->$d, vfs $((5 - n))->$n" $n $d $d $d
		prev=$d
	done
	echo "# $((SECONDS - s)) s" >&3
	[ -z "$vfd_failed" ] || fail "failed transitions:"$'\n'"$vfd_failed"
}

@test "vf-driver: every transition within a mixed policy (autoprobe 0), with and without a count change" {
	local s=$SECONDS vf
	vfd_failed=
	_vfd_step "fresh v,k,n" 3 vfio-pci kernel none
	# vf0 v>k, vf1 k>n, vf2 n>v; then back: vf0 k>v, vf1 n>k, vf2 v>n
	_vfd_step "v,k,n->k,n,v" 3 kernel none vfio-pci
	_vfd_step "k,n,v->v,k,n" 3 vfio-pci kernel none
	_vfd_step "v,k,n->k,n,v, vfs 3->4" 4 kernel none vfio-pci kernel
	_vfd_step "k,n,v,k->n,v,k, vfs 4->3" 3 none vfio-pci kernel
	# with autoprobe 0, the kernel VF comes back to igbvf when probed again
	vf=$(vf_pci "$PF0_PCI" 2)
	echo "$vf" 2>/dev/null > /sys/bus/pci/drivers/igbvf/unbind || true
	echo "$vf" > /sys/bus/pci/drivers_probe || true
	[ "$(vf_driver "$PF0_PCI" 2)" = igbvf ] || vfd_failed+="vf2 not probed again: $(vf_driver "$PF0_PCI" 2)"$'\n'
	echo "# $((SECONDS - s)) s" >&3
	[ -z "$vfd_failed" ] || fail "failed transitions:"$'\n'"$vfd_failed"
}

# link_of IF: the PF's link as the kernel has it (down, no-carrier, up).
link_of() {
	if ! ip -o link show dev "$1" | grep -q '<[^>]*\bUP\b'; then
		echo down
	elif [ "$(cat "/sys/class/net/$1/carrier")" = 1 ]; then
		echo up
	else
		echo no-carrier
	fi
}

@test "status: one line per PF with sysfs's VF counts, status PF filters, an absent PF is shown absent" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 3
[pf b]
device = $PF1_PCI
vfs = 1
[pf gone]
device = enp250s0
vfs = 2
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	# b's count changed behind vfwarden's back (igb: through 0)
	echo 0 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
	echo 2 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
	# igb resets the PF's link when its VF count changes: carrier comes back
	# about 1.5 s later under TCG; read status once it has settled
	for _ in $(seq 50); do
		[ "$(cat "/sys/class/net/$PF1/carrier" 2>/dev/null)" = 1 ] && break
		sleep 0.2
	done
	total0=$(cat "/sys/bus/pci/devices/$PF0_PCI/sriov_totalvfs")
	total1=$(cat "/sys/bus/pci/devices/$PF1_PCI/sriov_totalvfs")
	run "$VFWARDEN" -c "$POLICY" status
	assert_success
	assert_line --index 0 --regexp '^PF +IFACE +PCI +DRIVER +VFS +LINK$'
	pfs=$(awk 'NF == 0 { exit } NR > 1' <<<"$output")
	[ "$(wc -l <<<"$pfs")" -eq 3 ]
	read -ra r <<<"$(awk -v k="$PF0_PCI" '$3 == k' <<<"$pfs")"
	assert_equal "${r[*]}" "a $PF0 $PF0_PCI igb $(numvfs "$PF0_PCI")/3/$total0 $(link_of "$PF0")"
	read -ra r <<<"$(awk -v k="$PF1_PCI" '$3 == k' <<<"$pfs")"
	assert_equal "${r[*]}" "b $PF1 $PF1_PCI igb $(numvfs "$PF1_PCI")/1/$total1* $(link_of "$PF1")"
	read -ra r <<<"$(awk '$1 == "gone"' <<<"$pfs")"
	assert_equal "${r[*]}" "gone enp250s0 - - -/2/- absent"
	# the VF table: one row per VF sysfs has
	assert_equal "$(awk -v k="$PF0_PCI" '$3 == k && $4 ~ /^[0-9]+$/' <<<"$output" | wc -l)" "$(numvfs "$PF0_PCI")"
	assert_equal "$(awk -v k="$PF1_PCI" '$3 == k && $4 ~ /^[0-9]+$/' <<<"$output" | wc -l)" "$(numvfs "$PF1_PCI")"

	# status PF: that PF alone, by PCI address, sysfs path or label
	for spec in "$PF1_PCI" "/sys/class/net/$PF1" b; do
		run "$VFWARDEN" -c "$POLICY" status "$spec"
		assert_success
		pfs=$(awk 'NF == 0 { exit } NR > 1' <<<"$output")
		assert_equal "$(awk '{ print $3 }' <<<"$pfs")" "$PF1_PCI"
		[ -z "$(awk -v k="$PF0_PCI" '$3 == k' <<<"$output")" ]
	done
	run "$VFWARDEN" -c "$POLICY" status gone --json
	assert_success
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["schema"] == "vfwarden-status/2" and d["pfs"] == [], d
assert d["absent_pfs"] == [{"label": "gone", "device": "enp250s0", "selected_by": None, "policy_vfs": 2}], d' "$output"
	run "$VFWARDEN" -c "$POLICY" status enp251s0
	assert_failure 3
}

# vf_drivers PF-ADDR: the driver of each of its VFs, on one line
vf_drivers() {
	local i out=
	for ((i = 0; i < $(numvfs "$1"); i++)); do
		out+="$(vf_driver "$1" $i) "
	done
	echo "$out"
}

@test "manage = no: apply, apply PF and the installed hook leave a hand-set VF count and VLAN alone; manage = yes converges" {
	local hook=/etc/libvirt/hooks/qemu.d/vfwarden conf=/etc/vfwarden/vfwarden.conf
	local xml=$BATS_TEST_TMPDIR/vm1.xml vf attrs drivers flags
	# by hand: 2 VFs left without a driver (no igbvf probe: seconds under TCG),
	# VF 1 on VLAN 42, the PF left down
	echo 0 > "/sys/bus/pci/devices/$PF0_PCI/sriov_drivers_autoprobe"
	echo 2 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	ip link set "$PF0" vf 1 vlan 42
	policy <<EOF
[pf a]
device = $PF0
vfs = 1
vlan = 100
manage = no
EOF
	attrs=$(vf_attrs "$PF0" mac vlan spoofchk trust)
	drivers=$(vf_drivers "$PF0_PCI")
	flags=$(cat "/sys/class/net/$PF0/flags")
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "a: manage = no at $POLICY:5, $PF0_PCI left alone"
	run "$VFWARDEN" -c "$POLICY" apply "$PF0_PCI"
	assert_success
	# the installed hook, as libvirt runs it, for a domain on VF 0
	[ ! -e "$conf" ] || cp -a "$conf" "$BATS_TEST_TMPDIR/conf.orig"
	install -D -m 0644 "$POLICY" "$conf"
	vf=$(vf_pci "$PF0_PCI" 0)
	cat > "$xml" <<EOF
<domain type='qemu'><name>vm1</name><devices>
  <interface type='hostdev' managed='yes'>
    <mac address='52:54:00:aa:bb:01'/>
    <source><address type='pci' domain='0x${vf:0:4}' bus='0x${vf:5:2}' slot='0x${vf:8:2}' function='0x${vf:11:1}'/></source>
    <vlan><tag id='7'/></vlan>
  </interface>
</devices></domain>
EOF
	run sh -c "exec $hook vm1 prepare begin - < $xml"
	assert_success
	[ ! -e "/run/vfwarden/vf/$vf" ]
	run sh -c "exec $hook vm1 release end - < $xml"
	assert_success
	if [ -e "$BATS_TEST_TMPDIR/conf.orig" ]; then cp -a "$BATS_TEST_TMPDIR/conf.orig" "$conf"; else rm -f "$conf"; fi
	# read back: count, drivers, every VF's settings, the PF's link
	assert_equal "$(numvfs "$PF0_PCI")" 2
	assert_equal "$(vf_drivers "$PF0_PCI")" "$drivers"
	assert_equal "$drivers" "none none "
	assert_equal "$(vf_attrs "$PF0" mac vlan spoofchk trust)" "$attrs"
	assert_equal "$(vf_attr "$PF0" 1 vlan)" 42
	assert_equal "$(cat "/sys/class/net/$PF0/flags")" "$flags"
	# manage = yes: the next apply converges as usual
	sed -i '/^manage = no$/d' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 1
	assert_equal "$(vf_drivers "$PF0_PCI")" "vfio-pci "
	vfs_have "$PF0" 1 "100" vlan
}

@test "show --json names the real PF, and apply writes the settings it shows" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vlan = 100
[vf a 1]
mac = 02:11:22:33:44:66
trust = on
spoofchk = off
EOF
	run "$VFWARDEN" -c "$POLICY" show --json
	assert_success
	local doc=$output
	run jq -r '.pfs[0] | "\(.state) \(.pf.interface) \(.pf.pci) \(.pf.driver) \(.why[0].matched) \(.settings.vfs.value)"' <<<"$doc"
	assert_output "matched $PF0 $PF0_PCI igb interface name 2"
	# "IDX vlan qos trust spoofchk" per VF, the ranges expanded, as vf_attrs prints them
	shown=$(jq -r '.pfs[0].vfs[] | . as $g | range(.first; .last + 1) |
		"\(.) \($g.settings.vlan.value) \($g.settings.qos.value) \($g.settings.trust.value) \($g.settings.spoofchk.value)"' <<<"$doc")
	assert_equal "$(wc -l <<<"$shown")" 2
	mac1=$(jq -r '.pfs[0].vfs[] | select(.first <= 1 and .last >= 1) | .settings.mac.value' <<<"$doc")
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_attrs "$PF0" vlan qos trust spoofchk)" "$shown"
	assert_equal "$(vf_attr "$PF0" 1 mac)" "$mac1"
}

# The PCI IDs of a PF as pci-id = writes them, from sysfs (QEMU's igb: 8086:10c9).
pci_id_of() {
	local v d
	read -r v < "/sys/bus/pci/devices/$1/vendor"
	read -r d < "/sys/bus/pci/devices/$1/device"
	echo "${v#0x}:${d#0x}"
}

@test "selectors: driver = igb governs both igb PFs but the one a device section names; pci-id selects by IDs" {
	policy <<EOF
[pf ports]
driver = igb
vfs = 2
vlan = 100
[pf special]
device = $PF1
vfs = 1
vlan = 300
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "ports/$PF0: vfs 0 -> 2"
	assert_output --partial "special: vfs 0 -> 1"
	assert_equal "$(numvfs "$PF0_PCI") $(numvfs "$PF1_PCI")" "2 1"
	assert_equal "$(vf_attrs "$PF0" vlan)" $'0 100\n1 100'
	assert_equal "$(vf_attr "$PF1" 0 vlan)" 300
	# mac = auto derives from this PF's own permanent MAC
	assert_equal "$(vf_attr "$PF0" 1 mac)" "$(auto_mac "$(perm_mac "$PF0")" 1)"
	# pci-id: the same IDs on both PFs, the device section still wins
	assert_equal "$(pci_id_of "$PF0_PCI")" "$(pci_id_of "$PF1_PCI")"
	policy <<EOF
[pf ids]
pci-id = $(pci_id_of "$PF0_PCI")
vfs = 2
vlan = 100
trust = on
[pf special]
device = $PF1
vfs = 1
vlan = 300
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_attrs "$PF0" trust)" $'0 true\n1 true'
	assert_equal "$(vf_attr "$PF1" 0 trust)" false
	assert_equal "$(numvfs "$PF0_PCI") $(numvfs "$PF1_PCI")" "2 1"
}

@test "selectors: two selector sections on one PF: check names both lines, apply changes nothing on it" {
	echo 1 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	policy <<EOF
[pf ports]
driver = igb
vfs = 2
vlan = 100
[pf ids]
pci-id = $(pci_id_of "$PF0_PCI")
vfs = 3
[pf special]
device = $PF1
vfs = 1
EOF
	run "$VFWARDEN" -c "$POLICY" check
	assert_failure 1
	assert_output --partial "$POLICY:6: [pf ids] selects $PF0_PCI ($PF0) on this host, and so does [pf ports] ($POLICY:2)"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	# the kernel's PF0: one VF as before, its vlan untouched; PF1 converged
	assert_equal "$(numvfs "$PF0_PCI")" 1
	assert_equal "$(vf_attr "$PF0" 0 vlan)" 0
	assert_equal "$(numvfs "$PF1_PCI")" 1
}

# Issue 18 item 3: mtu. link_mtu NETDEV [KEY]: mtu (or max_mtu, min_mtu) as
# rtnetlink reports it through `ip -j -d link show` (sed: no python start).
link_mtu() {
	ip -j -d link show dev "$1" | sed -n "s/.*\"${2:-mtu}\":\\([0-9]*\\).*/\\1/p"
}
# vf_net IDX: the netdev of PF0's VF IDX (igbvf)
vf_net() {
	local d
	for d in "/sys/bus/pci/devices/$(vf_pci "$PF0_PCI" "$1")"/net/*; do
		echo "${d##*/}"
	done
}

@test "mtu: the igb PF's and its igbvf VFs' MTU, raised then lowered; above max_mtu refused before any write" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 2
vf-driver = kernel
mtu = 9000
[pf b]
device = $PF1
vfs = 0
EOF
	ip link set dev "$PF0" mtu 1500
	mtu1=$(link_mtu "$PF1")
	# raised: the PF before its VFs (created, then rebound for their MAC, first)
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	pfl=$(grep -n '^a: mtu 1500 -> 9000$' <<<"$output" | cut -d: -f1)
	vfl=$(grep -n '^a vf[01]: mtu 1500 -> 9000$' <<<"$output" | cut -d: -f1 | tr '\n' ' ')
	[ -n "$pfl" ] && [ "$vfl" = "$((pfl + 1)) $((pfl + 2)) " ]
	assert_equal "$(link_mtu "$PF0")" 9000
	assert_equal "$(vf_driver "$PF0_PCI" 0) $(vf_driver "$PF0_PCI" 1)" "igbvf igbvf"
	assert_equal "$(link_mtu "$(vf_net 0)") $(link_mtu "$(vf_net 1)")" "9000 9000"
	# a PF whose policy has no mtu is not touched
	assert_equal "$(link_mtu "$PF1")" "$mtu1"
	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" 0

	# lowered: the VFs before the PF
	sed -i 's/^mtu = 9000/mtu = 1400/' "$POLICY"
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_line --index 0 'a vf0: mtu 9000 -> 1400'
	assert_line --index 1 'a vf1: mtu 9000 -> 1400'
	assert_line --index 2 'a: mtu 9000 -> 1400'
	assert_equal "$(link_mtu "$PF0") $(link_mtu "$(vf_net 0)") $(link_mtu "$(vf_net 1)")" "1400 1400 1400"

	# one above the PF's max_mtu (igb: 9216), with a count change too: refused, nothing written
	max=$(link_mtu "$PF0" max_mtu)
	[ -n "$max" ] && [ "$max" -gt 1400 ]
	sed -i "s/^mtu = 1400/mtu = $((max + 1))/; s/^vfs = 2/vfs = 3/" "$POLICY"
	run --separate-stderr "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	grep -Fxq "a: mtu $((max + 1)) is above the maximum $max of $PF0; PF left alone" <<<"$stderr"
	assert_equal "$(link_mtu "$PF0") $(link_mtu "$(vf_net 0)") $(numvfs "$PF0_PCI")" "1400 1400 2"
	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" 0
	ip link set dev "$PF0" mtu 1500
}
