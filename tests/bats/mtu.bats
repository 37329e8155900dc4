#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# mtu = N (issue 18 item 3) on a fake host: the PF's MTU and that of its
# VFs' netdevs on a kernel driver. The fake keeps a netdev's MTU in
# $SYS/class/net/IFNAME/mtu and its range in $NL/IFNAME.mtu-range
# (tests/fake/backend-fake.c); every write is a line "IFNAME mtu N" in the log.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	VF0=$(vf_pci $PF 0)
	VF1=$(vf_pci $PF 1)
}

# fake_vf_netdev VF_PCI IFNAME: the VF's netdev (up, no address), MTU 1500.
fake_vf_netdev() {
	local d=$SYS/bus/pci/devices/$1/net/$2
	mkdir -p "$d"
	echo 0x1003 >"$d/flags"
	echo 1500 >"$d/mtu"
	ln -sfn "../../bus/pci/devices/$1/net/$2" "$SYS/class/net/$2"
}

mtu_of() {
	cat "$SYS/class/net/$1/mtu"
}

# enp1s0 (MTU 1500) with 2 VFs on igbvf, netdevs enp1s0v0 and enp1s0v1 at 1500.
host_kernel_vfs() {
	fake_pf $PF enp1s0 7 2
	echo 1500 >"$SYS/class/net/enp1s0/mtu"
	fake_vfs $PF 2 igbvf
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	fake_vf_netdev "$VF0" enp1s0v0
	fake_vf_netdev "$VF1" enp1s0v1
}

# policy_mtu N [EXTRA-LINE]: enp1s0, 2 VFs on the kernel driver, mtu N.
policy_mtu() {
	policy <<EOF
[pf uplink]
device = enp1s0
vfs = 2
vf-driver = kernel
mac = none
mtu = $1
$2
EOF
}

@test "mtu: apply raises the PF's MTU before its kernel-driver VFs', a second apply writes nothing" {
	host_kernel_vfs
	policy_mtu 9000
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink: mtu 1500 -> 9000
uplink vf0: mtu 1500 -> 9000
uplink vf1: mtu 1500 -> 9000
3 changes made
EOF
	assert_equal "$(nl_log)" "$(printf 'enp1s0 mtu 9000\nenp1s0v0 mtu 9000\nenp1s0v1 mtu 9000')"
	assert_equal "$(mtu_of enp1s0) $(mtu_of enp1s0v0) $(mtu_of enp1s0v1)" "9000 9000 9000"
	before=$(tree_sum)
	log=$(nl_log)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	assert_stderr_empty
	assert_equal "$(nl_log)" "$log"
	[ "$(tree_sum)" = "$before" ]
}

@test "mtu: apply lowers the VFs' MTU before the PF's; only what differs is written" {
	host_kernel_vfs
	echo 1500 >"$SYS/class/net/enp1s0v1/mtu"
	echo 9000 >"$SYS/class/net/enp1s0/mtu"
	echo 9000 >"$SYS/class/net/enp1s0v0/mtu"
	echo 1400 >"$SYS/class/net/enp1s0v1/mtu"
	policy_mtu 1400
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_output - <<'EOF'
uplink vf0: mtu 9000 -> 1400
uplink: mtu 9000 -> 1400
dry run: 2 changes planned, nothing written
EOF
	[ ! -e "$NL/log" ]
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_equal "$(nl_log)" "$(printf 'enp1s0v0 mtu 1400\nenp1s0 mtu 1400')"
	assert_equal "$(mtu_of enp1s0) $(mtu_of enp1s0v0) $(mtu_of enp1s0v1)" "1400 1400 1400"
}

@test "mtu: VFs on vfio-pci are left alone (their guest sets theirs); no mtu in the policy, nothing touched" {
	host_kernel_vfs
	policy <<'EOF'
[defaults]
mtu = 9000
[pf uplink]
device = enp1s0
vfs = 2
mac = none
[vf uplink 1]
vf-driver = kernel
EOF
	# VF0 (policy vfio-pci) is on vfio-pci already; VF1 on igbvf
	fake_vf $PF 0 "$VF0" vfio-pci 20
	echo 0 >"$SYS/bus/pci/devices/$PF/sriov_drivers_autoprobe"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink: mtu 1500 -> 9000
uplink vf1: mtu 1500 -> 9000
2 changes made
EOF
	assert_equal "$(mtu_of enp1s0v0)" 1500
	# Without mtu, a PF and VFs at any MTU are never touched.
	sed -i '/^mtu/d' "$POLICY"
	echo 1280 >"$SYS/class/net/enp1s0/mtu"
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	[ "$(tree_sum)" = "$before" ]
}

