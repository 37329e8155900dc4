#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/policy-cases.sh DIR: write the policies that were slow to judge
# (issue 15) into DIR, one file each, for bench/run-guest's row 6 and for
# measuring by hand: /usr/bin/time -v build/vfwarden -c DIR/FILE check
set -eu
d=$1
mkdir -p "$d"

# a. 238 bytes: [defaults] vfs = 4096 and a fixed mac, eight [pf]: 32768 VFs
# with one MAC (was all pairs of VFs: over 5 minutes).
{
	printf '[defaults]\nvfs = 4096\nmac = 02:00:00:00:00:01\n'
	for i in 1 2 3 4 5 6 7 8; do printf '[pf p%d]\ndevice = enp%ds0\n' "$i" "$i"; done
} > "$d/a-fixed-mac-32768-vfs.conf"

# b. 100,000 bad lines (900 KB): 100,000 distinct errors (was a linear scan
# of the errors for each).
awk 'BEGIN { print "[pf a]\ndevice = enp1s0\nvfs = 1"; for (i = 0; i < 100000; i++) print "bad line" }' \
	> "$d/b-100000-bad-lines.conf"

# c. the largest file there may be, 1 MiB, every line an error.
awk 'BEGIN { print "[defaults]"; for (i = 0; i < 524282; i++) print "x" }' > "$d/c-1MiB-of-errors.conf"

# d. 3000 [vf] sections over all 4096 VFs of a PF, each setting vlan:
# 2999 overlaps (was all pairs of sections, and every VF merged 3000 times).
awk 'BEGIN { print "[pf a]\ndevice = enp1s0\nvfs = 4096"; for (i = 1; i <= 3000; i++) printf "[vf a 0-4095]\nvlan = %d\n", i }' \
	> "$d/d-3000-overlapping-ranges.conf"

# e. the most VFs a policy may describe, 16 x 4096, one [defaults] mistake
# found on each VF.
{
	printf '[defaults]\nvfs = 4096\nqos = 3\n'
	for i in $(seq 1 16); do printf '[pf p%d]\ndevice = enp%ds0\n' "$i" "$i"; done
} > "$d/e-65536-vfs-one-mistake.conf"

chmod 0644 "$d"/*.conf
