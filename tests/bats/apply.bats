#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden [-c FILE] apply [--dry-run] [--force] [PF...] on a fake host.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	VF0=$(vf_pci $PF 0)
	VF1=$(vf_pci $PF 1)
	DEV=$SYS/bus/pci/devices/$PF
}

# The policy most tests use: enp1s0 with 2 VFs on vfio-pci, VLAN 100.
policy_uplink() {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
spoofchk = off
trust = on
max-tx-rate = 1000
[vf uplink 1]
mac = 02:11:22:33:44:55
trust = off
EOF
}

@test "apply --dry-run prints the plan and changes nothing" {
	host_two_vfio_vfs
	policy_uplink
	m0=$(auto_mac "$(pf_mac enp1s0)" 0)
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_output - <<EOF
uplink vf0: mac 00:00:00:00:00:00 -> $m0
uplink vf0: vlan 0 -> 100 qos 0 802.1Q
uplink vf0: spoofchk on -> off
uplink vf0: trust off -> on
uplink vf0: max-tx-rate 0 -> 1000
uplink vf1: mac 00:00:00:00:00:00 -> 02:11:22:33:44:55
uplink vf1: vlan 0 -> 100 qos 0 802.1Q
uplink vf1: spoofchk on -> off
uplink vf1: max-tx-rate 0 -> 1000
dry run: 9 changes planned, nothing written
EOF
	assert_stderr_empty
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ ! -e "$ROOT/run/vfwarden/lock" ]
}

@test "apply -n with a count change plans it and still writes nothing" {
	fake_pf $PF enp1s0 7 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply -n
	assert_success
	assert_line 'uplink: sriov_drivers_autoprobe 1 -> 0'
	assert_line 'uplink: vfs 0 -> 2'
	assert_line --regexp '^uplink vf0: mac - -> '
	assert_line 'uplink vf1: vf-driver none -> vfio-pci'
	assert_line --regexp '^dry run: [0-9]+ changes planned, nothing written$'
	[ "$(tree_sum)" = "$before" ]
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 0 ]
	[ ! -e "$NL/log" ]
}

@test "apply sets mac, vlan, spoofchk, trust and rate, one line per change" {
	host_two_vfio_vfs
	policy_uplink
	m0=$(auto_mac "$(pf_mac enp1s0)" 0)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<EOF
uplink vf0: mac 00:00:00:00:00:00 -> $m0
uplink vf0: vlan 0 -> 100 qos 0 802.1Q
uplink vf0: spoofchk on -> off
uplink vf0: trust off -> on
uplink vf0: max-tx-rate 0 -> 1000
uplink vf1: mac 00:00:00:00:00:00 -> 02:11:22:33:44:55
uplink vf1: vlan 0 -> 100 qos 0 802.1Q
uplink vf1: spoofchk on -> off
uplink vf1: max-tx-rate 0 -> 1000
9 changes made
EOF
	assert_stderr_empty
	assert_equal "$(nl_log)" "enp1s0 vf0 mac $m0
enp1s0 vf0 vlan 100 qos 0 802.1Q
enp1s0 vf0 spoofchk off
enp1s0 vf0 trust on
enp1s0 vf0 max-tx-rate 1000
enp1s0 vf1 mac 02:11:22:33:44:55
enp1s0 vf1 vlan 100 qos 0 802.1Q
enp1s0 vf1 spoofchk off
enp1s0 vf1 max-tx-rate 1000"
	assert_equal "$(cat "$NL/enp1s0")" "vf0 mac=$m0 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0
vf1 mac=02:11:22:33:44:55 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=0 link=0 max=1000 min=0 rss=0"
	# VF count and drivers already matched: no sysfs write.
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	[ "$(sysfs bus/pci/devices/$PF/sriov_drivers_autoprobe)" = 0 ]
	[ ! -s "$SYS/bus/pci/drivers_probe" ]
}

@test "apply a second time writes nothing and says no changes" {
	host_two_vfio_vfs
	policy_uplink
	run vfw -c "$POLICY" apply
	assert_success
	log=$(nl_log)
	[ -n "$log" ]
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	assert_stderr_empty
	assert_equal "$(nl_log)" "$log"
	[ "$(tree_sum)" = "$before" ]
}

