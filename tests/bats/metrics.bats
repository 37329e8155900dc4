#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden status --prometheus [--output FILE]: node_exporter textfile format,
# parsed with the Prometheus project's own Python parser.

load helpers

setup() {
	vfw_setup
	fake_pf 0000:01:00.0 enp1s0 7 2
	fake_vfs 0000:01:00.0 2 vfio-pci
	echo 0 >"$SYS/bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe"
	fake_pf 0000:02:00.0 enp2s0 4 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
EOF
	fake_vf_state enp1s0 0 mac="$(auto_mac "$(pf_mac enp1s0)" 0)" vlan=100
	fake_vf_state enp1s0 1 mac="$(auto_mac "$(pf_mac enp1s0)" 1)" vlan=5
}

# metric NAME [LABEL=VALUE]: the sample's value, parsed by prometheus_client
metric() {
	# Debian's python3 (python3-prometheus-client), whatever python3 is first in PATH
	/usr/bin/python3 - "$1" "${2:-}" "$METRICS" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
name, sel, path = sys.argv[1], sys.argv[2], sys.argv[3]
k, _, v = sel.partition("=")
for fam in text_string_to_metric_families(open(path).read()):
    for s in fam.samples:
        if s.name == name and (not k or s.labels.get(k) == v):
            print(int(s.value))
            sys.exit(0)
sys.exit(1)
PY
}

@test "metrics parse and match the host: VFs per PF, wanted, in use, drift" {
	fake_in_use "$(cat "$SYS/bus/pci/devices/$(vf_pci 0000:01:00.0 0)/iommu_group_nr" 2>/dev/null || basename "$(readlink "$SYS/bus/pci/devices/$(vf_pci 0000:01:00.0 0)/iommu_group")")" 4242
	METRICS=$BATS_TEST_TMPDIR/m.prom
	run --separate-stderr vfw -c "$POLICY" status --prometheus
	assert_success
	echo "$output" > "$METRICS"
	assert_equal "$(metric vfwarden_pf_vfs pci=0000:01:00.0)" 2
	assert_equal "$(metric vfwarden_pf_vfs_total pci=0000:01:00.0)" 7
	assert_equal "$(metric vfwarden_pf_vfs_wanted pci=0000:01:00.0)" 2
	assert_equal "$(metric vfwarden_pf_vfs_in_use pci=0000:01:00.0)" 1
	assert_equal "$(metric vfwarden_pf_vfs_drift label=uplink)" 1
	assert_equal "$(metric vfwarden_pf_vfs pci=0000:02:00.0)" 0
	# unmanaged PF: no wanted count
	run metric vfwarden_pf_vfs_wanted pci=0000:02:00.0
	assert_failure
	assert_equal "$(metric vfwarden_policy_valid)" 1
}

@test "metrics carry the last apply: time, status, changes, failures by attribute" {
	fake_reject enp1s0 link-state
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
link-state = disable
EOF
	before=$(date +%s)
	run vfw -c "$POLICY" apply
	assert_failure 3
	METRICS=$BATS_TEST_TMPDIR/out/vfwarden.prom
	mkdir -p "$(dirname "$METRICS")"
	run vfw -c "$POLICY" status --prometheus --output "$METRICS"
	assert_success
	assert_output ""
	[ ! -e "$METRICS.tmp" ]
	assert_equal "$(metric vfwarden_last_apply_exit_status)" 3
	assert_equal "$(metric vfwarden_last_apply_failures attribute=link-state)" 2
	assert_equal "$(metric vfwarden_last_apply_changes)" 1
	[ "$(metric vfwarden_last_apply_timestamp_seconds)" -ge "$before" ]
}

@test "--json and --prometheus exclude each other; a bad --output changes nothing" {
	run vfw -c "$POLICY" status --json --prometheus
	assert_failure 2
	run vfw -c "$POLICY" status --prometheus --output /nonexistent/dir/x.prom
	assert_failure 4
	[ ! -e /nonexistent/dir ]
}
