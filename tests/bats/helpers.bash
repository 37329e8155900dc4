# SPDX-License-Identifier: MIT
# Shared by tests/bats/*.bats: a fake host under $ROOT that vfwarden reads
# and writes instead of /sys, /proc, /run and rtnetlink. Only the test build
# (build/vfwarden-test: tests/fake/backend-fake.c in place of the kernel's
# backend) has it, at VFWARDEN_TEST_ROOT; the installed binary has not.
#
#   $ROOT/sys/bus/pci/devices/<pci>/...   PFs and VFs (plain dirs and files)
#   $ROOT/sys/class/net/<if> -> ../../bus/pci/devices/<pci>/net/<if>
#   $ROOT/proc/<pid>/fd/<n> -> /dev/vfio/<group>   a VM holding a VF
#   $ROOT/netlink/<if>        the PF's VF table as the fake rtnetlink sees it
#   $ROOT/netlink/<if>.reject keys the fake driver refuses with EOPNOTSUPP
#   $ROOT/netlink/log         every netlink write, one line each
#
# Nothing happens behind sysfs writes: writing sriov_numvfs creates no VF
# and drivers_probe binds nothing, so each test builds the state it needs.

bats_require_minimum_version 1.5.0

_vfw_load_lib() {
	local d
	for d in ${BATS_LIB_PATH//:/ } /usr/lib/bats /usr/local/lib/bats /usr/lib /usr/local/lib; do
		if [ -f "$d/$1/load.bash" ]; then
			load "$d/$1/load.bash"
			return 0
		fi
	done
	echo "# $1 not found" >&2
	return 1
}
_vfw_load_lib bats-support
_vfw_load_lib bats-assert

VFWARDEN=${VFWARDEN:-$BATS_TEST_DIRNAME/../../build/vfwarden-test}
# The release build, beside it: what backend.bats checks.
VFWARDEN_RELEASE=${VFWARDEN_RELEASE:-$(dirname "$VFWARDEN")/vfwarden}

# Fresh, empty host for every test.
vfw_setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	SYS=$ROOT/sys
	NL=$ROOT/netlink
	POLICY=$BATS_TEST_TMPDIR/policy/vfwarden.conf
	export VFWARDEN_TEST_ROOT=$ROOT
	rm -rf "$ROOT" "$BATS_TEST_TMPDIR/policy"
	mkdir -p "$SYS/bus/pci/devices" "$SYS/bus/pci/drivers" "$SYS/class/net" \
		"$SYS/kernel/iommu_groups" "$ROOT/proc" "$ROOT/run" "$NL" \
		"$BATS_TEST_TMPDIR/policy"
	: >"$SYS/bus/pci/drivers_probe"
	fake_driver vfio-pci
	[ -x "$VFWARDEN" ] || fail "no vfwarden binary at $VFWARDEN (run make build/vfwarden-test)"
	# A release binary would act on this machine's /sys: only a test build.
	grep -q VFWARDEN_TEST_ROOT "$VFWARDEN" || fail "$VFWARDEN is no test build (make build/vfwarden-test)"
}

# vfw ARGS...: the binary under test (a test build needs a root even for --help).
vfw() {
	VFWARDEN_TEST_ROOT=${VFWARDEN_TEST_ROOT:-$BATS_TEST_TMPDIR/root} "$VFWARDEN" "$@"
}

# fake_driver NAME: a loaded driver (directory with bind/unbind).
fake_driver() {
	mkdir -p "$SYS/bus/pci/drivers/$1"
	: >"$SYS/bus/pci/drivers/$1/bind"
	: >"$SYS/bus/pci/drivers/$1/unbind"
}

# fake_no_vfio: vfio-pci not loaded.
fake_no_vfio() {
	rm -rf "$SYS/bus/pci/drivers/vfio-pci"
}

_fake_link_driver() { # DEV_DIR DRIVER|none|""
	rm -f "$1/driver"
	if [ -n "$2" ] && [ "$2" != none ]; then
		fake_driver "$2"
		ln -s "../../../../bus/pci/drivers/$2" "$1/driver"
	fi
}

