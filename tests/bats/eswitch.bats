#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# eswitch-mode = legacy | switchdev on a fake host: set through devlink in
# the order the PF's driver needs (helper/eswitch.c), refused like a count
# change when it would destroy a VF in use, never touched when not set;
# status shows the mode and each VF's representor.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	DEV=$SYS/bus/pci/devices/$PF
}

# The devlink stand-in of helper/devlink.c (kept here with its only user).
# fake_devlink PCI MODE [refuse-with-vfs]: the PF's eswitch, in MODE;
# refuse-with-vfs makes a mode change fail while VFs exist, as ice does.
fake_devlink() {
	echo "mode $2" >"$NL/$1.devlink"
	[ -z "${3:-}" ] || echo "$3" >>"$NL/$1.devlink"
}

# fake_rep PCI VF NETDEV: VF's representor port (pcivf) with its netdev.
fake_rep() {
	echo "pcivf $2 $3" >>"$NL/$1.devlink"
}

devlink_mode() {
	sed -n 's/^mode //p' "$NL/$1.devlink"
}

# PF with 2 VFs on vfio-pci, driver DRIVER, and a policy asking for MODE.
host_esw() { # DRIVER MODE
	fake_pf $PF enp1s0 7 2 "$1"
	echo 0 >"$DEV/sriov_drivers_autoprobe"
	fake_vfs $PF 2 vfio-pci
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	policy <<-EOF
	[pf uplink]
	device = enp1s0
	vfs = 2
	mac = none
	eswitch-mode = $2
	EOF
}

@test "eswitch: netdevsim changes the mode with its VFs in place, once" {
	host_esw netdevsim switchdev
	fake_devlink $PF legacy
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line --index 0 'uplink: eswitch-mode legacy -> switchdev'
	refute_line --partial 'vfs 2 -> 0'
	[ "$(devlink_mode $PF)" = switchdev ]
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	grep -qx "devlink $PF eswitch mode switchdev" "$NL/log"

	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	refute_line --partial eswitch-mode
	[ "$(grep -c devlink "$NL/log")" = 1 ]
}

@test "eswitch: ice takes a mode change only without VFs: VFs to 0, the mode, VFs again" {
	host_esw ice switchdev
	# The stand-in refuses while sriov_numvfs > 0, as ice_eswitch_mode_set does.
	fake_devlink $PF legacy refuse-with-vfs
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line --index 0 'uplink: vfs 2 -> 0'
	assert_line --index 1 'uplink: eswitch-mode legacy -> switchdev'
	assert_line --index 2 'uplink: vfs 0 -> 2'
	[ "$(devlink_mode $PF)" = switchdev ]
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]

	# and back, the same way
	sed -i 's/= switchdev/= legacy/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line --index 1 'uplink: eswitch-mode switchdev -> legacy'
	[ "$(devlink_mode $PF)" = legacy ]
}

@test "eswitch: mlx5 changes the mode in place only while no VF is bound to a driver" {
	host_esw mlx5_core switchdev
	fake_devlink $PF legacy
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_line --index 0 'uplink: vfs 2 -> 0'
	assert_line --index 1 'uplink: eswitch-mode legacy -> switchdev'
	[ "$(devlink_mode $PF)" = legacy ]
	[ ! -e "$NL/log" ]

	fake_vfs $PF 2 none
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_line --index 0 'uplink: eswitch-mode legacy -> switchdev'
	refute_line --partial 'vfs 2 -> 0'
}

@test "eswitch: a mode change that removes the VFs is refused while a VF is in use, unless --force" {
	host_esw ice switchdev
	fake_devlink $PF legacy refuse-with-vfs
	fake_in_use 30 4242 qemu-kvm
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line "uplink: vf0 ($(vf_pci $PF 0)) is in use by pid 4242 (qemu-kvm); changing eswitch-mode legacy -> switchdev would destroy it (--force to do it anyway); PF left alone"
	[ "$(tree_sum)" = "$before" ]

	run --separate-stderr vfw -c "$POLICY" apply --force
	assert_success
	[ "$(devlink_mode $PF)" = switchdev ]
}

@test "eswitch: netdevsim changes the mode with a VF in use, as no VF goes away" {
	host_esw netdevsim switchdev
	fake_devlink $PF legacy
	fake_in_use 30 4242 qemu-kvm
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line 'uplink: eswitch-mode legacy -> switchdev'
}

