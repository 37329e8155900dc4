#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# libvirt, read-only, outside the hook (helper/virt.c), on the fake host:
# a host without libvirt pays nothing and works as before; libvirt without
# its library, or a libvirt that never answers, is bounded and worded.
# Domains libvirt knows are proved against a real libvirtd in
# tests/vm/hook-libvirt.bats.

load helpers

PF=0000:01:00.0
VF1=0000:01:10.1

setup() {
	vfw_setup
	host_two_vfio_vfs
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
EOF
}

teardown() {
	if [ -n "${LISTENER:-}" ]; then
		kill "$LISTENER" 2>/dev/null || true
		wait "$LISTENER" 2>/dev/null || true
	fi
}

# libvirtd "runs": its pid file names a live process (this shell).
fake_libvirtd() {
	mkdir -p "$ROOT/run/libvirt"
	echo $$ >"$ROOT/run/libvirtd.pid"
}

# A libvirtd socket that takes connections and never answers.
silent_socket() {
	local sock=$ROOT/run/libvirt/libvirt-sock-ro
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
' "$sock" &
	LISTENER=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && return 0
		sleep 0.1
	done
	fail "no listener on $sock"
}

@test "libvirt: a host without libvirt never loads it; status, doctor and apply work as before" {
	run --separate-stderr env LD_DEBUG=files "$VFWARDEN" -c "$POLICY" status --json
	assert_success
	refute_stderr_contains "libvirt"
	python3 - "$output" <<'EOF'
import json, sys
doc = json.loads(sys.argv[1])
assert doc["libvirt"] == "not-running", doc["libvirt"]
vfs = doc["pfs"][0]["vfs"]
assert [v["domains"] for v in vfs] == [None, None], vfs
assert [v["owner"] for v in vfs] == [None, None], vfs
EOF
	run --separate-stderr vfw -c "$POLICY" doctor
	refute_output --partial "libvirt"
	run --separate-stderr env LD_DEBUG=files "$VFWARDEN" -c "$POLICY" apply
	assert_success
	refute_stderr_contains "libvirt"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 1 ]
}

@test "libvirt: libvirtd running but its library missing: status says so, apply goes on with a warning" {
	command -v unshare >/dev/null || skip "no unshare"
	lib=$(ldconfig -p | sed -n 's/.*libvirt\.so\.0 .*=> //p' | head -n 1)
	[ -n "$lib" ] || skip "libvirt.so.0 not installed: nothing to hide"
	unshare -m true 2>/dev/null || skip "no mount namespace"
	fake_libvirtd
	# libvirt.so.0 is an empty file in a private mount namespace: dlopen() fails.
	run --separate-stderr unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" \
		"$VFWARDEN" -c "$POLICY" status --json
	assert_success
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["libvirt"] == "no-library", d["libvirt"]' "$output"
	assert_stderr_line "vfwarden: libvirt runs but its library cannot be loaded: domains not shown"
	run --separate-stderr unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" \
		"$VFWARDEN" -c "$POLICY" apply
	assert_success
	assert_stderr_contains "uplink: libvirt runs but its library cannot be loaded: domains not checked"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 1 ]
}

@test "libvirt: a libvirtd that never answers costs 5 s, not a hang; apply refuses the count change unless --force" {
	# ASan intercepts the XDR functions libvirt's client calls through
	# libtirpc, loaded only later by dlopen(): the interceptor has no real
	# function to call and the child dies (the parent only warns).
	if ldd "$VFWARDEN" | grep -q libasan; then
		skip "ASan build: its xdr interceptors cannot reach a dlopen()ed libtirpc"
	fi
	fake_libvirtd
	silent_socket
	SECONDS=0
	run --separate-stderr timeout 30 "$VFWARDEN" -c "$POLICY" status --json
	assert_success
	[ "$SECONDS" -lt 15 ] || fail "status took ${SECONDS}s"
	assert_stderr_line "vfwarden: libvirt did not answer within 5s: domains not shown"
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["libvirt"] == "timeout", d["libvirt"]' "$output"
	run --separate-stderr timeout 30 "$VFWARDEN" -c "$POLICY" apply
	assert_failure 3
	assert_stderr_line "uplink: libvirt did not answer within 5s; cannot tell which domains use its VFs: changing vfs 2 -> 1 may remove one (--force to do it anyway); PF left alone"
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
	# The child that asked is gone: killed and reaped, not left holding the lock.
	run --separate-stderr timeout 30 "$VFWARDEN" -c "$POLICY" apply --force --lock-timeout 1
	assert_success
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 1 ]
	# No count change, no question to libvirt: nothing waits.
	SECONDS=0
	run --separate-stderr timeout 30 "$VFWARDEN" -c "$POLICY" apply
	assert_success
	[ "$SECONDS" -lt 3 ]
}

@test "libvirt: libvirtd running without a socket is an error worded by libvirt, apply fails closed" {
	fake_libvirtd
	run --separate-stderr vfw -c "$POLICY" status
	assert_success
	assert_stderr_contains "vfwarden: libvirt: "
	assert_stderr_contains "libvirt-sock-ro"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_failure 3
	assert_stderr_contains "uplink: libvirt failed: "
	[ "$(sysfs bus/pci/devices/$PF/sriov_numvfs)" = 2 ]
}

@test "doctor: hooks installed after libvirtd started are a warning with the restart as fix" {
	fake_libvirtd
	touch -d '2 hours ago' "$ROOT/run/libvirtd.pid"
	mkdir -p "$ROOT/etc/libvirt/hooks/qemu.d" "$ROOT/etc/libvirt/hooks/network.d"
	ln -s "$VFWARDEN" "$ROOT/etc/libvirt/hooks/qemu.d/vfwarden"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_line --regexp "^warn  libvirt-hooks +.*qemu.d/vfwarden is newer than libvirtd, which reads hooks only when it starts"
	assert_line --regexp "fix: systemctl restart libvirtd$"
	# Installed before it started: fine.
	touch -h -d '3 hours ago' "$ROOT/etc/libvirt/hooks/qemu.d/vfwarden"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_line --regexp "^ok    libvirt-hooks +libvirtd started after vfwarden's hooks were installed"
	# None at all.
	rm "$ROOT/etc/libvirt/hooks/qemu.d/vfwarden"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_line --regexp "^warn  libvirt-hooks +no vfwarden hook"
	# A pid file of a process that is gone: libvirtd does not run, no check.
	echo 999999999 >"$ROOT/run/libvirtd.pid"
	run --separate-stderr vfw -c "$POLICY" doctor
	refute_output --partial "libvirt"
}
