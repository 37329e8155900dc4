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
	assert_equal "$(metric vfwarden_pf_vfs_max pci=0000:01:00.0)" 7
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

# check_conventions FILE: the Prometheus project's own checks (promtool check
# metrics, from Debian's prometheus package) and, with its Python parser,
# the naming rules promtool does not enforce.
check_conventions() {
	promtool check metrics <"$1"
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
errors = []
for fam in text_string_to_metric_families(text):
    if fam.name not in helps or fam.name not in types:
        errors.append(f"{fam.name}: no HELP or TYPE line")
    if fam.type == "gauge" and re.search(r"_(total|count|sum|bucket)$", fam.name):
        errors.append(f"{fam.name}: a gauge named like a counter or histogram")
    if not fam.name.startswith("vfwarden_"):
        errors.append(f"{fam.name}: not in the vfwarden_ namespace")
    for s in fam.samples:
        for k, v in s.labels.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", k):
                errors.append(f"{s.name}: label name {k!r} is not snake_case")
            if v == "":
                errors.append(f"{s.name}: label {k} is empty")
        if "interface" in s.labels or "pf" in s.labels:
            errors.append(f"{s.name}: the interface label is 'device', as node_exporter names it")
if errors:
    sys.exit("\n".join(errors))
PY
}

@test "metrics follow Prometheus conventions: promtool, HELP and TYPE, no _total gauge, label 'device', no empty label" {
	command -v promtool >/dev/null || fail "promtool not installed (Debian package prometheus, make deps)"
	# a PF without an interface and an unmanaged PF: labels left out, never empty
	fake_pf 0000:05:00.0 - 4 0
	run vfw -c "$POLICY" apply
	METRICS=$BATS_TEST_TMPDIR/m.prom
	run --separate-stderr vfw -c "$POLICY" status --prometheus --output "$METRICS"
	assert_success
	run check_conventions "$METRICS"
	assert_success
	run cat "$METRICS"
	assert_line 'vfwarden_pf_vfs_max{device="enp1s0",pci="0000:01:00.0",label="uplink"} 7'
	assert_line 'vfwarden_pf_vfs_max{device="enp2s0",pci="0000:02:00.0"} 4'
	assert_line 'vfwarden_pf_vfs_max{pci="0000:05:00.0"} 4'
	# the old output did not pass: a _total gauge, 'pf' and empty labels
	refute_line --regexp '^vfwarden_[a-z_]*_total[{ ]'
	refute_output --partial '=""'
}

@test "metrics: vfwarden_build_info carries the version" {
	METRICS=$BATS_TEST_TMPDIR/m.prom
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	version=$(vfw --version | grep -o '[0-9][0-9.]*' | head -n 1)
	[ -n "$version" ]
	assert_equal "$(metric vfwarden_build_info version="$version")" 1
}

@test "metrics: the last apply per PF: a run for one PF (udev) does not hide another PF's failure" {
	fake_reject enp1s0 link-state
	fake_vfs 0000:02:00.0 2 vfio-pci
	echo 2 >"$SYS/bus/pci/devices/0000:02:00.0/sriov_numvfs"
	fake_vf_state enp2s0 0 mac="$(auto_mac "$(pf_mac enp2s0)" 0)"
	fake_vf_state enp2s0 1 mac="$(auto_mac "$(pf_mac enp2s0)" 1)"
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
link-state = disable
[pf other]
device = enp2s0
vfs = 2
EOF
	run vfw -c "$POLICY" apply
	assert_failure 3
	# then udev's vfwarden@enp2s0: that PF is fine
	run vfw -c "$POLICY" apply enp2s0
	assert_success
	METRICS=$BATS_TEST_TMPDIR/m.prom
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	# the run as a whole: the last one, enp2s0's
	assert_equal "$(metric vfwarden_last_apply_exit_status)" 0
	# per PF: enp1s0's failure is still there
	assert_equal "$(metric vfwarden_pf_last_apply_exit_status device=enp1s0)" 3
	assert_equal "$(metric vfwarden_pf_last_apply_failures attribute=link-state)" 2
	assert_equal "$(metric vfwarden_pf_last_apply_changes device=enp1s0)" 1
	assert_equal "$(metric vfwarden_pf_last_apply_exit_status device=enp2s0)" 0
	[ "$(metric vfwarden_pf_last_apply_timestamp_seconds device=enp2s0)" -ge \
		"$(metric vfwarden_pf_last_apply_timestamp_seconds device=enp1s0)" ]
	# one file per PF, replaced whole
	[ -f "$ROOT/run/vfwarden/last-apply.d/0000:01:00.0" ]
	[ -f "$ROOT/run/vfwarden/last-apply.d/0000:02:00.0" ]
	[ -z "$(find "$ROOT/run/vfwarden" -name '*.tmp')" ]
	# a dry run records nothing
	before=$(cat "$ROOT/run/vfwarden/last-apply.d/0000:01:00.0")
	sleep 1
	vfw -c "$POLICY" apply --dry-run enp1s0 >/dev/null || true
	assert_equal "$(cat "$ROOT/run/vfwarden/last-apply.d/0000:01:00.0")" "$before"
}

@test "metrics: a PF the policy names that is absent is vfwarden_policy_pf_present 0" {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
[pf gone]
device = enp9s0
vfs = 1
EOF
	METRICS=$BATS_TEST_TMPDIR/m.prom
	vfw -c "$POLICY" status --prometheus >"$METRICS"
	assert_equal "$(metric vfwarden_policy_pf_present label=uplink)" 1
	assert_equal "$(metric vfwarden_policy_pf_present label=gone)" 0
}
