#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden [-c FILE] show [--json] [PF...] on a fake host: the effective
# policy, each value with the line it comes from.

load helpers

setup() {
	vfw_setup
	ETC=$ROOT/etc/vfwarden
	mkdir -p "$ETC/conf.d"
	chmod 0755 "$ROOT/etc" "$ETC" "$ETC/conf.d"
}

# A policy over three files: [defaults] in vfwarden.conf and in
# conf.d/10-defaults.conf (the later wins), [pf] sections in
# conf.d/20-pfs.conf, [vf] overrides in both conf.d files. The host has
# enp1s0 (igb, 7 VFs possible) and enp2s0 (ixgbe); [pf spare] names a PF
# that is absent.
multi_file_policy() {
	fake_pf 0000:01:00.0 enp1s0 7 0
	fake_pf 0000:02:00.0 enp2s0 7 0 ixgbe
	fake_pf 0000:03:00.0 enp3s0 7 0
	policy "$ETC/vfwarden.conf" <<'EOF'
[defaults]
vfs = 2
vlan = 10
trust = on
EOF
	policy "$ETC/conf.d/10-defaults.conf" <<'EOF'
; the later [defaults] wins
[defaults]
vlan = 20
max-tx-rate = 1000

[vf uplink 3]
spoofchk = off
EOF
	policy "$ETC/conf.d/20-pfs.conf" <<'EOF'
[pf uplink]
device = enp1s0
vfs = 4
max-tx-rate = 500
allow-domain = trust, vlan

[vf uplink 1-2]
vlan = 30

[pf second]
device = 0000:02:00.0
pf-up = no

[pf spare]
device = enp9s0
vfs = 0
EOF
}