@test "apply with an invalid policy changes nothing and exits 1" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
[pf other]
device = enp2s0
vfs = 1
trust = maybe
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 1
	assert_output ''
	assert_stderr_line "$POLICY:8: invalid trust 'maybe' (on or off)"
	assert_stderr_contains 'nothing changed'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# --dry-run validates the same way.
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_failure 1
	assert_output ''
}

@test "apply: vfs above sriov_totalvfs is refused for that PF before any write, exit 3" {
	host_two_vfio_vfs
	fake_pf 0000:03:00.0 enp3s0 4 0
	policy <<'EOF'
[pf big]
device = enp3s0
vfs = 8
[pf uplink]
device = enp1s0
vfs = 2
trust = on
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'big: vfs 8 is above sriov_totalvfs 4 of 0000:03:00.0; PF left alone'
	[ "$(sysfs bus/pci/devices/0000:03:00.0/sriov_numvfs)" = 0 ]
	[ "$(sysfs bus/pci/devices/0000:03:00.0/sriov_drivers_autoprobe)" = 1 ]
	refute_line --partial 'big'
	run grep -c enp3s0 "$NL/log"
	assert_output 0
	# The other PF is still converged.
	run grep -c '^enp1s0 vf[01] trust on$' "$NL/log"
	assert_output 2
}

@test "apply: a count change N->M writes sriov_numvfs (ending at M) and autoprobe 0 for vfio-pci" {
	fake_pf $PF enp1s0 7 2
	# The kernel would create virtfn2/3 on the write: they are here already.
	fake_vfs $PF 4 vfio-pci
	echo 2 >"$DEV/sriov_numvfs"
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 4
mac = none
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line --index 0 'uplink: sriov_drivers_autoprobe 1 -> 0'
	assert_line --index 1 'uplink: vfs 2 -> 4'
	assert_line --regexp '^[0-9]+ changes made$'
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 4 ]
	[ "$(sysfs bus/pci/devices/$PF/sriov_drivers_autoprobe)" = 0 ]
	# New VFs already on vfio-pci need no rebind (plan.c drift of unknown VFs).
	refute_line --partial 'vf-driver vfio-pci -> vfio-pci'
	# The new VFs (re-read after the count change) got their settings.
	grep -q '^enp1s0 vf3 spoofchk on$' "$NL/log"
	grep -q '^vf3 .*spoofchk=1 ' "$NL/enp1s0"
}

@test "apply: creating VFs 0->2, then removing them 2->0" {
	fake_pf $PF enp1s0 7 0
	fake_vfs $PF 2 none
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vf-driver = kernel
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_line 'uplink: vfs 0 -> 2'
	refute_line --partial 'sriov_drivers_autoprobe'
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	# kernel driver: autoprobe stays 1, VFs probed by clearing driver_override.
	[ "$(sysfs bus/pci/devices/$PF/sriov_drivers_autoprobe)" = 1 ]
	assert_line 'uplink vf0: vf-driver none -> kernel'
	[ "$(cat "$SYS/bus/pci/devices/$VF0/driver_override")" = "" ]

	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 0
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink: vfs 2 -> 0
1 change made
EOF
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 0 ]
}

@test "apply: an unbound VF is bound to vfio-pci through driver_override" {
	fake_pf $PF enp1s0 7 1
	fake_vf $PF 0 "$VF0" none 30
	echo 0 >"$DEV/sriov_drivers_autoprobe"
	fake_vf_state enp1s0 0 mac=02:00:00:00:00:10
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
mac = none
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink vf0: vf-driver none -> vfio-pci
1 change made
EOF
	[ "$(cat "$SYS/bus/pci/devices/$VF0/driver_override")" = vfio-pci ]
	[ "$(cat "$SYS/bus/pci/drivers_probe")" = "$VF0" ]
	[ ! -e "$NL/log" ]
}

@test "apply: a VF in use by a VM blocks a count change unless --force" {
	fake_pf $PF enp1s0 7 2
	fake_vfs $PF 4 vfio-pci
	echo 2 >"$DEV/sriov_numvfs"
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	fake_in_use 30 4242 qemu-kvm
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 4
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line "uplink: vf0 ($VF0) is in use by pid 4242 (qemu-kvm); changing vfs 2 -> 4 would destroy it (--force to do it anyway); PF left alone"
	refute_line --partial 'vfs 2 -> 4'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]

	run --separate-stderr vfw -c "$POLICY" apply --force
	assert_success
	assert_line 'uplink: vfs 2 -> 4'
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 4 ]
}

