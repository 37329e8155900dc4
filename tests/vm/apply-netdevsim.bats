#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 1 --netdevsim 1024
# vm-env: VFWARDEN_VM_TIMEOUT=480
# What igb lacks, on the kernel's netdevsim (a software NIC whose VFs keep
# every attribute rtnetlink can set): link-state, 802.1ad, min-tx-rate,
# query-rss. Read back through rtnetlink.

load helpers

setup() {
	vm_setup
	[ -n "${VFWARDEN_VM_NSIM:-}" ] || skip "needs tests/vm/run --netdevsim N"
	NSIM=$VFWARDEN_VM_NSIM
	NSIM_SYSFS=$VFWARDEN_VM_NSIM_SYSFS
	echo 0 > "$NSIM_SYSFS/sriov_numvfs"
}

@test "netdevsim is seen as a PF; VFs created with every attribute igb refuses" {
	policy <<EOF
[pf sim]
device = $NSIM
vfs = 4
[vf sim 0]
link-state = disable
[vf sim 1]
link-state = enable
vlan = 300
qos = 4
vlan-proto = 802.1ad
[vf sim 2]
max-tx-rate = 1000
min-tx-rate = 100
query-rss = on
trust = on
spoofchk = off
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 4
	assert_equal "$(vf_attr "$NSIM" 0 link_state)" disable
	assert_equal "$(vf_attr "$NSIM" 1 link_state)" enable
	assert_equal "$(vf_attr "$NSIM" 1 vlan)" 300
	assert_equal "$(vf_attr "$NSIM" 1 qos)" 4
	assert_equal "$(vf_attr "$NSIM" 1 proto)" 802.1ad
	assert_equal "$(vf_attr "$NSIM" 2 max_tx)" 1000
	assert_equal "$(vf_attr "$NSIM" 2 min_tx)" 100
	assert_equal "$(vf_attr "$NSIM" 2 rss)" true
	assert_equal "$(vf_attr "$NSIM" 2 trust)" true
	assert_equal "$(vf_attr "$NSIM" 2 spoofchk)" false
	assert_equal "$(vf_attr "$NSIM" 3 mac)" "$(auto_mac "$(perm_mac "$NSIM")" 3)"

	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "no changes"
	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" 0
}

@test "drift on netdevsim is found and repaired, one request per attribute" {
	policy <<EOF
[pf sim]
device = $NSIM
vfs = 2
link-state = disable
min-tx-rate = 10
max-tx-rate = 50
EOF
	"$VFWARDEN" -c "$POLICY" apply
	ip link set "$NSIM" vf 1 state enable
	ip link set "$NSIM" vf 1 min_tx_rate 20
	run "$VFWARDEN" -c "$POLICY" status --json
	echo "$output" | python3 -c '
import json, sys
vf = [p for p in json.load(sys.stdin)["pfs"] if p["label"] == "sim"][0]["vfs"][1]
assert sorted(vf["drift"]) == ["link-state", "min-tx-rate"], vf'
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "sim vf1: link-state enable -> disable"
	assert_output --partial "sim vf1: min-tx-rate 20 -> 10"
	assert_equal "$(vf_attr "$NSIM" 1 link_state)" disable
	assert_equal "$(vf_attr "$NSIM" 1 min_tx)" 10
	assert_equal "$(vf_attr "$NSIM" 1 max_tx)" 50
}

# The kernel nests every VF in one IFLA_VFINFO_LIST, whose 16-bit length
# wraps past 64 KiB: iproute2 (which this test reads back with) shows about
# 222 netdevsim VFs on 6.1. vfwarden walks the list past the wrap; past 222
# the tests read back with lib/vfinfo.py, a reader of their own.
@test "220 VFs: every one is read back, so a second apply makes zero writes" {
	policy <<EOF
[pf sim]
device = $NSIM
vfs = 220
vlan = 100
spoofchk = on
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 220
	for i in 0 110 219; do
		assert_equal "$(vf_attr "$NSIM" $i vlan)" 100
		assert_equal "$(vf_attr "$NSIM" $i mac)" "$(auto_mac "$(perm_mac "$NSIM")" $i)"
	done
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "no changes"
	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" 0
	# status reads them all too
	run "$VFWARDEN" -c "$POLICY" status --json
	assert_success
	echo "$output" | python3 -c '
import json, sys
vfs = [v for p in json.load(sys.stdin)["pfs"] if p["label"] == "sim" for v in p["vfs"]]
assert len(vfs) == 220, len(vfs)
assert all(v.get("vlan") == 100 for v in vfs), [v["index"] for v in vfs if v.get("vlan") != 100][:5]'
}

