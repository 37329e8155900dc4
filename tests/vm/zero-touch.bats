#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2 --systemd --libvirt
# vm-setup: tests/vm/zero-touch.setup
# Zero-touch: systemd as PID 1, udev, the installed units and rules; the
# policy was put in place before boot (zero-touch.setup) and nobody runs
# vfwarden by hand. Everything is read back from the kernel.

load helpers

setup() {
	vm_setup
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd"
}

vlans_are() { vfs_have "$1" "$3" "$2" vlan; } # PF VLAN N: the first N VFs have VLAN

@test "at boot: VFs exist, configured and bound, before libvirtd starts" {
	assert_equal "$(numvfs "$PF0_PCI")" 3
	for i in 0 1 2; do
		assert_equal "$(vf_driver "$PF0_PCI" $i)" vfio-pci
		assert_equal "$(vf_attr "$PF0" $i vlan)" 11
	done
	assert_equal "$(vf_attr "$PF0" 2 trust)" true
	run systemctl is-failed vfwarden.service
	assert_output inactive
	done_at=$(systemctl show -P ExecMainExitTimestampMonotonic vfwarden.service)
	[ "$done_at" -gt 0 ]
	if systemctl cat libvirtd.service > /dev/null 2>&1; then
		started=$(systemctl show -P ExecMainStartTimestampMonotonic libvirtd.service)
		[ "$started" -gt 0 ]
		[ "$done_at" -le "$started" ]
	fi
	# a PF that the policy does not name is left untouched
	assert_equal "$(numvfs "$PF1_PCI")" 0
}

@test "a driver rebind of the PF brings its VFs back per policy" {
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/unbind
	[ ! -e /sys/bus/pci/devices/$PF0_PCI/virtfn0 ]
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/bind
	wait_for 90 grep -qx 3 /sys/bus/pci/devices/$PF0_PCI/sriov_numvfs
	pf=$(ls /sys/bus/pci/devices/$PF0_PCI/net)
	wait_for 60 vlans_are "$pf" 11 3
	wait_for 30 sh -c "readlink /sys/bus/pci/devices/$PF0_PCI/virtfn2/driver | grep -q vfio-pci"
	assert_equal "$(vf_attr "$pf" 2 trust)" true
}

@test "a hot-added PF gets its VFs per policy; hot-removing it fails nothing" {
	run vm-hotplug add
	assert_success
	read -r dev ifname pci <<< "$output"
	wait_for 120 grep -qsx 2 /sys/bus/pci/devices/$pci/sriov_numvfs
	wait_for 60 vlans_are "$ifname" 21 2
	assert_equal "$(vf_driver "$pci" 1)" vfio-pci
	run vm-hotplug del "$dev"
	assert_success
	sleep 2
	run systemctl list-units --failed --no-legend 'vfwarden*'
	assert_output ""
}

@test "a policy edit is applied by itself; a broken edit changes nothing and is logged" {
	sed -i 's/^vlan = 11/vlan = 12/' /etc/vfwarden/vfwarden.conf
	wait_for 60 vlans_are "$PF0" 12 3
	since=$(date '+%Y-%m-%d %H:%M:%S')
	echo "qos = 9" >> /etc/vfwarden/vfwarden.conf
	sleep 5
	wait_for 30 sh -c "journalctl -q --since '$since' -u vfwarden.service | grep -q '/etc/vfwarden/vfwarden.conf:8: invalid qos'"
	vlans_are "$PF0" 12 3
	assert_equal "$(numvfs "$PF0_PCI")" 3
}

# wait_secs SECONDS CMD...: as wait_for, but bounded in time also when CMD
# is slow (vfs_have starts python: half a second and more under TCG).
wait_secs() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.5
	done
}

# marks_after_change VALUE NETDEV...: a change uevent for each netdev, then
# each has NM_UNMANAGED=VALUE ("" for none).
marks_after_change() {
	local want=$1 n
	shift
	for n in "$@"; do
		udevadm trigger --action=change "/sys/class/net/$n"
	done
	udevadm settle
	for n in "$@"; do
		assert_equal "$n: $(nm_unmanaged "$n")" "$n: $want"
	done
}

# No vfwarden unit runs, waits to run or waits to restart.
vfwarden_idle() {
	[ -z "$(systemctl list-jobs --no-legend 'vfwarden*')" ] &&
		[ -z "$(systemctl list-units --all --no-legend --state=activating,deactivating 'vfwarden*')" ]
}