@test "apply: a VF recorded as a libvirt domain's blocks a count change" {
	host_two_vfio_vfs
	fake_owner "$VF1" web1
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "vf1 ($VF1) is in use by domain web1"
	assert_stderr_contains '--force'
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
}

@test "apply: a VF in use keeps its mac and vlan, the other VF is converged" {
	host_two_vfio_vfs
	fake_in_use 30 777
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
trust = on
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_stderr_line 'uplink: 1 VF in use by a VM keep their driver, mac and vlan until released'
	refute_line --regexp '^uplink vf0: (mac|vlan)'
	assert_line 'uplink vf0: trust off -> on'
	assert_line 'uplink vf1: vlan 0 -> 100 qos 0 802.1Q'
	grep -q '^vf0 mac=00:00:00:00:00:00 vlan=0 .* trust=1 ' "$NL/enp1s0"
	grep -q '^vf1 mac=.* vlan=100 ' "$NL/enp1s0"
}

# Issue 18 item 7. Who holds a VF open (/proc/PID/fd) is read only for a plan
# that destroys VFs or changes a VM's driver, mac or vlan, right before it.
# A /proc that cannot be read fails those closed; the rest never reads it.
@test "apply: /proc is read only when a VF could be destroyed or lose what a VM set" {
	host_two_vfio_vfs
	policy_uplink
	run vfw -c "$POLICY" apply
	assert_success
	mv "$ROOT/proc" "$ROOT/proc.real"
	echo 'not a directory' >"$ROOT/proc"

	# converged: nothing to destroy, /proc not read
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	assert_stderr_empty

	# trust and the rate are none of a VM's: set without reading /proc
	sed -i 's/^trust = on/trust = off/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'uplink vf0: trust on -> off'

	# a vlan (a VM's XML may set it) or a count change: /proc must be read
	before=$(tree_sum)
	sed -i 's/^vlan = 100/vlan = 200/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'uplink: Not a directory'
	sed -i 's/^vlan = 200/vlan = 100/; s/^vfs = 2/vfs = 3/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'uplink: Not a directory'
	[ "$(tree_sum)" = "$before" ]
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]

	# so is a VF's driver (autoprobe, the PF's, goes first)
	sed -i 's/^vfs = 3$/vfs = 2\nvf-driver = kernel/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'uplink: Not a directory'
	for vf in "$VF0" "$VF1"; do
		[ "$(basename "$(readlink "$SYS/bus/pci/devices/$vf/driver")")" = vfio-pci ]
		[ "$(sysfs "bus/pci/devices/$vf/driver_override")" = vfio-pci ]
	done
	sed -i '/^vf-driver = kernel$/d; s/^vfs = 2/vfs = 3/' "$POLICY"

	# and it is read: a VM holding vf0 refuses the count change
	rm "$ROOT/proc"
	mv "$ROOT/proc.real" "$ROOT/proc"
	fake_in_use "$(basename "$(readlink "$SYS/bus/pci/devices/$VF0/iommu_group")")" 4343 qemu-kvm
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line "uplink: vf0 ($VF0) is in use by pid 4343 (qemu-kvm); changing vfs 2 -> 3 would destroy it (--force to do it anyway); PF left alone"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
}

@test "apply: a PF of the policy that is absent is skipped with a notice, exit 0" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf gone]
device = 0000:09:00.0
vfs = 4
[pf uplink]
device = enp1s0
vfs = 2
trust = on
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_stderr_line "gone: device '0000:09:00.0' not present, skipped"
	assert_line 'uplink vf0: trust off -> on'
	[ ! -e "$SYS/bus/pci/devices/0000:09:00.0" ]
}

# Two managed PFs and one unmanaged: naming one must touch that one only.
two_pfs() {
	host_two_vfio_vfs
	fake_pf 0000:02:00.0 enp2s0 7 1
	fake_vfs 0000:02:00.0 1 vfio-pci
	fake_vf_state enp2s0 0
	fake_pf 0000:03:00.0 enp3s0 7 1
	fake_vfs 0000:03:00.0 1 vfio-pci
	fake_vf_state enp3s0 0
	policy <<'EOF'
[defaults]
trust = on
[pf uplink]
device = enp1s0
vfs = 2
[pf second]
device = 0000:02:00.0
vfs = 1
EOF
}

