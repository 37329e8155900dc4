#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2
# vm-env: VFWARDEN_VM_TIMEOUT=480
# vfwarden doctor on the emulated host (intel-iommu with interrupt
# remapping, intel_iommu=on, 2 igb PFs with 7 VFs each): what it reports is
# compared with what the kernel itself shows.

load helpers

setup() {
	vm_setup
	vm_reset
}

# check NAME FIELD: one field (result, detail, fix) of a doctor --json check
check() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["checks"] if c["check"] == sys.argv[2]]
print(c[0][sys.argv[3]] if c else "missing")' "$BATS_TEST_TMPDIR/doctor.json" "$1" "$2"
}

@test "doctor reports the IOMMU on, interrupts remapped, and each igb PF with 7 VFs" {
	run "$VFWARDEN" doctor --json
	echo "$output" > "$BATS_TEST_TMPDIR/doctor.json"
	assert_equal "$(check iommu-firmware result)" ok
	assert_equal "$(check iommu-cmdline result)" ok
	assert_equal "$(check iommu-groups result)" ok
	assert_equal "$(check iommu-groups detail)" "$(ls /sys/kernel/iommu_groups | wc -l) IOMMU groups"
	assert_equal "$(check interrupt-remapping result)" ok
	for i in 0 1; do
		assert_equal "$(check "pf ${PFS[$i]}" result)" ok
		assert_equal "$(cat /sys/bus/pci/devices/${PF_ADDRS[$i]}/sriov_totalvfs)" 7
		assert_equal "$(check "pf ${PFS[$i]}" detail)" "${PF_ADDRS[$i]} (igb): 0 of 7 VFs"
	done
}

@test "doctor sees VFs alone in their IOMMU groups and vfio-pci once a policy binds them" {
	policy <<EOF
[pf a]
device = $PF0
vfs = 3
EOF
	"$VFWARDEN" -c "$POLICY" apply
	run "$VFWARDEN" -c "$POLICY" doctor --json
	echo "$output" > "$BATS_TEST_TMPDIR/doctor.json"
	assert_equal "$(check vfio-pci result)" ok
	assert_equal "$(check "groups $PF0" result)" ok
	assert_equal "$(check "groups $PF0" detail)" "each of 3 VFs is alone in its IOMMU group"
	assert_equal "$(check "pf $PF0" detail)" "$PF0_PCI (igb): 3 of 7 VFs"
	assert_equal "$(check policy result)" ok
	# the table for people says the same
	run "$VFWARDEN" -c "$POLICY" doctor
	assert_line --regexp "^ok +iommu-cmdline +intel_iommu=on"
}

# Last in this file: it stops udevd.
@test "doctor asks udev for NM_UNMANAGED: marked VF netdevs pass, unmarked ones warn, udev stopped is said" {
	udevadm control --ping
	mkdir -p /etc/vfwarden/conf.d
	printf '[pf a]\ndevice = %s\nvfs = 2\nvf-driver = kernel\n' "$PF0_PCI" > /etc/vfwarden/conf.d/doctor.conf
	"$VFWARDEN" apply
	wait_for 60 test -d "/sys/bus/pci/devices/$PF0_PCI/virtfn1/net"
	# PF1's VFs made by hand: 70-vfwarden.rules does not mark them
	echo 2 > "/sys/bus/pci/devices/$PF1_PCI/sriov_numvfs"
	wait_for 60 test -d "/sys/bus/pci/devices/$PF1_PCI/virtfn1/net"
	udevadm settle
	marked=$(vf_netdevs "$PF0_PCI") unmarked=$(vf_netdevs "$PF1_PCI")
	for n in $marked; do assert_equal "$n: $(nm_unmanaged "$n")" "$n: 1"; done
	for n in $unmarked; do assert_equal "$n: $(nm_unmanaged "$n")" "$n: "; done
	mkdir -p /run/NetworkManager

	run "$VFWARDEN" doctor --json
	echo "$output" > "$BATS_TEST_TMPDIR/doctor.json"
	assert_equal "$(check network-managers result)" ok
	assert_equal "$(check network-managers detail)" "2 VF netdevs left alone by network managers"
	# a policy that names PF1 too: its two VF netdevs have no mark
	printf '[pf a]\ndevice = %s\nvfs = 2\nvf-driver = kernel\n\n[pf b]\ndevice = %s\nvfs = 2\nvf-driver = kernel\n' \
		"$PF0_PCI" "$PF1_PCI" | policy
	run "$VFWARDEN" -c "$POLICY" doctor --json
	echo "$output" > "$BATS_TEST_TMPDIR/doctor.json"
	assert_equal "$(check network-managers result)" warn
	assert_equal "$(check network-managers detail)" "2 VF netdevs without NM_UNMANAGED while NetworkManager runs"

	# udevd gone: doctor says so and still reports every check. udevd
	# leaves its control socket behind when it exits; a host without udev
	# (a container) has none, nor has libudev then.
	udevadm control --exit
	wait_for 30 sh -c '! udevadm control --ping 2> /dev/null'
	rm -f /run/udev/control
	run "$VFWARDEN" -c "$POLICY" doctor --json
	assert_success
	echo "$output" > "$BATS_TEST_TMPDIR/doctor.json"
	assert_equal "$(check network-managers detail)" "udev is not running: 2 VF netdevs without NM_UNMANAGED while NetworkManager runs"
	assert_equal "$(check policy result)" ok
	rm -rf /run/NetworkManager /etc/vfwarden/conf.d/doctor.conf
}