@test "mtu: an invalid mtu is a FILE:LINE error and changes nothing, exit 1" {
	host_kernel_vfs
	policy <<'EOF'
[defaults]
mtu = 67
[pf uplink]
device = enp1s0
vfs = 2
mtu = 65536
[vf uplink 0]
mtu = 1500
[pf other]
device = enp2s0
vfs = 0
mtu = 9k
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 1
	assert_output ''
	assert_stderr_line "$POLICY:2: invalid mtu '67' (68-65535)"
	assert_stderr_line "$POLICY:6: invalid mtu '65536' (68-65535)"
	assert_stderr_line "$POLICY:8: key 'mtu' is not allowed in [vf uplink 0]"
	assert_stderr_line "$POLICY:12: invalid mtu '9k' (68-65535)"
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_stderr_line "$POLICY:2: invalid mtu '67' (68-65535)"
}

@test "mtu: above a netdev's max_mtu is refused before any write (count change included), exit 3" {
	host_kernel_vfs
	echo '68 9216' >"$NL/enp1s0.mtu-range"
	echo '68 9198' >"$NL/enp1s0v0.mtu-range"
	policy_mtu 9200
	sed -i 's/^vfs = 2/vfs = 3/' "$POLICY"
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_output '0 changes made'
	assert_stderr_line 'uplink: mtu 9200 is above the maximum 9198 of enp1s0v0; PF left alone'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# the PF's own maximum, and its minimum
	policy_mtu 9300
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'uplink: mtu 9300 is above the maximum 9216 of enp1s0; PF left alone'
	echo '1280 9216' >"$NL/enp1s0.mtu-range"
	before=$(tree_sum)
	policy_mtu 1000
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'uplink: mtu 1000 is below the minimum 1280 of enp1s0; PF left alone'
	[ "$(tree_sum)" = "$before" ]
}

@test "mtu: a kernel-driver VF carrying host traffic keeps its MTU unless --force" {
	host_kernel_vfs
	echo 'enp1s0v1 192.0.2.5/24 global' >"$NL/addr"
	policy_mtu 9000
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink: mtu 1500 -> 9000
uplink vf0: mtu 1500 -> 9000
2 changes made
EOF
	assert_stderr_contains 'uplink: 1 VF netdev carrying host traffic keeps its mtu (--force to change it)'
	assert_equal "$(mtu_of enp1s0v1)" 1500
	run --separate-stderr vfw -c "$POLICY" apply --force
	assert_success
	assert_line --index 0 'uplink vf1: mtu 1500 -> 9000'
	assert_equal "$(mtu_of enp1s0v1)" 9000
}

@test "mtu: status shows the PF's MTU and its drift (table and JSON), and the kernel-driver VFs' MTU" {
	host_kernel_vfs
	fake_pf 0000:02:00.0 enp2s0 4 0
	policy_mtu 9000
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --index 0 --regexp '^PF +IFACE +PCI +DRIVER +VFS +LINK +MTU$'
	read -ra r <<<"$(awk -v k="$PF" 'NF == 0 { exit } $3 == k' <<<"$output")"
	assert_equal "${r[*]}" "uplink enp1s0 $PF igb 2/2/7 up 1500/9000*"
	read -ra r <<<"$(awk 'NF == 0 { exit } $2 == "enp2s0"' <<<"$output")"
	assert_equal "${r[*]}" "- enp2s0 0000:02:00.0 igb 0/-/4 up 1500"
	# the VF table's DRIFT column names mtu
	read -ra r <<<"$(awk -v k="$VF0" '$5 == k' <<<"$output")"
	assert_equal "${r[-1]}" mtu
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	run python3 -c '
import json, sys
pf = {p["interface"]: p for p in json.loads(sys.argv[1])["pfs"]}
u, o = pf["enp1s0"], pf["enp2s0"]
print(u["mtu"], u["policy_mtu"], u["drift"], [(v["mtu"], v["drift"]) for v in u["vfs"]])
print(o["mtu"], o["policy_mtu"], o["drift"])' "$output"
	assert_success
	assert_output - <<'EOF'
1500 9000 True [(1500, ['mtu']), (1500, ['mtu'])]
1500 None False
EOF
	run vfw -c "$POLICY" apply
	assert_success
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	read -ra r <<<"$(awk -v k="$PF" 'NF == 0 { exit } $3 == k' <<<"$output")"
	assert_equal "${r[*]}" "uplink enp1s0 $PF igb 2/2/7 up 9000"
	# no policy sets mtu: the PF table as before, without the column
	sed -i '/^mtu/d' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --index 0 --regexp '^PF +IFACE +PCI +DRIVER +VFS +LINK$'
}