@test "apply PF: named by interface, PCI address, sysfs path or MAC, only that PF changes" {
	two_pfs
	for spec in enp1s0 0000:01:00.0 /sys/bus/pci/devices/0000:01:00.0 /sys/class/net/enp1s0 \
		/sys/class/net/enp1s0/ "$(pf_mac enp1s0)"; do
		rm -f "$NL/log" "$NL/enp1s0"
		fake_vf_state enp1s0 0
		fake_vf_state enp1s0 1
		run --separate-stderr vfw -c "$POLICY" apply "$spec"
		assert_success
		assert_line 'uplink vf0: trust off -> on'
		refute_line --partial 'second'
		run grep -vc '^enp1s0 ' "$NL/log"
		assert_output 0
		run grep -c '^enp1s0 vf[01] trust on$' "$NL/log"
		assert_output 2
	done
	[ "$(cat "$NL/enp2s0")" = "vf0 mac=00:00:00:00:00:00 vlan=0 qos=0 proto=802.1Q spoofchk=1 trust=0 link=0 max=0 min=0 rss=0" ]
}

@test "apply PF: the second PF named by its PCI address" {
	two_pfs
	run --separate-stderr vfw -c "$POLICY" apply 0000:02:00.0
	assert_success
	assert_line 'second vf0: trust off -> on'
	refute_line --partial 'uplink'
	run grep -vc '^enp2s0 ' "$NL/log"
	assert_output 0
}

@test "apply PF: an unmanaged PF named is left alone" {
	two_pfs
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply enp3s0
	assert_success
	assert_stderr_line 'enp3s0 (0000:03:00.0): not in the policy, left alone'
	assert_output 'no changes: the host matches the policy'
	[ ! -e "$NL/log" ]
	[ "$(tree_sum)" = "$before" ]
}

@test "apply PF: a PF that does not exist is an error, nothing changed" {
	two_pfs
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply enp9s0
	assert_failure 3
	assert_stderr_line "vfwarden: no SR-IOV PF 'enp9s0' on this host"
	[ ! -e "$NL/log" ]
	[ "$(tree_sum)" = "$before" ]
}

@test "apply: link-state refused by the driver is reported, the rest is applied, exit 3" {
	host_two_vfio_vfs
	fake_reject enp1s0 link-state
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 7
link-state = enable
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line 'uplink vf0 link-state: not supported by igb'
	assert_stderr_line 'uplink vf1 link-state: not supported by igb'
	assert_line 'uplink vf0: vlan 0 -> 7 qos 0 802.1Q'
	assert_line 'uplink vf1: vlan 0 -> 7 qos 0 802.1Q'
	refute_line --partial 'link-state'
	run grep -c 'link-state' "$NL/log"
	assert_output 0
	grep -q '^vf0 .*vlan=7 .*link=0 ' "$NL/enp1s0"
	grep -q '^vf1 .*vlan=7 .*link=0 ' "$NL/enp1s0"
	run grep -c ' mac ' "$NL/log"
	assert_output 2
}

