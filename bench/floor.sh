#!/bin/bash
# The kernel floor: the sriov_numvfs writes alone. floor.sh PF_IFNAME NUMVFS
pci=$(basename "$(readlink "/sys/class/net/$1/device")")
echo 0 > "/sys/bus/pci/devices/$pci/sriov_numvfs"
echo "$2" > "/sys/bus/pci/devices/$pci/sriov_numvfs"