@test "eswitch: a PF whose driver has no eswitch is left alone when the policy sets one, exit 3" {
	host_esw igb switchdev
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line "uplink: cannot read the eswitch mode of $PF through devlink: Operation not supported (its driver has no switchdev mode); PF left alone"
	[ "$(tree_sum)" = "$before" ]
}

@test "eswitch: without eswitch-mode in the policy, devlink is never written" {
	host_esw ice switchdev
	sed -i '/eswitch-mode/d' "$POLICY"
	fake_devlink $PF legacy refuse-with-vfs
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	[ "$(devlink_mode $PF)" = legacy ]
	! grep -qs devlink "$NL/log"
}

@test "eswitch: eswitch-mode in [defaults] applies to every PF, a [pf] overrides it" {
	fake_pf $PF enp1s0 7 0 netdevsim
	fake_pf 0000:02:00.0 enp2s0 7 0 netdevsim
	fake_devlink $PF legacy
	fake_devlink 0000:02:00.0 legacy
	policy <<'EOF'
[defaults]
eswitch-mode = switchdev
vfs = 0
[pf a]
device = enp1s0
[pf b]
device = enp2s0
eswitch-mode = legacy
EOF
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	[ "$(devlink_mode $PF)" = switchdev ]
	[ "$(devlink_mode 0000:02:00.0)" = legacy ]
}

@test "eswitch: check reports a bad eswitch-mode with FILE:LINE" {
	policy <<'EOF'
[pf a]
device = enp1s0
vfs = 0
eswitch-mode = offload
EOF
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_stderr_line "$POLICY:4: invalid eswitch-mode 'offload' (legacy or switchdev)"
}

@test "status: a PF in switchdev mode lists each VF's representor (table and --json)" {
	host_esw netdevsim switchdev
	fake_devlink $PF switchdev
	fake_rep $PF 0 eth10
	fake_rep $PF 1 eth11
	fake_pf 0000:02:00.0 enp2s0 7 0 igb
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --regexp '^PF +IFACE +PCI +ESWITCH +VF +REPRESENTOR$'
	assert_line --regexp "^uplink +enp1s0 +$PF +switchdev +0 +eth10$"
	assert_line --regexp "^uplink +enp1s0 +$PF +switchdev +1 +eth11$"
	# igb has no eswitch: no row in that table
	refute_line --regexp '^- +enp2s0 +0000:02:00.0 +(legacy|-) '

	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	python3 - "$output" <<'EOF'
import json, sys
pfs = json.loads(sys.argv[1])["pfs"]
up, other = pfs
assert (up["eswitch_mode"], up["policy_eswitch_mode"]) == ("switchdev", "switchdev"), up
assert [v["representor"] for v in up["vfs"]] == ["eth10", "eth11"], up["vfs"]
assert (other["eswitch_mode"], other["policy_eswitch_mode"]) == (None, None), other
EOF
}

@test "status: a PF whose mode is not the policy's is marked '*', without representors in legacy" {
	host_esw netdevsim switchdev
	fake_devlink $PF legacy
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_line --regexp "^uplink +enp1s0 +$PF +legacy\\* +- +-$"
	run --separate-stderr vfw -c "$POLICY" status --json
	python3 - "$output" <<'EOF'
import json, sys
(up,) = json.loads(sys.argv[1])["pfs"]
assert (up["eswitch_mode"], up["policy_eswitch_mode"]) == ("legacy", "switchdev"), up
assert [v["representor"] for v in up["vfs"]] == [None, None], up["vfs"]
EOF
}

@test "eswitch: a PF without a driver yet is skipped with a notice, its eswitch untouched" {
	host_esw netdevsim switchdev
	fake_devlink $PF legacy
	sed -i "s/^device = enp1s0/device = $PF/" "$POLICY"
	# before its driver's probe: no driver, no netdev
	rm -r "$DEV/driver" "$DEV/net" "$SYS/class/net/enp1s0"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_stderr_line "uplink: $PF has no driver bound yet, skipped"
	[ "$(devlink_mode $PF)" = legacy ]
	! grep -qs devlink "$NL/log"
}