# The policy valid again (the broken edit above leaves 'qos = 9') and
# whatever that edit starts finished. The path units react to inotify
# asynchronously: give them a second before looking.
policy_settled() {
	if grep -qx 'qos = 9' /etc/vfwarden/vfwarden.conf; then
		sed -i '/^qos = 9$/d' /etc/vfwarden/vfwarden.conf
	fi
	sleep 1
	wait_secs 120 vfwarden_idle
}

# conf_b VLAN [LINE]: PF1, which zero-touch.setup leaves out, as [pf b] in conf.d.
conf_b() {
	printf '[pf b]\ndevice = %s\nvfs = 2\nvlan = %s\n%s\n' "$PF1_PCI" "$1" "${2:-}" > /etc/vfwarden/conf.d/60-b.conf
}

@test "50 quick writes to conf.d end with the last policy applied; the watch survives" {
	policy_settled
	# what a configuration-management run does: one write after another
	for vlan in $(seq 101 150); do
		conf_b "$vlan"
	done
	wait_secs 120 vlans_are "$PF1" 150 2
	sleep 1
	wait_secs 120 vfwarden_idle
	vlans_are "$PF1" 150 2
	assert_equal "$(systemctl is-active vfwarden.path)" active
	run systemctl list-units --all --failed --no-legend 'vfwarden*'
	assert_output ""
	# and a later edit is still applied
	conf_b 160
	wait_secs 60 vlans_are "$PF1" 160 2
}

# vfwarden.service's apply has the lock file open: it read the policy and waits.
apply_waits_for_lock() {
	local pid
	pid=$(systemctl show -P MainPID vfwarden.service)
	[ "${pid:-0}" != 0 ] && ls -l "/proc/$pid/fd" 2>/dev/null | grep -q ' /run/vfwarden/lock$'
}

@test "an edit saved while an apply runs is applied after it" {
	policy_settled
	# the apply that the first edit starts waits for the lock held here
	exec 9> /run/vfwarden/lock
	flock -x 9
	conf_b 170
	# it has read the policy once it opens the lock (vfwarden validates first)
	wait_secs 60 apply_waits_for_lock
	conf_b 171
	# let the second edit be seen while that apply still waits
	wait_secs 20 test -e /run/vfwarden/policy-edited || true
	flock -u 9
	exec 9>&-
	wait_secs 120 vlans_are "$PF1" 171 2
	sleep 1
	wait_secs 120 vfwarden_idle
	vlans_are "$PF1" 171 2
	assert_equal "$(systemctl is-active vfwarden.path)" active
}

@test "vfwarden@PF.service retries a lock timeout (exit 4), not exit 1; exit 3 is success" {
	policy_settled
	local unit=vfwarden@$PF0_PCI.service dropin=/run/systemd/system/vfwarden@.service.d
	local vlan since
	vlan=$(sed -n 's/^vlan = //p' /etc/vfwarden/vfwarden.conf)
	since=$(date '+%Y-%m-%d %H:%M:%S')
	# the instance's lock timeout down from 60 s to 2 s, and its RestartSec
	# from 10 s to 1 s: what is proven is which exit statuses are retried
	mkdir -p "$dropin"
	printf '[Service]\nRestartSec=1s\nExecStart=\nExecStart=%s apply --lock-timeout 2 %%I\n' "$VFWARDEN" > "$dropin/50-test.conf"
	systemctl daemon-reload
	echo 0 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	exec 9> /run/vfwarden/lock
	flock -x 9
	systemctl start --no-block "$unit"
	wait_secs 60 sh -c "[ \"\$(systemctl show -P ExecMainStatus $unit)\" = 4 ]"
	flock -u 9
	exec 9>&-
	# the PF's event is not lost: the instance runs again and converges it
	wait_secs 120 grep -qx 3 "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	wait_secs 60 vlans_are "$PF0" "$vlan" 3
	wait_secs 60 vfwarden_idle
	# nothing but the instance's retry ran an apply for PF0 since; the first
	# try logged its timeout (systemd unloads an instance that ended well, so
	# systemctl show would describe a fresh unit; PID 1 logs to the console)
	run systemctl is-failed "$unit"
	refute_output failed
	wait_secs 10 sh -c "journalctl -q --since '$since' -u '$unit' | grep -q 'holds /run/vfwarden/lock for over 2s'"

	# exit 1, an invalid policy, is not retried
	printf '[pf x]\ndevice = %s\nvfs = 1\nbogus = 1\n' "$PF0_PCI" > /run/vfwarden-test-bad.conf
	printf '[Service]\nRestartSec=1s\nExecStart=\nExecStart=%s -c /run/vfwarden-test-bad.conf apply %%I\n' "$VFWARDEN" > "$dropin/50-test.conf"
	systemctl daemon-reload
	run systemctl start "$unit"
	assert_failure
	started=$(systemctl show -P ExecMainStartTimestampMonotonic "$unit")
	# five times RestartSec: a retry would have started by now
	sleep 5
	assert_equal "$(systemctl show -P ActiveState "$unit")" failed
	assert_equal "$(systemctl show -P ExecMainStatus "$unit")" 1
	assert_equal "$(systemctl show -P ExecMainStartTimestampMonotonic "$unit")" "$started"
	systemctl reset-failed "$unit"

	# exit 3 (here: no such PF) is a success, nothing to retry
	rm -f "$dropin/50-test.conf" /run/vfwarden-test-bad.conf
	systemctl daemon-reload
	since=$(date '+%Y-%m-%d %H:%M:%S')
	run systemctl start vfwarden@0000:0f:00.0.service
	assert_success
	wait_secs 10 sh -c "journalctl -q --since '$since' -u vfwarden@0000:0f:00.0.service | grep -q 'no SR-IOV PF'"
	run systemctl is-failed vfwarden@0000:0f:00.0.service
	refute_output failed
}