@test "apply: mac = auto is the documented hash of the PF's MAC and the index" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
	m0=$(auto_mac 52:54:00:12:34:01 0)
	m1=$(auto_mac 52:54:00:12:34:01 1)
	[ "$m0" != "$m1" ]
	run vfw -c "$POLICY" apply
	assert_success
	assert_line "uplink vf0: mac 00:00:00:00:00:00 -> $m0"
	assert_line "uplink vf1: mac 00:00:00:00:00:00 -> $m1"
	grep -qx "vf0 mac=$m0 .*" "$NL/enp1s0"
	grep -qx "vf1 mac=$m1 .*" "$NL/enp1s0"
	# Locally administered unicast.
	(( (16#${m0:0:2} & 3) == 2 ))
}

@test "apply: mac = auto is the same on two runs and two hosts with the same PF MAC" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
	run vfw -c "$POLICY" apply
	assert_success
	first=$(grep -o 'mac=[^ ]*' "$NL/enp1s0")
	# Drift the MACs away, converge again: the same ones come back.
	fake_vf_state enp1s0 0 mac=02:00:00:00:00:99
	fake_vf_state enp1s0 1
	run vfw -c "$POLICY" apply
	assert_success
	[ "$(grep -o 'mac=[^ ]*' "$NL/enp1s0")" = "$first" ]

	# Another host: other PCI address, other name, same permanent MAC.
	ROOT=$BATS_TEST_TMPDIR/host2 SYS=$BATS_TEST_TMPDIR/host2/sys NL=$BATS_TEST_TMPDIR/host2/netlink
	export VFWARDEN_TEST_ROOT=$ROOT
	mkdir -p "$SYS/bus/pci/devices" "$SYS/class/net" "$NL" "$ROOT/proc" "$ROOT/run"
	: >"$SYS/bus/pci/drivers_probe"
	fake_driver vfio-pci
	FAKE_PF_MAC=52:54:00:12:34:01 fake_pf 0000:41:00.1 eno7 7 2
	fake_vfs 0000:41:00.1 2 vfio-pci
	fake_vf_state eno7 0
	fake_vf_state eno7 1
	policy <<'EOF'
[pf uplink]
device = eno7
vfs = 2
EOF
	run vfw -c "$POLICY" apply
	assert_success
	[ "$(grep -o 'mac=[^ ]*' "$NL/eno7")" = "$first" ]

	# A different PF MAC gives different ones.
	FAKE_PF_MAC=52:54:00:12:34:02 fake_pf 0000:41:00.1 eno7 7 2
	run vfw -c "$POLICY" apply
	assert_success
	m0=$(auto_mac 52:54:00:12:34:02 0)
	grep -qx "vf0 mac=$m0 .*" "$NL/eno7"
	[ "$(grep -o 'mac=[^ ]*' "$NL/eno7")" != "$first" ]
}

@test "apply: a PF that is down is brought up before VFs are set" {
	host_two_vfio_vfs
	echo 0x1002 >"$SYS/class/net/enp1s0/flags"
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
mac = none
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink: link down -> up
1 change made
EOF
	[ "$(nl_log)" = 'enp1s0 up' ]
	[ "$(cat "$SYS/class/net/enp1s0/flags")" = 0x1003 ]
}

@test "apply: another vfwarden holding the lock makes apply give up, exit 4" {
	command -v flock >/dev/null || skip "no flock(1)"
	host_two_vfio_vfs
	policy_uplink
	mkdir -p "$ROOT/run/vfwarden"
	before=$(tree_sum)
	run --separate-stderr flock "$ROOT/run/vfwarden/lock" "$VFWARDEN" -c "$POLICY" apply --lock-timeout 0
	assert_failure 4
	assert_stderr_contains "another vfwarden holds $ROOT/run/vfwarden/lock"
	assert_stderr_contains 'nothing changed'
	[ ! -e "$NL/log" ]
	[ "$(tree_sum)" = "$before" ]
	# --dry-run needs no lock.
	run --separate-stderr flock "$ROOT/run/vfwarden/lock" "$VFWARDEN" -c "$POLICY" apply --dry-run
	assert_success
}

@test "apply: a stale domain record (VM gone, VF not held) no longer blocks, and is cleaned up" {
	host_two_vfio_vfs
	fake_owner "$VF1" gone-vm
	touch -d '10 minutes ago' "$ROOT/run/vfwarden/vf/$VF1"
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
EOF
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	[ -e "$ROOT/run/vfwarden/vf/$VF1" ]
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'uplink: vfs 2 -> 1'
	[ ! -e "$ROOT/run/vfwarden/vf/$VF1" ]
}

@test "apply: an old record whose VF a process still holds keeps blocking" {
	host_two_vfio_vfs
	fake_owner "$VF1" long-vm
	touch -d '10 minutes ago' "$ROOT/run/vfwarden/vf/$VF1"
	fake_in_use "$(basename "$(readlink "$SYS/bus/pci/devices/$VF1/iommu_group")")" 777
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "in use by domain long-vm"
	[ -e "$ROOT/run/vfwarden/vf/$VF1" ]
}

# Issue 15 item 5. QEMU given an iommufd object opens the VF through its VFIO
# device cdev (/dev/vfio/devices/vfioN, named by the VF's sysfs
# vfio-dev/vfioN) and /dev/iommu, not through /dev/vfio/<group>. Debian's
# 6.1 and 6.12 kernels have CONFIG_IOMMUFD (and so CONFIG_VFIO_DEVICE_CDEV)
# off: the real-kernel tier cannot open a cdev, so this is proved here.
@test "apply: a VF held only through its VFIO device cdev is in use: count change refused, record kept" {
	host_two_vfio_vfs
	mkdir -p "$SYS/bus/pci/devices/$VF1/vfio-dev/vfio7"
	mkdir -p "$ROOT/proc/5151/fd"
	echo qemu-system-x86 >"$ROOT/proc/5151/comm"
	ln -s /dev/iommu "$ROOT/proc/5151/fd/20"
	ln -s /dev/vfio/devices/vfio7 "$ROOT/proc/5151/fd/21"
	# A record older than the old 2-minute rule, and no libvirt pid file.
	fake_owner "$VF1" cdev-vm
	touch -d '10 minutes ago' "$ROOT/run/vfwarden/vf/$VF1"
	policy <<'EOF2'
[pf uplink]
device = enp1s0
vfs = 1
EOF2
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "vf1 ($VF1) is in use by domain cdev-vm; changing vfs 2 -> 1"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	[ -e "$ROOT/run/vfwarden/vf/$VF1" ]
	# Without the record, the holder itself is named.
	rm "$ROOT/run/vfwarden/vf/$VF1"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "vf1 ($VF1) is in use by pid 5151 (qemu-system-x86)"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	# A cdev of another VF does not count for this one.
	rm "$ROOT/proc/5151/fd/21"
	ln -s /dev/vfio/devices/vfio8 "$ROOT/proc/5151/fd/21"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'uplink: vfs 2 -> 1'
}

# fake_domain_running NAME PID: libvirt's pid file for domain NAME names
# PID, and PID is a live process (holding no /dev/vfio fd: a holder the
# /proc scan misses).
fake_domain_running() {
	mkdir -p "$ROOT/run/libvirt/qemu" "$ROOT/proc/$2/fd"
	printf '%s' "$2" >"$ROOT/run/libvirt/qemu/$1.pid"
	echo qemu-system-x86 >"$ROOT/proc/$2/comm"
}

# Issue 15 item 6: a record goes stale only when its domain is gone.
@test "apply: an old record of a domain whose QEMU runs (pid file) keeps blocking and keeps its VF's mac and vlan" {
	host_two_vfio_vfs
	fake_owner "$VF1" web1
	touch -d '10 minutes ago' "$ROOT/run/vfwarden/vf/$VF1"
	fake_domain_running web1 6161
	fake_vf_state enp1s0 1 mac=02:00:00:00:00:61 vlan=61
	policy <<'EOF2'
[pf uplink]
device = enp1s0
vfs = 1
EOF2
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "vf1 ($VF1) is in use by domain web1; changing vfs 2 -> 1"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	[ -e "$ROOT/run/vfwarden/vf/$VF1" ]
	# Without a count change the VM's mac and vlan stay.
	policy_uplink
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_stderr_line 'uplink: 1 VF in use by a VM keep their driver, mac and vlan until released'
	grep -q '^vf1 mac=02:00:00:00:00:61 vlan=61 ' "$NL/enp1s0"
	[ -e "$ROOT/run/vfwarden/vf/$VF1" ]
}

@test "apply: a record whose domain's pid file names a dead process is stale: removed, count change made" {
	host_two_vfio_vfs
	fake_owner "$VF1" crashed
	touch -d '10 minutes ago' "$ROOT/run/vfwarden/vf/$VF1"
	mkdir -p "$ROOT/run/libvirt/qemu"
	echo 7171 >"$ROOT/run/libvirt/qemu/crashed.pid"
	policy <<'EOF2'
[pf uplink]
device = enp1s0
vfs = 1
EOF2
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'uplink: vfs 2 -> 1'
	[ ! -e "$ROOT/run/vfwarden/vf/$VF1" ]
}

# Between 'prepare begin' (record written) and QEMU's start (pid file
# written) there is no pid file yet: a record younger than the grace
# (2 minutes) is never stale.
@test "apply: a fresh record without a pid file yet (QEMU not started) blocks" {
	host_two_vfio_vfs
	fake_owner "$VF1" starting
	policy <<'EOF2'
[pf uplink]
device = enp1s0
vfs = 1
EOF2
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "vf1 ($VF1) is in use by domain starting"
	[ -e "$ROOT/run/vfwarden/vf/$VF1" ]
}

# Issue 15 item 7. host_kernel_vf: enp1s0 with 2 VFs on igbvf, VF1's netdev
# enp1s0v1 up; the fake rtnetlink's address table is $NL/addr.
host_kernel_vf() {
	fake_pf $PF enp1s0 7 2
	fake_vfs $PF 2 igbvf
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	local d=$SYS/bus/pci/devices/$VF1/net/enp1s0v1
	mkdir -p "$d"
	echo 0x1003 >"$d/flags"
	ln -sfn "../../bus/pci/devices/$VF1/net/enp1s0v1" "$SYS/class/net/enp1s0v1"
	policy <<'EOF2'
[pf uplink]
device = enp1s0
vfs = 1
vf-driver = kernel
EOF2
}

@test "apply: a kernel-driver VF up with a global address blocks a count change unless --force" {
	host_kernel_vf
	echo 'enp1s0v1 fe80::1/64 link' >"$NL/addr"
	echo 'enp1s0v1 192.0.2.5/24 global' >>"$NL/addr"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line "uplink: vf1 ($VF1) is in use: enp1s0v1 has address 192.0.2.5/24; changing vfs 2 -> 1 would destroy it (--force to do it anyway); PF left alone"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	# An IPv6 global address counts the same.
	echo 'enp1s0v1 2001:db8::5/64 global' >"$NL/addr"
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_failure 3
	assert_stderr_contains "enp1s0v1 has address 2001:db8::5/64"
	run --separate-stderr vfw -c "$POLICY" apply --force
	assert_success
	assert_line 'uplink: vfs 2 -> 1'
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 1 ]
}

