#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Options in GNU order for every command: before or after operands, '--'
# ends them; a dry run anywhere on the line never writes.

load helpers

setup() {
	vfw_setup
	host_two_vfio_vfs
	policy <<'EOF2'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
EOF2
}

@test "options: apply PF --dry-run is a dry run, nothing written" {
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply enp1s0 --dry-run
	assert_success
	assert_output --partial "uplink vf0: vlan 0 -> 100"
	assert_output --partial "dry run: "
	[ "$(tree_sum)" = "$before" ]
	[ -z "$(nl_log)" ]
}

@test "options: apply PF -n and apply PF1 -n PF2 are dry runs" {
	fake_pf 0000:02:00.0 enp2s0 7 0
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply enp1s0 -n
	assert_success
	assert_output --partial "dry run: "
	run --separate-stderr vfw -c "$POLICY" apply enp1s0 -n enp2s0
	assert_success
	assert_output --partial "dry run: "
	[ "$(tree_sum)" = "$before" ]
	[ -z "$(nl_log)" ]
}

@test "options: apply with POSIXLY_CORRECT set still sees --dry-run after the PF" {
	before=$(tree_sum)
	POSIXLY_CORRECT=1 run --separate-stderr vfw -c "$POLICY" apply enp1s0 --dry-run
	assert_success
	assert_output --partial "dry run: "
	[ "$(tree_sum)" = "$before" ]
}

@test "options: apply PF --lock-timeout SEC --force takes both options" {
	run --separate-stderr vfw -c "$POLICY" apply enp1s0 --lock-timeout 5 --force
	assert_success
	grep -q "^vf0 .* vlan=100 " "$NL/enp1s0" || fail "vf0 vlan not applied: $(cat "$NL/enp1s0")"
}

@test "options: after '--' an operand that looks like an option is a PF name" {
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply -- --dry-run
	assert_failure 3
	assert_stderr_contains "no SR-IOV PF '--dry-run'"
	[ "$(tree_sum)" = "$before" ]
}

@test "options: an unknown option after a PF is a usage error and writes nothing" {
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply enp1s0 --dry-rn
	assert_failure 2
	[ "$(tree_sum)" = "$before" ]
}

@test "options: check, status and doctor take their options after an operand position too" {
	run --separate-stderr vfw -c "$POLICY" check --help
	assert_success
	run --separate-stderr vfw -c "$POLICY" status --json
	assert_success
	# status takes PFs as operands: after '--', --json is one
	run --separate-stderr vfw -c "$POLICY" status -- --json
	assert_failure 3
	assert_stderr_contains "no SR-IOV PF '--json'"
	run --separate-stderr vfw -c "$POLICY" check extra --help
	assert_success
	run --separate-stderr vfw -c "$POLICY" check extra
	assert_failure 2
	assert_stderr_contains "unexpected argument 'extra'"
	run --separate-stderr vfw -c "$POLICY" doctor extra --json
	assert_failure 2
	assert_stderr_contains "unexpected argument 'extra'"
	run --separate-stderr vfw -c "$POLICY" status extra --json
	assert_failure 3
	assert_stderr_contains "no SR-IOV PF 'extra'"
	assert_output --partial '"schema": "vfwarden-status/2"'
}

@test "options: every usage error starts 'vfwarden: ', getopt's own included" {
	for args in "--bogus" "status --bogus" "apply --lock-timeout" "apply --lock-timeout x" \
		"check extra" "doctor extra" "status --json --prometheus" "hook"; do
		# shellcheck disable=SC2086
		run --separate-stderr vfw -c "$POLICY" $args
		assert_failure 2
		[[ ${stderr_lines[0]} == "vfwarden: "* ]] || fail "'$args': ${stderr_lines[0]}"
	done
}