# doctor_managers [-c FILE]: "RESULT: DETAIL" of doctor's network-managers check
doctor_managers() {
	"$VFWARDEN" "$@" doctor --json | python3 -c '
import json, sys
c = [c for c in json.load(sys.stdin)["checks"] if c["check"] == "network-managers"][0]
print(c["result"] + ": " + c["detail"])'
}

@test "udev marks VF netdevs NM_UNMANAGED=1 only for PFs the policy names, on every event" {
	local n netdevs t0 t1
	rm -f /etc/vfwarden/conf.d/60-b.conf
	policy_settled
	echo 0 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
	conf_b 180 "vf-driver = kernel"
	wait_secs 120 test -d "/sys/bus/pci/devices/$PF1_PCI/virtfn1/net"
	wait_secs 60 vfwarden_idle
	udevadm settle
	netdevs=$(vf_netdevs "$PF1_PCI")
	[ "$(echo "$netdevs" | wc -w)" = 2 ]
	for n in $netdevs; do
		assert_equal "$n: $(nm_unmanaged "$n")" "$n: 1"
	done
	# doctor asks udev (libudev) for the same marks: none missing
	mkdir -p /run/NetworkManager
	assert_equal "$(doctor_managers)" "ok: 2 VF netdevs left alone by network managers"
	# a change uevent (udevadm trigger, as doctor suggests) keeps the mark
	marks_after_change 1 $netdevs
	t0=$(date +%s%N)
	for _ in $(seq 100); do
		"$VFWARDEN" udev "$n" > /dev/null
	done
	t1=$(date +%s%N)
	echo "# vfwarden udev $n: $(((t1 - t0) / 100000)) us per run (100 runs, TCG guest)" >&3

	# PF1 leaves the policy: its VFs stay, NetworkManager may have them
	rm -f /etc/vfwarden/conf.d/60-b.conf
	policy_settled
	marks_after_change "" $netdevs
	printf '[pf b]\ndevice = %s\nvfs = 2\nvf-driver = kernel\n' "$PF1_PCI" > "$BATS_TEST_TMPDIR/b.conf"
	assert_equal "$(doctor_managers -c "$BATS_TEST_TMPDIR/b.conf")" \
		"warn: 2 VF netdevs without NM_UNMANAGED while NetworkManager runs"
	rm -rf /run/NetworkManager
	# VFs made by hand on a PF the policy does not name: not marked on add
	echo 0 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
	echo 2 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
	wait_secs 60 test -d "/sys/bus/pci/devices/$PF1_PCI/virtfn1/net"
	udevadm settle
	netdevs=$(vf_netdevs "$PF1_PCI")
	for n in $netdevs; do
		assert_equal "$n: $(nm_unmanaged "$n")" "$n: "
	done
	echo 0 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
}

# doctor_other_managers -c FILE: the detail of each sriov-managers warning, a line each
doctor_other_managers() {
	"$VFWARDEN" "$@" doctor --json | python3 -c '
import json, sys
for c in json.load(sys.stdin)["checks"]:
    if c["check"] == "sriov-managers" and c["result"] == "warn":
        print(c["detail"])'
}

