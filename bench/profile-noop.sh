#!/bin/bash
# SPDX-License-Identifier: MIT
# Where the time of a no-op apply goes (issue 18 item 7), in the guest:
#   tests/vm/run --nics 2 --netdevsim 4096 -- bench/profile-noop.sh [BINARY...]
# Converges make bench's policies (row 2b: 2 igb PFs x 7 VFs; row 3c: the
# netdevsim PF's VFs, PROFILE_VFS, default 4096), and prints for each BINARY
# (default: the installed vfwarden) bench/noop.sh's "APPLY_MS TRUE_MS RATIO"
# at both, the BINARYs in turn, 2 passes at igb and 3 at netdevsim, and
# checks that each repairs a VF changed behind its back. PROFILE_MARKS=
# "BINARY...": builds that print "TMARK USEC WHAT" lines on stderr when
# VFW_TMARK is set (ad hoc, never committed) have their marks printed as
# times since the fork, median of 7 runs. PROFILE_NOOP_ONLY=1 stops there;
# otherwise, for the first BINARY at the netdevsim scale: perf stat against
# /bin/true, user and system time, the system calls (strace -c and
# strace -r -T of one run), the dynamic loader's statistics, and a perf
# profile of PROFILE_REPS runs (flat and inclusive; a build with
# -fno-omit-frame-pointer gives the callers). PROFILE_CONVERGE=BINARY
# converges (default: the installed vfwarden). Keep the host idle: other
# work on it shows in every figure.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
B=$(cd "$(dirname "$0")" && pwd)
VFW=/usr/local/sbin/vfwarden
[ $# -gt 0 ] || set -- "$VFW"
REPS=${PROFILE_REPS:-11}
N=${PROFILE_VFS:-4096}
read -r -a PFS <<< "$VFWARDEN_VM_PFS"
read -r -a PCIS <<< "$VFWARDEN_VM_PF_ADDRS"
POL=/run/profile-noop.conf
W=/run/profile-noop
mkdir -p "$W"

section() { printf '\n===== %s\n' "$*"; }

section "igb: 2 PFs x 7 VFs"
printf '[defaults]\nvlan = 100\nspoofchk = on\ntrust = off\n[pf p0]\ndevice = %s\nvfs = 7\n[pf p1]\ndevice = %s\nvfs = 7\n' \
	"${PFS[0]}" "${PFS[1]}" > "$POL"
"${PROFILE_CONVERGE:-$VFW}" -c "$POL" apply > /dev/null || echo "igb: converge failed"
for pass in 1 2; do
	for bin in "$@"; do
		echo "noop.sh igb pass $pass $bin: $("$B/noop.sh" "$bin" "$POL" 21 2>&1)"
	done
done
for p in "${PCIS[@]}"; do echo 0 > "/sys/bus/pci/devices/$p/sriov_numvfs"; done

section "netdevsim: $N VFs"
printf '[pf sim]\ndevice = %s\nvfs = %d\nvlan = 100\nspoofchk = off\n' "$VFWARDEN_VM_NSIM" "$N" > "$POL"
"${PROFILE_CONVERGE:-$VFW}" -c "$POL" apply > /dev/null || echo "netdevsim: converge failed"
for bin in "$@"; do
	echo "noop.sh netdevsim $bin: $("$B/noop.sh" "$bin" "$POL" "$REPS" 2>&1)"
done
for pass in 2 3; do
	for bin in "$@"; do
		echo "noop.sh netdevsim pass $pass $bin: $("$B/noop.sh" "$bin" "$POL" "$REPS" 2>&1)"
	done
done
section "each BINARY repairs a VF changed behind its back (vf $((N - 1)) vlan 7)"
for bin in "$@"; do
	ip link set "$VFWARDEN_VM_NSIM" vf $((N - 1)) vlan 7
	echo "$bin: $("$bin" -c "$POL" apply 2>&1 | tr '\n' ';')"
done
bin=$1
comm=$(basename "$bin" | cut -c1-15)

for m in ${PROFILE_MARKS:-}; do
	section "marks of $m (usec since the fork, median of 7)"
	rm -f "$W"/marks.*
	for i in 1 2 3 4 5 6 7; do
		t0=$(date +%s%N)
		VFW_TMARK=1 "$m" -c "$POL" apply 2> "$W/marks.$i" > /dev/null
		t1=$(date +%s%N)
		awk -v t0="$t0" -v t1="$t1" '$1 == "TMARK" {printf "%s %d\n", $3, $2 - t0 / 1000} END {printf "end %d\n", (t1 - t0) / 1000}' \
			"$W/marks.$i" > "$W/marks.$i.rel"
	done
	# (mawk has no asort: an insertion sort)
	paste "$W"/marks.?.rel | awk '{n = 0; for (i = 2; i <= NF; i += 2) { x = $i; j = ++n;
			while (j > 1 && v[j - 1] > x) { v[j] = v[j - 1]; j-- } v[j] = x }
		m = v[int((n + 1) / 2)]; printf "%-18s %8d  (+%d)\n", $1, m, m - prev; prev = m}'
