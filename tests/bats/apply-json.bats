#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden apply --json on a fake host: one vfwarden-apply/1 document on
# stdout (checked with jq), messages on stderr, exit statuses as without it.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	VF0=$(vf_pci $PF 0)
	command -v jq > /dev/null || fail "jq is not installed (scripts/deps.sh)"
}

policy_uplink() {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
trust = on
[vf uplink 1]
mac = 02:11:22:33:44:55
EOF
}

# as_lines: the document's changes as apply prints them without --json.
as_lines() {
	jq -r '.changes[] | "\(.pf.label)\(if .vf == null then "" else " vf\(.vf)" end): \(.key) \(.old) -> \(.new)"'
}

@test "apply --json: the changes as one document, the same as the text lines; nothing else on stdout" {
	host_two_vfio_vfs
	policy_uplink
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	text=$(grep -v '^dry run:' <<< "$output")

	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_success
	assert_stderr_empty
	# stdout is exactly one JSON document
	jq -e . <<< "$output" > /dev/null
	[ "$(jq -s length <<< "$output")" = 1 ]
	doc=$output
	assert_equal "$(jq -r .schema <<< "$doc")" vfwarden-apply/1
	assert_equal "$(jq -c '[.dry_run, .status, .policy_valid]' <<< "$doc")" '[false,0,true]'
	assert_equal "$(as_lines <<< "$doc")" "$text"
	assert_equal "$(jq -c '.counts' <<< "$doc")" '{"changes":6,"failures":0,"skipped":0,"vfs_kept_in_use":0}'
	assert_equal "$(jq -c '[.failures, .skipped]' <<< "$doc")" '[[],[]]'
	assert_equal "$(jq -c '.changes[0].pf' <<< "$doc")" '{"label":"uplink","interface":"enp1s0","pci":"0000:01:00.0"}'
	assert_equal "$(jq -c '[.changes[] | select(.vf == 1 and .key == "mac") | .new]' <<< "$doc")" '["02:11:22:33:44:55"]'
	# and they were made
	grep -q '^vf1 mac=02:11:22:33:44:55 vlan=100 .* trust=1 ' "$NL/enp1s0"
	grep -q '^status=0$' "$ROOT/run/vfwarden/last-apply"

	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_success
	assert_equal "$(jq -c '[.status, .changes, .failures, .skipped, .counts.changes]' <<< "$output")" '[0,[],[],[],0]'
}

@test "apply --dry-run --json: dry_run true, PF-level changes have vf null, nothing written" {
	fake_pf $PF enp1s0 7 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply --json -n
	assert_success
	assert_equal "$(jq -c '[.dry_run, .status]' <<< "$output")" '[true,0]'
	assert_equal "$(jq -c '[.changes[] | select(.key == "vfs") | [.vf, .old, .new]]' <<< "$output")" '[[null,"0","2"]]'
	assert_equal "$(jq -c '[.changes[] | select(.key == "vf-driver") | .vf]' <<< "$output")" '[0,1]'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ ! -e "$ROOT/run/vfwarden/lock" ]
}

@test "apply --json: a refused attribute is a failure with its errno name and message; exit 3; stderr still says it" {
	host_two_vfio_vfs
	fake_reject enp1s0 link-state
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 7
link-state = enable
EOF
	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_failure 3
	assert_stderr_line 'uplink vf0 link-state: not supported by igb'
	jq -e . <<< "$output" > /dev/null
	assert_equal "$(jq -c '.failures' <<< "$output")" \
		'[{"pf":{"label":"uplink","interface":"enp1s0","pci":"0000:01:00.0"},"vf":0,"key":"link-state","errno":"EOPNOTSUPP","message":"not supported by igb"},{"pf":{"label":"uplink","interface":"enp1s0","pci":"0000:01:00.0"},"vf":1,"key":"link-state","errno":"EOPNOTSUPP","message":"not supported by igb"}]'
	assert_equal "$(jq -c '[.status, .counts.changes, .counts.failures]' <<< "$output")" '[3,4,2]'
	assert_equal "$(jq -r '.changes[] | select(.key == "vlan") | "\(.vf) \(.new)"' <<< "$output")" $'0 7 qos 0 802.1Q\n1 7 qos 0 802.1Q'

	# the second run: the refusal again, and no change
	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_failure 3
	assert_equal "$(jq -c '[.counts.changes, .counts.failures, [.failures[].errno]]' <<< "$output")" \
		'[0,2,["EOPNOTSUPP","EOPNOTSUPP"]]'
}

@test "apply --json: skipped PFs with the reason: absent, in use, ambiguous, not governed, not found" {
	fake_pf $PF enp1s0 7 2
	fake_vfs $PF 2 vfio-pci
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	fake_in_use 30 4242 qemu-kvm
	fake_pf 0000:02:00.0 enp2s0 7 0
	fake_pf 0000:03:00.0 enp3s0 7 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 4
[pf a]
device = enp2s0
vfs = 1
[pf b]
device = 0000:02:00.0
vfs = 1
[pf gone]
device = 0000:09:00.0
vfs = 1
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_failure 3
	assert_equal "$(jq -r '.skipped[] | "\(.pf.label) \(.pf.pci) \(.reason) \(.errno)"' <<< "$output" | sort)" \
		"a 0000:02:00.0 ambiguous null
b 0000:02:00.0 ambiguous null
gone null absent null
uplink 0000:01:00.0 in-use EBUSY"
	assert_equal "$(jq -r '.skipped[] | select(.reason == "in-use") | .message' <<< "$output")" \
		"vf0 ($VF0) is in use by pid 4242 (qemu-kvm); changing vfs 2 -> 4 would destroy it (--force to do it anyway)"
	assert_equal "$(jq -r '.skipped[] | select(.reason == "absent") | .message' <<< "$output")" \
		"device '0000:09:00.0' not present"
	assert_equal "$(jq -c '[.changes, .counts.skipped]' <<< "$output")" '[[],4]'
	[ "$(tree_sum)" = "$before" ]

	run --separate-stderr vfw -c "$POLICY" apply --json enp3s0 enp9s0
	assert_failure 3
	assert_equal "$(jq -r '.skipped[] | "\(.pf.interface) \(.reason) \(.errno) \(.message)"' <<< "$output" | sort)" \
		"enp3s0 not-governed null not in the policy
null not-found ENODEV no SR-IOV PF 'enp9s0' on this host"
}

@test "apply --json: an invalid policy is a document with status 1 and nothing changed; usage errors print none" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 4096
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply --json
	assert_failure 1
	assert_stderr_contains 'vlan'
	assert_equal "$(jq -c '[.status, .policy_valid, .changes, .failures]' <<< "$output")" '[1,false,[],[]]'
	[ "$(tree_sum)" = "$before" ]

	run --separate-stderr vfw -c "$POLICY" apply --json --lock-timeout x
	assert_failure 2
	assert_output ''
}
