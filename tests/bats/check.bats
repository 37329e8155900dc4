#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden [-c FILE] check, and the command line around every command.

load helpers

setup() {
	vfw_setup
}

@test "check: a valid policy prints nothing and exits 0" {
	policy <<'EOF'
; a comment
[defaults]
vf-driver = vfio-pci
spoofchk = on

[pf uplink]
device = enp1s0
vfs = 4
vlan = 100
qos = 3
trust = off
max-tx-rate = 1000
min-tx-rate = 100

[vf uplink 3]
mac = 02:11:22:33:44:55
vlan = 200

[vf uplink 0-1]
trust = on
link-state = disable

[pf storage]
device = 0000:02:00.1
vfs = 2
vf-driver = kernel
vlan-proto = 802.1ad
vlan = 30

[pf bymac]
device = 52:54:00:aa:bb:cc
vfs = 0
EOF
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
	assert_output ''
	assert_stderr_empty
}

@test "check: the shipped example policy is valid" {
	cp "$BATS_TEST_DIRNAME/../../conf/vfwarden.conf" "$POLICY"
	chmod 0644 "$POLICY"
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
	assert_output ''
	assert_stderr_empty
}

@test "check: every error is reported as FILE:LINE: message, in order, exit 1" {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlna = 100
vlan = 5000
[vf uplink 5]
trust = maybe
garbage line
spoofchk = on
spoofchk = off
EOF
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_output ''
	assert_stderr_line "$POLICY:4: unknown key 'vlna'"
	assert_stderr_line "$POLICY:5: invalid vlan '5000' (0-4095)"
	assert_stderr_line "$POLICY:6: [vf uplink 5]: VF 5 does not exist, [pf uplink] has vfs = 2"
	assert_stderr_line "$POLICY:7: invalid trust 'maybe' (on or off)"
	assert_stderr_line "$POLICY:8: expected 'key = value', got 'garbage line'"
	assert_stderr_line "$POLICY:10: duplicate key 'spoofchk', first set at $POLICY:9"
	# All of them, one line each, every line FILE:LINE: and sorted by line.
	[ "$(wc -l <<<"$stderr")" -eq 6 ]
	run grep -cvE "^$POLICY:[0-9]+: " <<<"$stderr"
	assert_output 0
	[ "$(cut -d: -f2 <<<"$stderr" | tr '\n' ' ')" = "4 5 6 7 8 10 " ]
}

@test "check: cross-section mistakes name both places" {
	policy <<'EOF'
[pf a]
device = enp1s0
vfs = 2
[pf b]
device = enp1s0
vfs = 1
[vf a 0]
mac = 02:00:00:00:00:01
[vf b 0]
mac = 02:00:00:00:00:01
[vf nosuch 0]
trust = on
[pf c]
vfs = 1
qos = 2
EOF
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_output ''
	assert_stderr_line "$POLICY:5: device 'enp1s0' of [pf b] is already [pf a] ($POLICY:2)"
	assert_stderr_line "$POLICY:10: duplicate mac 02:00:00:00:00:01, also set at $POLICY:8"
	assert_stderr_line "$POLICY:11: [vf nosuch 0]: there is no [pf nosuch]"
	assert_stderr_line "$POLICY:13: [pf c] has no 'device', 'driver' or 'pci-id'"
}

@test "check: an over-long line is an error at its line, and parsing goes on" {
	{
		printf '[pf uplink]\ndevice = enp1s0\nvfs = 1\n'
		printf 'vlan = %0300d\n' 1
		printf 'trust = maybe\n'
	} | policy
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_output ''
	assert_stderr_contains "$POLICY:4: line too long"
	assert_stderr_line "$POLICY:5: invalid trust 'maybe' (on or off)"
	# The over-long value must not have been split into a second setting.
	[ "$(wc -l <<<"$stderr")" -eq 2 ]
}

@test "check: a world-writable policy is refused" {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
EOF
	chmod 0666 "$POLICY"
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_output ''
	assert_stderr_contains "$POLICY:1: refusing policy file writable by everyone (mode 0666)"
}

@test "check: a world-writable policy is refused by apply too, nothing changed" {
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 5
EOF
	chmod 0646 "$POLICY"
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 1
	assert_stderr_contains "writable by everyone"
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "check: a policy owned by another user is refused (root only)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to chown"
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
EOF
	chown 65534 "$POLICY"
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_stderr_contains "$POLICY:1: refusing policy file owned by uid 65534"
}

@test "check: -c with a missing file fails naming the file" {
	run --separate-stderr vfw -c "$BATS_TEST_TMPDIR/nope.conf" check
	assert_failure 1
	assert_output ''
	assert_stderr_line "$BATS_TEST_TMPDIR/nope.conf:1: cannot open: No such file or directory"
}

@test "check: -c with a directory fails" {
	run --separate-stderr vfw -c "$BATS_TEST_TMPDIR" check
	assert_failure 1
	assert_stderr_line "$BATS_TEST_TMPDIR:1: not a regular file"
}