@test "1024 VFs: written in a few batched requests, all read back, a second apply makes zero writes" {
	policy <<EOF
[pf sim]
device = $NSIM
vfs = 1024
vlan = 101
spoofchk = off
EOF
	local log=$BATS_TEST_TMPDIR/strace.log
	strace -f -qq -e trace=sendmsg,sendto -o "$log" "$VFWARDEN" -c "$POLICY" apply > "$BATS_TEST_TMPDIR/out"
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 1024
	# netdevsim keeps a VF's settings while it is gone: the 220 above kept their
	# MAC and VLAN 100, the rest start from zero
	run grep -c ': vlan [0-9]* qos 0 802.1Q -> 101 \|: vlan 0 -> 101 ' "$BATS_TEST_TMPDIR/out"
	assert_output 1024
	# over 2000 attribute writes, in batches of up to 1000 a request
	run grep -c RTM_SETLINK "$log"
	assert [ "$output" -ge 1 ]
	assert [ "$output" -le 6 ]
	"$BATS_TEST_DIRNAME/lib/vfinfo.py" "$NSIM" | python3 -c '
import json, sys
sys.path.insert(0, sys.argv[2])
from auto_mac import auto_mac
vfs = json.load(sys.stdin)
assert [v["vf"] for v in vfs] == list(range(1024)), len(vfs)
bad = [v for v in vfs if (v["vlan"], v["qos"], v["spoofchk"], v["mac"]) != (101, 0, 0, auto_mac(sys.argv[1], v["vf"]))]
assert not bad, bad[:3]' "$(perm_mac "$NSIM")" "$BATS_TEST_DIRNAME/lib"

	assert_equal "$(count_writes "$VFWARDEN" -c "$POLICY" apply)" 0
	# drift far past the wrap is seen and repaired, nothing else written
	ip link set "$NSIM" vf 900 vlan 5
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "sim vf900: vlan 5 qos 0 802.1Q -> 101 qos 0 802.1Q"
	assert_equal "$(echo "$output" | grep -c ' -> ')" 1
	"$BATS_TEST_DIRNAME/lib/vfinfo.py" "$NSIM" | python3 -c '
import json, sys
assert json.load(sys.stdin)[900]["vlan"] == 101'
}

# eswitch-mode (issue 19 item 3): netdevsim has a devlink eswitch and, in
# switchdev mode, a pcivf port with a representor netdev per VF. Read back
# with devlink (iproute2), never from vfwarden.
nsim_dl() { echo "netdevsim/${NSIM_SYSFS##*/}"; }

eswitch_mode() {
	devlink -j dev eswitch show "$(nsim_dl)" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["dev"][sys.argv[1]]["mode"])' "$(nsim_dl)"
}

# "VF NETDEV" for each pcivf port of the netdevsim device, by VF.
devlink_reps() {
	devlink -j port show | python3 -c '
import json, sys
ports = [p for n, p in json.load(sys.stdin)["port"].items()
         if n.startswith(sys.argv[1] + "/") and p["flavour"] == "pcivf"]
for p in sorted(ports, key=lambda p: p["vfnum"]):
    print(p["vfnum"], p["netdev"])' "$(nsim_dl)"
}

esw_policy() { # MODE
	policy <<EOF
[pf sim]
device = $NSIM
vfs = 2
mac = none
eswitch-mode = $1
EOF
}

