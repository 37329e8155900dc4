#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The harness itself: tests/tap-run and tests/summary must count every
# failure as one, whatever the producer printed. Each case is a deliberately
# broken producer that must come out failed.

load helpers

TOP=$BATS_TEST_DIRNAME/../..

setup() {
	R=$BATS_TEST_TMPDIR/results
	mkdir -p "$R"
}

# produce NAME.tap SCRIPT: run SCRIPT (bash) as a TAP producer through tap-run.
produce() {
	"$TOP/tests/tap-run" "$R/$1" "${1%.tap}" bash -c "$2" > /dev/null
}

@test "harness: a producer crashing after two ok lines, before its plan, is failed" {
	produce unit-crash.tap 'echo "ok 1 - a"; echo "ok 2 - b"; kill -SEGV $$'
	run sh "$TOP/tests/summary" "$R"
	assert_failure
	assert_line "2 passed, 2 failed, 0 skipped"
	grep -q '^1\.\.4$' "$R/unit-crash.tap"
	[ "$(head -n1 "$R/unit-crash.tap")" = "1..4" ]
}

@test "harness: a plan-less TAP with two ok lines and exit 0 is failed" {
	produce unit-noplan.tap 'echo "ok 1 - a"; echo "ok 2 - b"'
	run sh "$TOP/tests/summary" "$R"
	assert_failure
	assert_line "2 passed, 1 failed, 0 skipped"
}

@test "harness: a non-zero exit with every test ok and a plan is failed" {
	produce bats-exit.tap 'echo "1..1"; echo "ok 1 - a"; exit 1'
	run sh "$TOP/tests/summary" "$R"
	assert_failure
	assert_line "1 passed, 1 failed, 0 skipped"
}

@test "harness: a plan larger than the tests run counts the missing as failed" {
	produce unit-short.tap 'echo "1..3"; echo "ok 1 - a"'
	run sh "$TOP/tests/summary" "$R"
	assert_failure
	assert_line "1 passed, 2 failed, 0 skipped"
}

@test "harness: skips are reported apart, never as passes" {
	produce bats-skip.tap 'echo "1..2"; echo "ok 1 - a"; echo "ok 2 - b # skip no jq"'
	run sh "$TOP/tests/summary" "$R"
	assert_success
	assert_line "1 passed, 0 failed, 1 skipped"
}

@test "harness: a skip in the real-kernel tier fails unless it says 'may skip:'" {
	produce vm-x.tap 'echo "1..3"; echo "ok 1 - a"; echo "ok 2 - b # skip needs --systemd"; echo "ok 3 - c # skip may skip: no QinQ here"'
	run sh "$TOP/tests/summary" "$R"
	assert_failure
	assert_line "1 passed, 1 failed, 1 skipped"
}

@test "harness: a clean run passes, and the closing line is what .ci/run reads" {
	produce unit-good.tap 'echo "ok 1 - a"; echo "ok 2 - b"; echo "1..2"'
	run sh "$TOP/tests/summary" "$R"
	assert_success
	assert_line "2 passed, 0 failed, 0 skipped"
	[ "$(head -n1 "$R/unit-good.tap")" = "1..2" ]
	echo "$output" | grep -qE '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'
	grep -qF "'^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?\$'" "$TOP/.ci/run"
}