@test "check: an empty policy is valid" {
	policy </dev/null
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
	assert_output ''
	assert_stderr_empty
}

@test "check: an unexpected argument is a usage error" {
	policy </dev/null
	run --separate-stderr vfw -c "$POLICY" check extra
	assert_failure 2
	assert_output ''
	assert_stderr_contains "unexpected argument 'extra'"
}

@test "usage: an unknown command exits 2 with the usage on stderr" {
	run --separate-stderr vfw frobnicate
	assert_failure 2
	assert_output ''
	assert_stderr_contains "unknown command 'frobnicate'"
	assert_stderr_contains "Usage: vfwarden"
}

@test "usage: no command exits 2" {
	run --separate-stderr vfw
	assert_failure 2
	assert_output ''
	assert_stderr_contains "Usage: vfwarden"
}

@test "usage: an unknown global option exits 2" {
	run --separate-stderr vfw --frobnicate check
	assert_failure 2
	assert_output ''
	assert_stderr_contains "frobnicate"
	assert_stderr_contains "Usage: vfwarden"
}

@test "usage: -c without its argument exits 2" {
	run --separate-stderr vfw -c
	assert_failure 2
	assert_output ''
	assert_stderr_contains "Usage: vfwarden"
}

@test "usage: an unknown option of each command exits 2 and changes nothing" {
	host_two_vfio_vfs
	policy </dev/null
	before=$(tree_sum)
	for cmd in check apply status; do
		run --separate-stderr vfw -c "$POLICY" "$cmd" --frobnicate
		assert_failure 2
		assert_output ''
		assert_stderr_contains "frobnicate"
	done
	[ "$(tree_sum)" = "$before" ]
}

@test "usage: apply --lock-timeout takes a bounded number" {
	policy </dev/null
	run --separate-stderr vfw -c "$POLICY" apply --lock-timeout 1x
	assert_failure 2
	assert_stderr_contains "invalid --lock-timeout '1x'"
	run --separate-stderr vfw -c "$POLICY" apply --lock-timeout 99999999
	assert_failure 2
}

@test "help: --help and -h print the usage on stdout, exit 0" {
	for opt in --help -h; do
		run --separate-stderr vfw "$opt"
		assert_success
		assert_line --index 0 'Usage: vfwarden [-c FILE] COMMAND [ARGS...]'
		assert_line --regexp '^  check +validate the policy'
		assert_line --regexp '^  apply +converge'
		assert_line --regexp '^  status +show'
		assert_stderr_empty
	done
}

@test "help: every command has --help, exit 0 and touches nothing" {
	host_two_vfio_vfs
	before=$(tree_sum)
	for cmd in check apply status; do
		# No policy at all: --help must not need one.
		run --separate-stderr vfw -c "$BATS_TEST_TMPDIR/none.conf" "$cmd" --help
		assert_success
		assert_line --index 0 --regexp "^Usage: vfwarden \[-c FILE\] $cmd"
		assert_stderr_empty
	done
	run vfw apply --help
	assert_output --partial '--dry-run'
	assert_output --partial '--force'
	run vfw status --help
	assert_output --partial '--json'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$ROOT/run/vfwarden/lock" ]
}

@test "help: --version prints the version, exit 0" {
	for opt in --version -V; do
		run --separate-stderr vfw "$opt"
		assert_success
		assert_output --regexp '^vfwarden [0-9]+\.[0-9]+\.[0-9]+$'
		assert_stderr_empty
	done
}

# etc_tree: the default policy tree under the fake root ($ROOT/etc/vfwarden,
# read when no -c is given), valid, with an empty conf.d.
etc_tree() {
	ETC=$ROOT/etc/vfwarden
	mkdir -p "$ETC/conf.d"
	chmod 0755 "$ETC" "$ETC/conf.d"
	policy "$ETC/vfwarden.conf" <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
}

# unprivileged CMD...: CMD without the capabilities that let root read
# anything, so that a mode-000 directory is unreadable even to root.
unprivileged() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --inh-caps=-dac_override,-dac_read_search \
			--bounding-set=-dac_override,-dac_read_search "$@"
	else
		"$@"
	fi
}

@test "check: a [pf] without vfs is an error on its header line, and apply destroys nothing" {
	fake_pf 0000:01:00.0 enp1s0 7 4
	policy <<'EOF'
[pf uplink]
device = enp1s0
vlan = 5
[pf other]
device = enp2s0
vfs = 0
EOF
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_stderr_line "$POLICY:1: [pf uplink] has no 'vfs' (the number of VFs; vfs = 0 removes them)"
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 1
	[ "$(cat "$SYS/bus/pci/devices/0000:01:00.0/sriov_numvfs")" = 4 ]
	[ "$(tree_sum)" = "$before" ]
	# Inherited from [defaults] it is set.
	policy <<'EOF'
[defaults]
vfs = 4
[pf uplink]
device = enp1s0
EOF
	run --separate-stderr vfw -c "$POLICY" check
	assert_success
	assert_stderr_empty
}