# block HEADER: the lines of the text output from HEADER (a line starting
# with it) up to the next [pf or [vf header or blank line, HEADER included.
block() {
	awk -v h="$1" 'index($0, h) == 1 { on = 1; print; next }
		on && (/^\[/ || /^$/) { exit } on' <<<"$output"
}

# line KEY VALUE ORIGIN: "KEY = VALUE", padded to column 32, "  # ORIGIN".
line() {
	printf '%-32s  # %s\n' "$1 = $2" "$3"
}

@test "show: each setting of a multi-file policy with the line it comes from" {
	multi_file_policy
	local A=$ETC/vfwarden.conf B=$ETC/conf.d/10-defaults.conf C=$ETC/conf.d/20-pfs.conf
	run --separate-stderr vfw show
	assert_success
	assert_stderr_empty
	run block '[pf uplink]'
	assert_output - <<EOF
$(printf '%-32s  # %s' '[pf uplink]' "$C:1")
# matched 0000:01:00.0 (enp1s0, igb)
# why: device = enp1s0 ($C:2) matched the interface name
$(line device enp1s0 "$C:2")
$(line vfs 4 "$C:3")
$(line pf-up on default)
$(line allow-domain 'vlan, trust' "$C:5")
$(line eswitch-mode unset default)
$(line manage on default)
$(line mtu unset default)
EOF
	run --separate-stderr vfw show
	run block '[vf uplink 0]'
	assert_output - <<EOF
[vf uplink 0]
$(line vf-driver vfio-pci default)
$(line mac auto default)
$(line vlan 20 "[defaults] $B:3")
$(line qos 0 default)
$(line vlan-proto 802.1Q default)
$(line spoofchk on default)
$(line trust on "[defaults] $A:4")
$(line link-state auto default)
$(line max-tx-rate 500 "$C:4")
$(line min-tx-rate 0 default)
$(line query-rss off default)
EOF
	run --separate-stderr vfw show
	# VFs 1 and 2 alike ([vf uplink 1-2]), VF 3 has its own [vf] line (in a file before its [pf])
	run block '[vf uplink 1-2]'
	assert_line "$(line vlan 30 "$C:8")"
	assert_line "$(line spoofchk on default)"
	run --separate-stderr vfw show
	run block '[vf uplink 3]'
	assert_line "$(line vlan 20 "[defaults] $B:3")"
	assert_line "$(line spoofchk off "$B:7")"
	run --separate-stderr vfw show
	run grep -c '^\[vf uplink' <<<"$output"
	assert_output 3
}

@test "show: a second section: vfs and max-tx-rate from [defaults], pf-up from [pf], matched by PCI address" {
	multi_file_policy
	local A=$ETC/vfwarden.conf B=$ETC/conf.d/10-defaults.conf C=$ETC/conf.d/20-pfs.conf
	run --separate-stderr vfw show
	assert_success
	run block '[pf second]'
	assert_line '# matched 0000:02:00.0 (enp2s0, ixgbe)'
	assert_line "# why: device = 0000:02:00.0 ($C:11) matched the PCI address"
	assert_line "$(line vfs 2 "[defaults] $A:2")"
	assert_line "$(line pf-up off "$C:12")"
	assert_line "$(line allow-domain none default)"
	run --separate-stderr vfw show
	run block '[vf second 0-1]'
	assert_line "$(line max-tx-rate 1000 "[defaults] $B:4")"
	assert_line "$(line vlan 20 "[defaults] $B:3")"
}

@test "show: a section whose PF is absent still shows its settings, marked not matched" {
	multi_file_policy
	local C=$ETC/conf.d/20-pfs.conf
	run --separate-stderr vfw show
	assert_success
	run block '[pf spare]'
	assert_output - <<EOF
$(printf '%-32s  # %s' '[pf spare]' "$C:14")
# not matched (absent): no SR-IOV PF on this host matches [pf spare]
$(line device enp9s0 "$C:15")
$(line vfs 0 "$C:16")
$(line pf-up on default)
$(line allow-domain none default)
$(line eswitch-mode unset default)
$(line manage on default)
$(line mtu unset default)
EOF
}

@test "show: the policy read where its PFs are not: every section not matched, exit 0" {
	multi_file_policy
	rm -rf "$SYS/bus/pci/devices"/* "$SYS/class/net"/*
	run --separate-stderr vfw show
	assert_success
	assert_stderr_empty
	run grep -c '^# not matched (absent): ' <<<"$output"
	assert_output 3
	run --separate-stderr vfw show
	refute_output --partial '# why:'
	assert_line "$(line vlan 30 "$ETC/conf.d/20-pfs.conf:8")"
}

@test "show --json: schema vfwarden-show/1, every origin as kind, file, line and section" {
	multi_file_policy
	local A=$ETC/vfwarden.conf B=$ETC/conf.d/10-defaults.conf C=$ETC/conf.d/20-pfs.conf
	run --separate-stderr vfw show --json
	assert_success
	assert_stderr_empty
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/show.json"
	run jq -r '.schema, .policy_valid, (.errors | length), (.ungoverned | length),
		([.pfs[] | "\(.label) \(.state) \(.pf.interface) \(.pf.pci) \(.pf.driver)"] | join("; "))' \
		"$BATS_TEST_TMPDIR/show.json"
	assert_success
	assert_output - <<EOF
vfwarden-show/1
true
0
0
uplink matched enp1s0 0000:01:00.0 igb; second matched enp2s0 0000:02:00.0 ixgbe; spare absent null null null
EOF
	# o KEY: "value kind file:line section" of [pf uplink]'s setting KEY
	run jq -r '.pfs[0] | (.origin | "\(.kind) \(.file):\(.line) \(.section)"),
		(.why[] | "why \(.key) \(.value) \(.origin.file):\(.origin.line) \(.matched) \(.host)"),
		(.settings | to_entries[] | "\(.key) \(.value.value | tostring) \(.value.origin | "\(.kind) \(.file):\(.line) \(.section)")"),
		(.vfs[] | "vfs \(.first)-\(.last) vlan \(.settings.vlan.value) \(.settings.vlan.origin | "\(.kind) \(.file):\(.line) \(.section)")")' \
		"$BATS_TEST_TMPDIR/show.json"
	assert_success
	assert_output - <<EOF
pf $C:1 [pf uplink]
why device enp1s0 $C:2 interface name enp1s0
device enp1s0 pf $C:2 [pf uplink]
vfs 4 pf $C:3 [pf uplink]
pf-up true default null:null null
allow-domain ["vlan","trust"] pf $C:5 [pf uplink]
eswitch-mode null default null:null null
manage true default null:null null
mtu null default null:null null
vfs 0-0 vlan 20 defaults $B:3 [defaults]
vfs 1-2 vlan 30 vf $C:8 [vf uplink 1-2]
vfs 3-3 vlan 20 defaults $B:3 [defaults]
EOF
	run jq -r '.pfs[0].vfs[2].settings | "\(.spoofchk.value) \(.spoofchk.origin.kind) \(.spoofchk.origin.file):\(.spoofchk.origin.line) \(.spoofchk.origin.section)",
		"\(.trust.value) \(.trust.origin.kind) \(.trust.origin.file):\(.trust.origin.line)",
		"\(.["vf-driver"].value) \(.mac.value) \(.["max-tx-rate"].value) \(.["vlan-proto"].value) \(.["link-state"].value)",
		(keys | join(","))' "$BATS_TEST_TMPDIR/show.json"
	assert_success
	assert_output - <<EOF
false vf $B:7 [vf uplink 3]
true defaults $A:4
vfio-pci auto 500 802.1Q auto
link-state,mac,max-tx-rate,min-tx-rate,qos,query-rss,spoofchk,trust,vf-driver,vlan,vlan-proto
EOF
	run jq -r '.pfs[2] | "\(.state) \(.reason) \(.why | length) \(.vfs | length) \(.settings.vfs.value)"' \
		"$BATS_TEST_TMPDIR/show.json"
	assert_output 'absent no SR-IOV PF on this host matches [pf spare] 0 0 0'
}

@test "show PF...: by interface, PCI address or label; a PF no section governs says why" {
	multi_file_policy
	run --separate-stderr vfw show enp2s0
	assert_success
	assert_line --index 0 --regexp '^\[pf second\] '
	refute_output --partial '[pf uplink]'
	refute_output --partial '[pf spare]'
	run --separate-stderr vfw show 0000:01:00.0 spare
	assert_success
	run grep '^\[pf ' <<<"$output"
	assert_output --regexp '^\[pf uplink\] +# .*
\[pf spare\] +# .*$'
	run --separate-stderr vfw show enp3s0
	assert_success
	assert_output '# 0000:03:00.0 (enp3s0, igb): not governed: no [pf] section names it'
	run --separate-stderr vfw show --json enp3s0
	run jq -r '(.pfs | length), (.ungoverned[] | "\(.interface) \(.pci) \(.driver) \(.ambiguous) \(.reason)")' <<<"$output"
	assert_output - <<EOF
0
enp3s0 0000:03:00.0 igb false no [pf] section names it
EOF
}

@test "show PF...: a name that is neither a PF nor a label is an error (exit 3), the others are shown" {
	multi_file_policy
	run --separate-stderr vfw show nosuch uplink
	assert_failure 3
	assert_stderr_line "vfwarden: no SR-IOV PF 'nosuch' on this host or in the policy"
	assert_line --index 0 --regexp '^\[pf uplink\] '
}

@test "show: an ambiguous PF: both sections not matched with the reason, the PF not governed" {
	fake_pf 0000:01:00.0 enp1s0 7 0
	policy <<'EOF'
[pf a]
device = enp1s0
vfs = 1
[pf b]
device = 0000:01:00.0
vfs = 2
EOF
	run --separate-stderr vfw -c "$POLICY" show
	assert_success
	assert_line '# not matched (ambiguous): 0000:01:00.0 is also [pf b]; apply leaves it alone'
	assert_line '# not matched (ambiguous): 0000:01:00.0 is also [pf a]; apply leaves it alone'
	assert_line "$(line vfs 2 "$POLICY:6")"
	run --separate-stderr vfw -c "$POLICY" show enp1s0
	assert_success
	assert_output '# 0000:01:00.0 (enp1s0, igb): not governed: [pf a] and [pf b] both name 0000:01:00.0; apply leaves it alone'
	run --separate-stderr vfw -c "$POLICY" show --json enp1s0
	run jq -r '.ungoverned[0] | "\(.ambiguous) \(.reason)"' <<<"$output"
	assert_output 'true [pf a] and [pf b] both name 0000:01:00.0; apply leaves it alone'
}

@test "show: a PF named by its permanent MAC, and a fixed mac in a [vf] of one VF" {
	FAKE_PF_MAC=52:54:00:aa:bb:cc fake_pf 0000:01:00.0 enp1s0 7 0
	policy <<'EOF'
[pf uplink]
device = 52:54:00:aa:bb:cc
vfs = 2
[vf uplink 1]
mac = 02:11:22:33:44:55
vf-driver = kernel
EOF
	run --separate-stderr vfw -c "$POLICY" show
	assert_success
	assert_line "# why: device = 52:54:00:aa:bb:cc ($POLICY:2) matched the permanent MAC"
	run block '[vf uplink 1]'
	assert_line "$(line mac 02:11:22:33:44:55 "$POLICY:5")"
	assert_line "$(line vf-driver kernel "$POLICY:6")"
	run --separate-stderr vfw -c "$POLICY" show --json
	run jq -r '.pfs[0].why[0] | "\(.matched) \(.host)"' <<<"$output"
	assert_output 'permanent MAC 52:54:00:aa:bb:cc'
}

@test "show: 4096 VFs set alike are one range" {
	policy <<'EOF'
[pf big]
device = 0000:05:00.0
vfs = 4096
[vf big 7]
trust = on
EOF
	run --separate-stderr vfw -c "$POLICY" show
	assert_success
	run grep '^\[vf ' <<<"$output"
	assert_output - <<'EOF'
[vf big 0-6]
[vf big 7]
[vf big 8-4095]
EOF
}

@test "show: an invalid policy: every error as FILE:LINE on stderr, nothing shown, exit 1" {
	multi_file_policy
	printf 'vlan = 9999\n' >>"$ETC/conf.d/20-pfs.conf"
	run --separate-stderr vfw show
	assert_failure 1
	assert_output ''
	assert_stderr_line "$ETC/conf.d/20-pfs.conf:17: invalid vlan '9999' (0-4095)"
	assert_stderr_line 'vfwarden: policy invalid: nothing to show'
	run --separate-stderr vfw show --json
	assert_failure 1
	run jq -r '"\(.policy_valid) \(.pfs | length)", (.errors[] | "\(.file):\(.line): \(.message)")' <<<"$output"
	assert_output - <<EOF
false 0
$ETC/conf.d/20-pfs.conf:17: invalid vlan '9999' (0-4095)
EOF
}

@test "show: a policy without [pf] sections says so; --json has no PFs" {
	fake_pf 0000:01:00.0 enp1s0 7 0
	policy <<'EOF'
[defaults]
vlan = 5
EOF
	run --separate-stderr vfw -c "$POLICY" show
	assert_success
	assert_output '# the policy has no [pf] section'
	run --separate-stderr vfw -c "$POLICY" show --json
	assert_success
	run jq -c '[.policy_valid, .pfs, .ungoverned]' <<<"$output"
	assert_output '[true,[],[]]'
}

@test "show writes nothing and takes no lock" {
	multi_file_policy
	local before
	before=$(tree_sum)
	run vfw show
	assert_success
	run vfw show --json
	assert_success
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$ROOT/run/vfwarden/lock" ]
}

@test "show --help, and an unknown option is a usage error" {
	run --separate-stderr vfw show --help
	assert_success
	assert_line --index 0 'Usage: vfwarden [-c FILE] show [--json] [PF...]'
	run --separate-stderr vfw show --bogus
	assert_failure 2
}