@test "apply: a kernel-driver VF that is a port of a bridge blocks a count change" {
	host_kernel_vf
	echo 0x1002 >"$SYS/bus/pci/devices/$VF1/net/enp1s0v1/flags"
	ln -s ../../../../../../class/net/br0 "$SYS/bus/pci/devices/$VF1/net/enp1s0v1/master"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "vf1 ($VF1) is in use: enp1s0v1 is a port of br0; changing vfs 2 -> 1"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
}

@test "apply: a kernel-driver VF with only a link-local address, or down, does not block" {
	host_kernel_vf
	echo 'enp1s0v1 fe80::1/64 link' >"$NL/addr"
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_line 'uplink: vfs 2 -> 1'
	echo 'enp1s0v1 192.0.2.5/24 global' >"$NL/addr"
	echo 0x1002 >"$SYS/bus/pci/devices/$VF1/net/enp1s0v1/flags"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'uplink: vfs 2 -> 1'
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 1 ]
}

# vf-driver transitions without a count change (issue 15, item 11): the
# fake binds nothing, so this checks the sysfs writes; tests/vm/apply-igb.bats
# checks the drivers the kernel binds.
@test "apply: vf-driver changes without a count change set autoprobe and driver_override" {
	fake_pf $PF enp1s0 7 2
	fake_vfs $PF 2 vfio-pci
	echo 0 >"$DEV/sriov_drivers_autoprobe"
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
mac = none
vf-driver = kernel
EOF
	# vfio-pci -> kernel: autoprobe on first, then the overrides cleared
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_line --index 0 'uplink: sriov_drivers_autoprobe 0 -> 1'
	assert_line --index 1 'uplink vf0: vf-driver vfio-pci -> kernel'
	[ "$(sysfs bus/pci/devices/$PF/sriov_drivers_autoprobe)" = 0 ]
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line --index 0 'uplink: sriov_drivers_autoprobe 0 -> 1'
	[ "$(sysfs bus/pci/devices/$PF/sriov_drivers_autoprobe)" = 1 ]
	[ "$(cat "$DEV/../$VF0/driver_override")" = "" ]
	[ "$(cat "$DEV/../$VF1/driver_override")" = "" ]

	# kernel -> none: autoprobe off, and "none" in driver_override, which no
	# driver matches, so that no later probe binds the VF
	fake_vfs $PF 2 igbvf
	sed -i 's/vf-driver = kernel/vf-driver = none/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line --index 0 'uplink: sriov_drivers_autoprobe 1 -> 0'
	assert_line --index 1 'uplink vf0: vf-driver igbvf -> none'
	[ "$(sysfs bus/pci/devices/$PF/sriov_drivers_autoprobe)" = 0 ]
	[ "$(cat "$DEV/../$VF0/driver_override")" = none ]
	[ "$(cat "$SYS/bus/pci/drivers/igbvf/unbind")" = "$VF1" ]

	# an unbound VF whose override would bind vfio-pci at the next probe is not "none"
	fake_vfs $PF 2 none
	echo vfio-pci >"$DEV/../$VF1/driver_override"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output - <<'EOF'
uplink vf1: vf-driver none (override vfio-pci) -> none
1 change made
EOF
	[ "$(cat "$DEV/../$VF1/driver_override")" = none ]
}

