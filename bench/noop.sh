#!/bin/bash
# SPDX-License-Identifier: MIT
# A no-op apply against /bin/true (issue 18 item 7), in the guest:
#   noop.sh VFWARDEN POLICY REPS
# The policy must already hold on the host. Prints "APPLY_MS TRUE_MS RATIO":
# each the median of REPS runs, measured alternately with the same fork and
# exec from bash, so that the start of any program under TCG counts in both.
set -u
vfw=$1 pol=$2 reps=$3
ms() { # CMD...: wall time in ms, to 0.1 ms
	local t0 t1
	t0=$(date +%s%N)
	"$@" > /dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 100000))
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
out=$("$vfw" -c "$pol" apply 2>&1)
[ "$out" = 'no changes: the host matches the policy' ] || { echo "noop.sh: not a no-op: $out" >&2; exit 1; }
a=() t=()
for ((i = 0; i < reps; i++)); do
	a+=("$(ms "$vfw" -c "$pol" apply)")
	t+=("$(ms /bin/true -c "$pol" apply)")
done
va=$(printf '%s\n' "${a[@]}" | median) vt=$(printf '%s\n' "${t[@]}" | median)
awk -v a="$va" -v t="$vt" 'BEGIN { printf "%.1f %.1f %.2f\n", a / 10, t / 10, t ? a / t : 0 }'
