#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 1
# vm-env: VFWARDEN_VM_IOMMU=0 VFWARDEN_VM_TIMEOUT=480
# A host whose firmware offers an IOMMU (ACPI DMAR) that the kernel was not
# told to use: no intel_iommu=on, so no IOMMU groups and no vfio. doctor
# must say so, with the fix, and fail.

load helpers

setup() {
	vm_setup
}

@test "without intel_iommu=on, doctor fails the IOMMU checks and names the fix" {
	# the kernel's own view first: DMAR there, no groups
	[ -e /sys/firmware/acpi/tables/DMAR ]
	[ "$(ls /sys/kernel/iommu_groups | wc -l)" = 0 ]
	run "$VFWARDEN" doctor
	assert_failure
	assert_line --regexp "^ok +iommu-firmware +ACPI DMAR table present"
	assert_line --regexp "^fail +iommu-cmdline +intel_iommu=on is not on the kernel command line"
	assert_line --partial "fix: add intel_iommu=on (and iommu=pt) to the kernel command line"
	assert_line --regexp "^fail +iommu-groups"
	run "$VFWARDEN" doctor --json
	assert_failure
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["fail"] >= 2, d
c = {c["check"]: c for c in d["checks"]}
assert c["iommu-cmdline"]["result"] == "fail" and "intel_iommu=on" in c["iommu-cmdline"]["fix"], c["iommu-cmdline"]'
}
