#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The backend seam (helper/backend.h): the release binary has only the
# kernel's backend; the fake host of tests/fake/ is in the test build only,
# and that build acts on nothing but the root it is given.

load helpers

@test "backend: the release binary has no test backend (no VFWARDEN_TEST_ROOT, no fake)" {
	[ -x "$VFWARDEN_RELEASE" ] || fail "no release binary at $VFWARDEN_RELEASE (run make)"
	run bash -c "strings '$VFWARDEN_RELEASE' | grep -c -e VFWARDEN_TEST_ROOT -e fake"
	assert_output 0
	# and the test build does have it, so the grep above can find it
	run bash -c "strings '$VFWARDEN' | grep -c -e VFWARDEN_TEST_ROOT -e fake"
	[ "$output" -gt 0 ]
}

@test "backend: the test build refuses to run without VFWARDEN_TEST_ROOT, rather than act on this host" {
	[ -x "$VFWARDEN" ] || fail "no vfwarden binary at $VFWARDEN"
	for cmd in status check "apply --dry-run"; do
		# shellcheck disable=SC2086
		run --separate-stderr env -u VFWARDEN_TEST_ROOT "$VFWARDEN" $cmd
		assert_failure 4
		assert_equal "$stderr" "vfwarden: cannot start the test backend (VFWARDEN_TEST_ROOT): No such device or address"
		assert_output ''
	done
}