# fake_pf PCI IFNAME TOTAL NUMVFS [DRIVER]
# An SR-IOV PF bound to DRIVER (default igb) with netdev IFNAME ("" or -
# for none), up, carrier 1, permanent address 52:54:00:12:34:<n> where n
# counts the PFs made so far (override with FAKE_PF_MAC=...), PCI IDs
# 8086:10c9 (an 82576 as QEMU's igb; FAKE_PF_DEVICE=0x1593 for another).
fake_pf() {
	local pci=$1 ifname=$2 total=$3 numvfs=$4 driver=${5:-igb}
	local d=$SYS/bus/pci/devices/$pci n mac
	mkdir -p "$d"
	echo "$total" >"$d/sriov_totalvfs"
	echo "$numvfs" >"$d/sriov_numvfs"
	echo 1 >"$d/sriov_drivers_autoprobe"
	echo 0x8086 >"$d/vendor"
	echo "${FAKE_PF_DEVICE:-0x10c9}" >"$d/device"
	_fake_link_driver "$d" "$driver"
	if [ -n "$ifname" ] && [ "$ifname" != - ]; then
		n=$(find "$SYS/class/net" -mindepth 1 -maxdepth 1 | wc -l)
		mac=${FAKE_PF_MAC:-$(printf '52:54:00:12:34:%02x' $((n + 1)))}
		mkdir -p "$d/net/$ifname"
		echo "$mac" >"$d/net/$ifname/address"
		echo 0x1003 >"$d/net/$ifname/flags"
		echo 1 >"$d/net/$ifname/carrier"
		echo 1000 >"$d/net/$ifname/speed"
		ln -sfn "../../bus/pci/devices/$pci/net/$ifname" "$SYS/class/net/$ifname"
	fi
}

# pf_mac IFNAME: the permanent address fake_pf gave it.
pf_mac() {
	cat "$SYS/class/net/$1/address"
}

# fake_vf PF_PCI IDX VF_PCI DRIVER GROUP
# VF IDX of PF_PCI: virtfnIDX and physfn links, DRIVER bound ("none" or ""
# for unbound), iommu group GROUP ("" for none).
fake_vf() {
	local pf=$1 idx=$2 vf=$3 driver=$4 group=$5
	local d=$SYS/bus/pci/devices/$vf
	mkdir -p "$d"
	ln -sfn "../$vf" "$SYS/bus/pci/devices/$pf/virtfn$idx"
	ln -sfn "../$pf" "$d/physfn"
	echo 0x8086 >"$d/vendor"
	if [ "$driver" = vfio-pci ]; then
		echo vfio-pci >"$d/driver_override"
	else
		echo '(null)' >"$d/driver_override"
	fi
	_fake_link_driver "$d" "$driver"
	rm -f "$d/iommu_group"
	if [ -n "$group" ]; then
		mkdir -p "$SYS/kernel/iommu_groups/$group/devices"
		ln -sfn "../../../../kernel/iommu_groups/$group" "$d/iommu_group"
	fi
}