@test "check: a NUL byte or a stray CR in a line is an error on that line" {
	printf '[pf uplink]\ndevice = enp1s0\nvfs = 1\nspoofchk = on\0ff\n\0trust = on\nvlan = 5\rvlan = 6\nlink-state = auto\r\n' | policy
	run --separate-stderr vfw -c "$POLICY" check
	assert_failure 1
	assert_stderr_line "$POLICY:4: NUL byte in the line"
	assert_stderr_line "$POLICY:5: NUL byte in the line"
	assert_stderr_line "$POLICY:6: carriage return in the line"
	[ "$(wc -l <<<"$stderr")" -eq 3 ]
}

@test "check: a FIFO as -c FILE is refused at once, by check, apply and status" {
	mkfifo "$BATS_TEST_TMPDIR/fifo.conf"
	for cmd in check apply "status --json"; do
		# shellcheck disable=SC2086
		run --separate-stderr timeout 10 "$VFWARDEN" -c "$BATS_TEST_TMPDIR/fifo.conf" $cmd
		[ "$status" -ne 124 ] || fail "vfwarden $cmd blocked on the FIFO"
		assert_stderr_contains "$BATS_TEST_TMPDIR/fifo.conf:1: not a regular file"
	done
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$BATS_TEST_TMPDIR/fifo.conf" check
	assert_failure 1
}

@test "check: a FIFO or a directory in conf.d is refused at once" {
	etc_tree
	mkfifo "$ETC/conf.d/10-fifo.conf"
	mkdir "$ETC/conf.d/20-dir.conf"
	run --separate-stderr timeout 10 "$VFWARDEN" check
	[ "$status" -ne 124 ] || fail "vfwarden check blocked on the FIFO"
	assert_failure 1
	assert_stderr_line "$ETC/conf.d/10-fifo.conf:1: not a regular file"
	assert_stderr_line "$ETC/conf.d/20-dir.conf:1: not a regular file"
}

@test "check: the default tree is read from the fake root and is valid" {
	etc_tree
	policy "$ETC/conf.d/10-more.conf" <<'EOF'
[vf uplink 1]
trust = on
EOF
	run --separate-stderr vfw check
	assert_success
	assert_stderr_empty
	# Proof that both files were read: a mistake in each is reported.
	echo 'vlna = 1' >> "$ETC/vfwarden.conf"
	echo 'trsut = on' >> "$ETC/conf.d/10-more.conf"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_line "$ETC/vfwarden.conf:4: unknown key 'vlna'"
	assert_stderr_line "$ETC/conf.d/10-more.conf:3: unknown key 'trsut'"
}

@test "check: conf.d that is a regular file, a symlink loop, dangling or unreadable is an error" {
	etc_tree
	rmdir "$ETC/conf.d"
	echo '[pf x]' > "$ETC/conf.d"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_line "$ETC/conf.d:1: not a directory"

	rm "$ETC/conf.d"
	ln -s conf.d "$ETC/conf.d"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_contains "$ETC/conf.d:1: cannot open: Too many levels of symbolic links"

	rm "$ETC/conf.d"
	ln -s nowhere "$ETC/conf.d"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_contains "$ETC/conf.d:1: cannot open: No such file or directory"

	rm "$ETC/conf.d"
	mkdir -m 0000 "$ETC/conf.d"
	run --separate-stderr unprivileged "$VFWARDEN" check
	assert_failure 1
	assert_stderr_line "$ETC/conf.d:1: cannot open: Permission denied"

	# Listable but its files unreadable: each is an error, none skipped.
	chmod 0755 "$ETC/conf.d"
	policy "$ETC/conf.d/10-a.conf" <<'EOF'
[defaults]
vlan = 5
EOF
	chmod 0000 "$ETC/conf.d/10-a.conf"
	run --separate-stderr unprivileged "$VFWARDEN" check
	assert_failure 1
	assert_stderr_line "$ETC/conf.d/10-a.conf:1: cannot open: Permission denied"
}

@test "check: /etc/vfwarden or conf.d writable by others is refused" {
	etc_tree
	run --separate-stderr vfw check
	assert_success
	chmod 0777 "$ETC"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_line "$ETC:1: refusing policy directory writable by everyone (mode 0777): chmod go-w"
	chmod 0775 "$ETC"
	chgrp 65534 "$ETC" 2>/dev/null || skip "cannot chgrp (not root)"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_line "$ETC:1: refusing policy directory writable by its group (mode 0775): chmod go-w"
	chmod 0755 "$ETC"
	chmod 0757 "$ETC/conf.d"
	run --separate-stderr vfw check
	assert_failure 1
	assert_stderr_line "$ETC/conf.d:1: refusing policy directory writable by everyone (mode 0757): chmod go-w"
}