@test "eswitch-mode switchdev on netdevsim: set before the VFs, representors in status as devlink lists them, back to legacy with the VFs kept" {
	devlink dev eswitch set "$(nsim_dl)" mode legacy
	esw_policy switchdev
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(eswitch_mode)" switchdev
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 2
	# netdevsim takes the mode at any time (helper/eswitch.c): set first
	assert_equal "$(echo "$output" | grep -E '^sim: (eswitch-mode|vfs)' | tr '\n' '|')" \
		'sim: eswitch-mode legacy -> switchdev|sim: vfs 0 -> 2|'
	reps=$(devlink_reps)
	assert_equal "$(echo "$reps" | wc -l)" 2
	while read -r vf rep; do
		assert_equal "$(cat "/sys/class/net/$rep/phys_port_name")" "pf0vf$vf"
	done <<< "$reps"

	run "$VFWARDEN" -c "$POLICY" status --json
	assert_success
	got=$(python3 -c '
import json, sys
(pf,) = [p for p in json.loads(sys.argv[1])["pfs"] if p["pci"] == sys.argv[2]]
assert (pf["eswitch_mode"], pf["policy_eswitch_mode"]) == ("switchdev", "switchdev"), pf
for v in pf["vfs"]:
    print(v["index"], v["representor"])' "$output" "${NSIM_SYSFS##*/}")
	assert_equal "$got" "$reps"
	run "$VFWARDEN" -c "$POLICY" status
	assert_success
	assert_line --regexp "^sim +$NSIM +${NSIM_SYSFS##*/} +switchdev +1 +${reps##* }\$"

	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "no changes"

	esw_policy legacy
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_line 'sim: eswitch-mode switchdev -> legacy'
	assert_equal "$(eswitch_mode)" legacy
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 2
	assert_equal "$(devlink_reps)" ""
}

@test "eswitch-mode not in the policy: the mode set by hand stays" {
	devlink dev eswitch set "$(nsim_dl)" mode switchdev
	policy <<EOF
[pf sim]
device = $NSIM
vfs = 2
mac = none
EOF
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_equal "$(eswitch_mode)" switchdev
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 2
	assert_equal "$(devlink_reps | wc -l)" 2
	devlink dev eswitch set "$(nsim_dl)" mode legacy
}

@test "udev: a representor netdev starts no vfwarden@, the PF's netdev does" {
	local installed rule=/run/udev/rules.d/70-vfwarden.rules nsim=${NSIM_SYSFS##*/} first
	installed=$(ls /usr/lib/udev/rules.d/70-vfwarden.rules /lib/udev/rules.d/70-vfwarden.rules 2>/dev/null | head -n 1)
	[ -n "$installed" ]
	rm -f "$rule"
	# The installed rule: an igb PF's netdev (no phys_port_name) still wants its instance.
	run bash -c "udevadm test --action=add /sys/class/net/$PF0 2>/dev/null"
	assert_line "SYSTEMD_WANTS=vfwarden@$PF0_PCI.service"
	# netdevsim is no PCI device: the same rule with its bus in place of
	# pci, in /run (which overrides the installed one), so that udevd's own
	# events for the representors go through it.
	mkdir -p /run/udev/rules.d
	sed 's/SUBSYSTEMS=="pci"/SUBSYSTEMS=="netdevsim"/' "$installed" > "$rule"
	grep -q 'SUBSYSTEMS=="netdevsim"' "$rule"
	udevadm control --reload
	devlink dev eswitch set "$(nsim_dl)" mode legacy
	esw_policy switchdev
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	udevadm settle --timeout=60
	reps=$(devlink_reps | cut -d' ' -f2)
	assert_equal "$(echo "$reps" | wc -w)" 2
	for r in $reps; do
		# what udevd did on the representor's add event
		run udevadm info --query=property "/sys/class/net/$r"
		assert_success
		refute_output --partial vfwarden@
		run bash -c "udevadm test --action=add /sys/class/net/$r 2>/dev/null"
		assert_success
		refute_output --partial vfwarden@
	done
	run bash -c "udevadm test --action=add /sys/class/net/$NSIM 2>/dev/null"
	assert_line "SYSTEMD_WANTS=vfwarden@$nsim.service"
	# Without its representor line, the rule would take the representor.
	first=${reps%%[[:space:]]*}
	sed -i '/phys_port_name}=="/d' "$rule"
	run bash -c "udevadm test --action=add /sys/class/net/$first 2>/dev/null"
	assert_line "SYSTEMD_WANTS=vfwarden@$nsim.service"
	rm -f "$rule"
	udevadm control --reload
	devlink dev eswitch set "$(nsim_dl)" mode legacy
}

@test "selectors: driver = netdevsim selects the netdevsim PF; pci-id never matches it (no PCI IDs)" {
	echo 0 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	# netdevsim's device is on its own bus: a driver link, no vendor or device
	assert_equal "$(basename "$(readlink "$NSIM_SYSFS/driver")")" netdevsim
	[ ! -e "$NSIM_SYSFS/vendor" ] && [ ! -e "$NSIM_SYSFS/device" ]
	policy <<EOF
[pf sim]
driver = netdevsim
vfs = 2
vlan = 7
[pf ids]
driver = netdevsim
pci-id = 8086:10c9
vfs = 1
EOF
	run "$VFWARDEN" -c "$POLICY" check
	assert_success
	run "$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_output --partial "sim/$NSIM: vfs 0 -> 2"
	assert_equal "$(cat "$NSIM_SYSFS/sriov_numvfs")" 2
	assert_equal "$(vf_attrs "$NSIM" vlan)" $'0 7\n1 7'
	# the igb PF is neither netdevsim nor matched by [pf ids]
	assert_equal "$(cat "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs")" 0
}