# unbind_pf PCI: the PF before its driver's probe: no driver, no netdev.
# rebind_pf_later PCI SEC: probe it after SEC seconds, in the background.
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
ms_now() { echo $(($(date +%s%N) / 1000000)); }

@test "apply --wait-pfs: a PF named by PCI address is converged once its driver binds" {
	host_two_vfio_vfs
	policy_uplink
	sed -i 's/^device = enp1s0/device = 0000:01:00.0/' "$POLICY"
	unbind_pf 0000:01:00.0
	rebind_pf_later 0000:01:00.0 1
	t0=$(ms_now)
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 10
	t=$(($(ms_now) - t0))
	assert_success
	[ "$t" -ge 900 ] && [ "$t" -lt 5000 ]
	assert_line 'uplink vf0: trust off -> on'
	assert_line '9 changes made'
	assert_stderr_contains 'waited 1.'
}

@test "apply --wait-pfs: a PF named by interface or MAC is waited for among the unbound SR-IOV functions" {
	host_two_vfio_vfs
	policy_uplink
	mac=$(pf_mac enp1s0)
	unbind_pf 0000:01:00.0
	rebind_pf_later 0000:01:00.0 1
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 10
	assert_success
	assert_line '9 changes made'
	sed -i "s/^device = enp1s0/device = $mac/" "$POLICY"
	sed -i 's/^vlan = 100/vlan = 101/' "$POLICY"
	unbind_pf 0000:01:00.0
	rebind_pf_later 0000:01:00.0 1
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 10
	assert_success
	assert_line 'uplink vf0: vlan 100 qos 0 802.1Q -> 101 qos 0 802.1Q'
}

