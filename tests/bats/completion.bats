#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Bash completion (completion/vfwarden) against a fake host: sysfs and
# /etc/vfwarden under $VFWARDEN_TEST_ROOT. Each test sets COMP_WORDS,
# COMP_CWORD and COMP_LINE as bash would and reads COMPREPLY back.

load helpers

BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

setup() {
	[ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed (make deps)"
	# shellcheck source=/dev/null
	source "$BASH_COMPLETION"
	# shellcheck source=../../completion/vfwarden
	source "$BATS_TEST_DIRNAME/../../completion/vfwarden"

	ROOT=$BATS_TEST_TMPDIR/root
	export VFWARDEN_TEST_ROOT=$ROOT
	local d=$ROOT/sys/bus/pci/devices
	# Two SR-IOV PFs and a NIC without SR-IOV.
	mkdir -p "$d/0000:01:00.0/net/enp1s0" "$d/0000:02:00.0/net/enp2s0" \
		"$d/0000:03:00.0/net/eno1" "$ROOT/sys/bus/netdevsim/devices/netdevsim1/net/eth9"
	echo 7 > "$d/0000:01:00.0/sriov_totalvfs"
	echo 7 > "$d/0000:02:00.0/sriov_totalvfs"
	echo 4 > "$ROOT/sys/bus/netdevsim/devices/netdevsim1/sriov_totalvfs"
	mkdir -p "$ROOT/etc/vfwarden/conf.d"
	cat > "$ROOT/etc/vfwarden/vfwarden.conf" <<-'EOF'
	[defaults]
	vlan = 5
	[pf uplink]
	; device = commented-out
	device = 52:54:00:12:34:56   ; by permanent MAC
	vfs = 2
	[vf uplink 1]
	trust = on
	EOF
	cat > "$ROOT/etc/vfwarden/conf.d/10-storage.conf" <<-'EOF'
	[pf storage]
	device = enp2s0
	vfs = 1
	EOF
	cd "$BATS_TEST_TMPDIR"
}

# comp WORD...: complete the last WORD (split as bash does); prints
# COMPREPLY sorted, one per line.
comp() {
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMP_WORDS=()
	local w
	for w in "$@"; do
		# bash splits at COMP_WORDBREAKS: "0000:01" is "0000" ":" "01",
		# "--config=x" is "--config" "=" "x"
		while [[ $w =~ ^([^:=]*)([:=])(.*)$ ]]; do
			[ -z "${BASH_REMATCH[1]}" ] || COMP_WORDS+=("${BASH_REMATCH[1]}")
			COMP_WORDS+=("${BASH_REMATCH[2]}")
			w=${BASH_REMATCH[3]}
		done
		COMP_WORDS+=("$w")
	done
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_vfwarden vfwarden "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "the completion is registered for vfwarden" {
	run complete -p vfwarden
	assert_output --partial "-F _vfwarden"
}

@test "commands, and global options before the command" {
	run comp vfwarden ""
	assert_output "$(printf '%s\n' apply check doctor hook show status)"
	run comp vfwarden st
	assert_output status
	run comp vfwarden sh
	assert_output show
	run comp vfwarden -
	assert_output "$(printf '%s\n' --config --help --version -c)"
	run comp vfwarden -c x.conf ""
	assert_output "$(printf '%s\n' apply check doctor hook show status)"
}

@test "each command's options" {
	run comp vfwarden apply -
	assert_output "$(printf '%s\n' --dry-run --force --help --json --lock-timeout --wait-pfs)"
	run comp vfwarden status --
	assert_output "$(printf '%s\n' --help --json --output --prometheus)"
	run comp vfwarden doctor --j
	assert_output --json
	run comp vfwarden show --
	assert_output "$(printf '%s\n' --help --json)"
	run comp vfwarden check --
	assert_output --help
	run comp vfwarden hook ""
	assert_output "$(printf '%s\n' --help network qemu)"
	# global options are not offered after the command
	run comp vfwarden apply --con
	assert_output ""
	run comp vfwarden apply --lock-timeout ""
	assert_output ""
}

@test "file names after -c, --config, --config= and status --output" {
	mkdir sub && touch policy.conf pol2.conf other.txt
	run comp vfwarden -c po
	assert_output "$(printf '%s\n' pol2.conf policy.conf)"
	run comp vfwarden --config oth
	assert_output other.txt
	run comp vfwarden --config=oth
	assert_output other.txt
	run comp vfwarden status --output s
	assert_output sub
}

@test "apply: SR-IOV PFs present and the policy's devices, not labels" {
	run comp vfwarden apply ""
	assert_output "$(printf '%s\n' 0000:01:00.0 0000:02:00.0 52:54:00:12:34:56 enp1s0 enp2s0 eth9)"
	refute_output --partial eno1
	refute_output --partial uplink
	refute_output --partial commented-out
	run comp vfwarden apply --dry-run enp
	assert_output "$(printf '%s\n' enp1s0 enp2s0)"
	# after a colon bash completes the rest of the word only
	run comp vfwarden apply 0000:0
	assert_output "$(printf '%s\n' 01:00.0 02:00.0)"
}

@test "apply: a label that matches nothing else becomes its device" {
	run comp vfwarden apply upl
	assert_output 52:54:00:12:34:56
	run comp vfwarden apply stor
	assert_output enp2s0
	run comp vfwarden apply nosuch
	assert_output ""
}

@test "apply: -c FILE is the policy read, alone" {
	printf '[pf only]\ndevice = 0000:09:00.0\nvfs = 1\n' > "$BATS_TEST_TMPDIR/one.conf"
	run comp vfwarden -c "$BATS_TEST_TMPDIR/one.conf" apply ""
	assert_output "$(printf '%s\n' 0000:01:00.0 0000:02:00.0 0000:09:00.0 enp1s0 enp2s0 eth9)"
	run comp vfwarden --config="$BATS_TEST_TMPDIR/one.conf" apply onl
	assert_output 0000:09:00.0
}

@test "status: SR-IOV PFs present and the policy's labels" {
	run comp vfwarden status ""
	assert_output "$(printf '%s\n' 0000:01:00.0 0000:02:00.0 enp1s0 enp2s0 eth9 storage uplink)"
	refute_output --partial eno1
	run comp vfwarden status --json up
	assert_output uplink
}

@test "show: SR-IOV PFs present and the policy's labels" {
	run comp vfwarden show ""
	assert_output "$(printf '%s\n' 0000:01:00.0 0000:02:00.0 enp1s0 enp2s0 eth9 storage uplink)"
	run comp vfwarden show --json st
	assert_output storage
}