done

[ "${PROFILE_NOOP_ONLY:-0}" = 1 ] && { echo 0 > "$VFWARDEN_VM_NSIM_SYSFS/sriov_numvfs"; exit 0; }

section "perf stat: apply, then /bin/true"
perf stat -r "$REPS" -e task-clock,page-faults,context-switches "$bin" -c "$POL" apply 2>&1 > /dev/null | grep -v '^$'
perf stat -r "$REPS" -e task-clock,page-faults,context-switches /bin/true 2>&1 | grep -v '^$'
perf stat -r "$REPS" -e task-clock,page-faults,context-switches "$bin" --version 2>&1 > /dev/null | grep -v '^$'

section "/usr/bin/time, 5 runs: wall, user, sys, max RSS, minor faults"
for i in 1 2 3 4 5; do
	/usr/bin/time -f '%e s  %U user  %S sys  %M KiB  %R minflt' "$bin" -c "$POL" apply 2>&1 > /dev/null | tail -n1
done

section "ld.so statistics"
LD_DEBUG=statistics "$bin" --version 2>&1 | sed -n '/runtime linker statistics/,$p' | head -n 12

section "strace -f -c"
strace -f -c -o "$W/strace-c" "$bin" -c "$POL" apply > /dev/null
cat "$W/strace-c"

section "strace -r -T (one run), the 40 largest gaps before a call"
strace -r -T -o "$W/strace-r" "$bin" -c "$POL" apply > /dev/null
awk '{printf "%s %d: %s\n", $1, NR, $0}' "$W/strace-r" | sort -rn | head -n 40 | cut -c1-200
echo "--- full"
cut -c1-200 "$W/strace-r"

section "perf record: $REPS runs of apply: by command and library, then by symbol"
perf record -q -F 20000 -g -o "$W/perf.data" -- \
	sh -c 'for i in $(seq "$1"); do "$2" -c "$3" apply > /dev/null; done' sh "$REPS" "$bin" "$POL" 2>&1 | tail -n 3
rep() { perf report -i "$W/perf.data" --stdio -g none "$@" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
rep --no-children --sort comm,dso | head -n 20
rep --no-children --sort dso,sym --comm "$comm" | head -n 60

section "perf: inclusive time by symbol (kernel entries, page faults, callers)"
rep --children --sort sym --comm "$comm" | head -n 120

section "perf record: $REPS runs of /bin/true, by command and library"
perf record -q -F 20000 -g -o "$W/perf-true.data" -- \
	sh -c 'for i in $(seq "$1"); do /bin/true; done' sh "$REPS" 2>&1 | tail -n 3
perf report -i "$W/perf-true.data" --stdio -g none --no-children --sort comm,dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 20
perf report -i "$W/perf-true.data" --stdio -g none --children --sort sym --comm true 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 40
echo 0 > "$VFWARDEN_VM_NSIM_SYSFS/sriov_numvfs"