@test "apply --wait-pfs: a PF not on this host delays nothing; one that never binds is logged at the deadline" {
	host_two_vfio_vfs
	fake_pf 0000:02:00.0 - 7 0 none
	policy_uplink
	printf '[pf elsewhere]\ndevice = 0000:09:00.0\nvfs = 1\n' >> "$POLICY"
	t0=$(ms_now)
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 10
	t=$(($(ms_now) - t0))
	assert_success
	[ "$t" -lt 900 ]
	assert_line '9 changes made'
	refute_stderr_contains 'waited'
	printf '[pf late]\ndevice = 0000:02:00.0\nvfs = 1\n' >> "$POLICY"
	t0=$(ms_now)
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 1
	t=$(($(ms_now) - t0))
	assert_success
	[ "$t" -ge 900 ] && [ "$t" -lt 5000 ]
	assert_stderr_contains 'vfwarden: 0000:02:00.0: no driver bound after 1s, going on without it'
	assert_stderr_contains 'late: 0000:02:00.0 has no driver bound yet, skipped'
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs x
	assert_failure 2
}

@test "apply --wait-pfs: with udev running, a PF's netdev counts once udev has handled it" {
	host_two_vfio_vfs
	policy_uplink
	echo 7 > "$SYS/bus/pci/devices/0000:01:00.0/net/enp1s0/ifindex"
	# the test build's fake udev (tests/fake/fake-udev.c): udevd runs and
	# handles enp1s0 a second from now
	mkdir -p "$ROOT/udev/net"
	(sleep 1; : > "$ROOT/udev/net/enp1s0") > /dev/null 2>&1 3>&- &
	t0=$(ms_now)
	run --separate-stderr vfw -c "$POLICY" apply --wait-pfs 10
	t=$(($(ms_now) - t0))
	assert_success
	[ "$t" -ge 900 ]
	assert_line '9 changes made'
}
