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
