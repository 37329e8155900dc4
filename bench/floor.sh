#!/bin/bash
# SPDX-License-Identifier: MIT
# The kernel floor: the sriov_numvfs writes alone. floor.sh PF_IFNAME NUMVFS
dev=$(readlink -f "/sys/class/net/$1/device")
echo 0 > "$dev/sriov_numvfs"
echo "$2" > "$dev/sriov_numvfs"