# fake_vfs PF_PCI N DRIVER: VFs 0..N-1 at <pf bus>:10.<i>, groups 20+i.
fake_vfs() {
	local pf=$1 n=$2 driver=$3 i
	for ((i = 0; i < n; i++)); do
		fake_vf "$pf" "$i" "$(vf_pci "$pf" "$i")" "$driver" $((20 + i + 10 * 16#${pf:5:2}))
	done
}

# vf_pci PF_PCI IDX: the address fake_vfs gives VF IDX.
vf_pci() {
	printf '%s:10.%d' "${1%:*.*}" "$2"
}

# fake_vf_state IFNAME IDX key=val...: set VF IDX's line in the fake
# rtnetlink table; unnamed keys take the kernel defaults.
fake_vf_state() {
	local ifname=$1 idx=$2 kv
	local -A v=([mac]=00:00:00:00:00:00 [vlan]=0 [qos]=0 [proto]=802.1Q [spoofchk]=1
		[trust]=0 [link]=0 [max]=0 [min]=0 [rss]=0)
	shift 2
	for kv in "$@"; do
		v[${kv%%=*}]=${kv#*=}
	done
	local line="vf$idx mac=${v[mac]} vlan=${v[vlan]} qos=${v[qos]} proto=${v[proto]} spoofchk=${v[spoofchk]} trust=${v[trust]} link=${v[link]} max=${v[max]} min=${v[min]} rss=${v[rss]}"
	local f=$NL/$ifname
	touch "$f"
	{ grep -v "^vf$idx " "$f" || true; echo "$line"; } | sort -V >"$f.tmp"
	mv "$f.tmp" "$f"
}

# fake_reject IFNAME KEY...: the fake driver answers EOPNOTSUPP to KEY.
fake_reject() {
	local ifname=$1
	shift
	printf '%s\n' "$@" >>"$NL/$ifname.reject"
}

# fake_in_use GROUP PID [COMM]: process PID holds /dev/vfio/GROUP open.
fake_in_use() {
	local group=$1 pid=$2 comm=${3:-qemu-system-x86}
	mkdir -p "$ROOT/proc/$pid/fd"
	echo "$comm" >"$ROOT/proc/$pid/comm"
	ln -sfn /dev/null "$ROOT/proc/$pid/fd/0"
	ln -sfn "/dev/vfio/$group" "$ROOT/proc/$pid/fd/$((20 + $(find "$ROOT/proc/$pid/fd" -mindepth 1 | wc -l)))"
}

# fake_owner VF_PCI DOMAIN: the libvirt hook's record of a VF's owner.
fake_owner() {
	mkdir -p "$ROOT/run/vfwarden/vf"
	echo "domain=$2" >"$ROOT/run/vfwarden/vf/$1"
}

# policy [FILE] <<EOF: write a policy file, mode 0644; FILE defaults to $POLICY.
policy() {
	local f=${1:-$POLICY}
	mkdir -p "$(dirname "$f")"
	cat >"$f"
	chmod 0644 "$f"
}

# tree_sum: one checksum over every path, link target, mode and file content
# under $ROOT (but the lock file, which only serialises runs, and last-apply
# and last-apply.d/, vfwarden's own records of its last runs for metrics), to show that a command
# changed nothing on the host.
tree_sum() {
	(
		cd "$ROOT" || exit 1
		find . ! -path ./run/vfwarden/lock ! -path ./run/vfwarden/last-apply ! -path ./run/vfwarden \
			! -path './run/vfwarden/last-apply.d*' -printf '%p %y %m %l\n' | LC_ALL=C sort
		find . -type f ! -path ./run/vfwarden/lock ! -path ./run/vfwarden/last-apply \
			! -path './run/vfwarden/last-apply.d/*' -print0 |
			LC_ALL=C sort -z | xargs -0r sha256sum
	) | sha256sum | cut -d' ' -f1
}

# Assertions on $stderr after `run --separate-stderr` (bats-assert 2.1 has none).
assert_stderr_line() {
	grep -Fxq -- "$1" <<<"$stderr" || fail "stderr has no line '$1'"$'\n'"stderr: $stderr"
}
assert_stderr_contains() {
	[[ $stderr == *"$1"* ]] || fail "stderr does not contain '$1'"$'\n'"stderr: $stderr"
}
refute_stderr_contains() {
	[[ $stderr != *"$1"* ]] || fail "stderr contains '$1'"$'\n'"stderr: $stderr"
}
assert_stderr_empty() {
	[ -z "$stderr" ] || fail "stderr not empty: $stderr"
}

# nl_log: the fake rtnetlink write log ("" when nothing was written).
nl_log() {
	cat "$NL/log" 2>/dev/null || true
}

# sysfs PATH-UNDER-SYS: contents of a fake sysfs file.
sysfs() {
	cat "$SYS/$1"
}

# auto_mac PF_MAC IDX: what mac = auto must give, computed independently:
# FNV-1a-64 over the 6 MAC bytes and the 2-byte big-endian index, first 6
# bytes of the hash big-endian, first byte made locally administered unicast.
auto_mac() {
	python3 - "$1" "$2" <<'EOF'
import sys
data = bytes(int(x, 16) for x in sys.argv[1].split(":")) + int(sys.argv[2]).to_bytes(2, "big")
h = 0xcbf29ce484222325
for b in data:
    h ^= b
    h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
out = bytearray(h.to_bytes(8, "big")[:6])
out[0] = (out[0] & 0xFC) | 0x02
print(":".join("%02x" % b for b in out))
EOF
}

# A typical host: enp1s0 at 0000:01:00.0 (igb, 7 VFs possible, 2 created
# and bound to vfio-pci, the netlink table at kernel defaults with zero MACs).
host_two_vfio_vfs() {
	fake_pf 0000:01:00.0 enp1s0 7 2
	fake_vfs 0000:01:00.0 2 vfio-pci
	# as vfwarden leaves VFs on vfio-pci: the kernel probes none by itself
	echo 0 >"$SYS/bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe"
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
}