@test "doctor names NetworkManager, .link, .network, netplan, unit and rc.local files that set VFs of a policy PF, not of another" {
	local pf other mac out f rc_local=
	local nm=/etc/NetworkManager/system-connections sd=/etc/systemd/network unit=/etc/systemd/system
	pf=$(ls "/sys/bus/pci/devices/$PF0_PCI/net")
	other=$(ls "/sys/bus/pci/devices/$PF1_PCI/net")
	mac=$(cat "/sys/class/net/$pf/address")
	# doctor takes a .link's Path= to be udev's ID_PATH, pci-<PCI address>
	udevadm info -q property "/sys/class/net/$pf" | grep -qx "ID_PATH=pci-$PF0_PCI"
	printf '[pf a]\ndevice = %s\nvfs = 3\n' "$PF0_PCI" > "$BATS_TEST_TMPDIR/a.conf"
	# One file of each kind for the policy's PF, one for the other PF. Only
	# written: nothing reloads NetworkManager, networkd or systemd, and the
	# counts are the policy's own in case udev applies the .link.
	mkdir -p "$nm" "$sd" /etc/netplan
	printf '[connection]\ntype=ethernet\n[ethernet]\nmac-address=%s\n[sriov]\ntotal-vfs=3\n' "$mac" > "$nm/vfw-test.nmconnection"
	printf '[connection]\ninterface-name=%s\n[sriov]\ntotal-vfs=3\n' "$other" > "$nm/vfw-test-other.nmconnection"
	printf '[Match]\nPath=pci-%s\n[Link]\nSR-IOVVirtualFunctions=3\n' "$PF0_PCI" > "$sd/10-vfw-test.link"
	printf '[Match]\nPath=pci-%s\n[Link]\nSR-IOVVirtualFunctions=3\n' "$PF1_PCI" > "$sd/10-vfw-test-other.link"
	printf '[Match]\nName=%s\n[SR-IOV]\nVirtualFunction=2\nTrust=yes\n' "$pf" > "$sd/10-vfw-test.network"
	printf '[Match]\nName=%s\n[SR-IOV]\nVirtualFunction=2\nTrust=yes\n' "$other" > "$sd/10-vfw-test-other.network"
	printf 'network:\n  version: 2\n  ethernets:\n    %s:\n      virtual-function-count: 3\n' "$pf" > /etc/netplan/90-vfw-test.yaml
	printf 'network:\n  ethernets:\n    %s:\n      virtual-function-count: 3\n' "$other" > /etc/netplan/90-vfw-test-other.yaml
	printf '[Service]\nExecStart=/bin/sh -c "echo 3 > /sys/bus/pci/devices/%s/sriov_numvfs"\n' "$PF0_PCI" > "$unit/vfw-test.service"
	printf '[Service]\nExecStart=/bin/sh -c "echo 3 > /sys/bus/pci/devices/%s/sriov_numvfs"\n' "$PF1_PCI" > "$unit/vfw-test-other.service"
	if [ ! -e /etc/rc.local ]; then
		rc_local=/etc/rc.local
		printf '#!/bin/sh\necho 3 > /sys/class/net/%s/device/sriov_numvfs\n' "$pf" > "$rc_local"
	fi
	out=$(doctor_other_managers -c "$BATS_TEST_TMPDIR/a.conf" || true)
	rm -f "$nm"/vfw-test*.nmconnection "$sd"/10-vfw-test* /etc/netplan/90-vfw-test*.yaml "$unit"/vfw-test*.service $rc_local
	sed 's/^/# /' <<< "$out" >&3
	for f in "$nm/vfw-test.nmconnection:5: NetworkManager's [sriov]" \
		"$sd/10-vfw-test.link:4: systemd .link's SR-IOVVirtualFunctions=" \
		"$sd/10-vfw-test.network:3: systemd-networkd's [SR-IOV]" \
		"/etc/netplan/90-vfw-test.yaml:5: netplan's virtual-function-count"; do
		grep -qxF "$f also sets VFs of $pf" <<< "$out"
	done
	grep -qxF "$unit/vfw-test.service:2: writes sriov_numvfs of $pf" <<< "$out"
	[ -z "$rc_local" ] || grep -qxF "/etc/rc.local:2: writes sriov_numvfs of $pf" <<< "$out"
	[ -z "$(grep -e 'vfw-test-other' -e "$other" <<< "$out")" ]
}
