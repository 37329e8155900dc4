#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The man pages: lint clean under mandoc and groff, and complete: every
# command and long option the program has, its files, environment, JSON
# documents and metrics.

load helpers

MAN=$BATS_TEST_DIRNAME/../../man

setup() {
	[ -x "$VFWARDEN" ] || fail "no vfwarden binary at $VFWARDEN (run make)"
}

@test "man pages: mandoc -Tlint and groff -ww report nothing" {
	command -v mandoc >/dev/null || fail "mandoc not installed (make deps)"
	for page in "$MAN"/vfwarden.8 "$MAN"/vfwarden.conf.5; do
		run mandoc -Tlint -W warning "$page"
		assert_success
		assert_output ''
		run --separate-stderr groff -ww -man -z "$page"
		assert_success
		assert_stderr_empty
	done
}

# plain PAGE: the page as text, hyphens and quotes unescaped.
plain() {
	mandoc -Tutf8 "$1" | col -bx | sed 's/‐/-/g'
}

@test "vfwarden(8) documents every command and every long option --help names" {
	command -v mandoc >/dev/null || fail "mandoc not installed (make deps)"
	page=$(plain "$MAN/vfwarden.8")
	cmds=$(vfw --help | awk '/^Commands:/ { c = 1; next } c && NF == 0 { exit } c { print $1 }')
	[ "$(wc -w <<<"$cmds")" -ge 5 ]
	for c in $cmds; do
		grep -Eq "^   $c( |$)" <<<"$page" || fail "no section for command '$c'"
		for o in $(vfw "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -q -- "$o" <<<"$page" || fail "'$c $o' is not in vfwarden(8)"
		done
	done
}

@test "vfwarden(8) documents status output, NO_COLOR, the JSON documents, the metrics and last-apply" {
	command -v mandoc >/dev/null || fail "mandoc not installed (make deps)"
	page=$(plain "$MAN/vfwarden.8")
	for want in NO_COLOR /run/vfwarden/last-apply /run/vfwarden/last-apply.d/PCI \
		vfwarden-status/2 vfwarden-show/1 vfwarden-doctor/1 absent_pfs '"kind": "domain"' '"kind": "process"' \
		'JSON OUTPUT' METRICS vfwarden_build_info vfwarden_pf_vfs_max vfwarden_pf_last_apply_exit_status \
		vfwarden_policy_pf_present /usr/sbin/vfwarden /usr/local/sbin/vfwarden; do
		grep -qF -- "$want" <<<"$page" || fail "vfwarden(8) does not mention '$want'"
	done
	# every metric status --prometheus prints is documented
	vfw_setup
	fake_pf 0000:01:00.0 enp1s0 7 0
	policy </dev/null
	for m in $(vfw -c "$POLICY" status --prometheus | awk '/^# TYPE/ { print $3 }'); do
		grep -qF -- "$m" <<<"$page" || fail "metric $m is not in vfwarden(8)"
	done
}

@test "vfwarden.conf(5) has EXAMPLES that check clean, and FILES" {
	command -v mandoc >/dev/null || fail "mandoc not installed (make deps)"
	page=$(plain "$MAN/vfwarden.conf.5")
	grep -q '^EXAMPLES$' <<<"$page"
	grep -q '^FILES$' <<<"$page"
	# each example policy in EXAMPLES is a valid policy
	vfw_setup
	n=0
	while IFS= read -r -d '' block; do
		n=$((n + 1))
		printf '%s\n' "$block" | policy
		run --separate-stderr vfw -c "$POLICY" check
		[ "$status" -eq 0 ] || fail "example $n is not valid: $stderr"
	done < <(sed -n '/^\.SH EXAMPLES/,/^\.SH FILES/p' "$MAN/vfwarden.conf.5" |
		awk '/^\.nf/ { b = 1; s = ""; next } /^\.fi/ { if (b) printf "%s%c", s, 0; b = 0; next } b { s = s $0 "\n" }' |
		sed 's/\\-/-/g')
	[ "$n" -ge 3 ]
}
