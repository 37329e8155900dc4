# SPDX-License-Identifier: MIT
# Helpers for the real-kernel bats tests (run inside the guest by tests/vm/run).
# Everything here reads the kernel back (sysfs, rtnetlink through iproute2);
# nothing trusts vfwarden's own output.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

VFWARDEN=${VFWARDEN:-/usr/local/sbin/vfwarden}

vm_setup() {
	[ "${VFWARDEN_VM:-}" = 1 ] || skip "runs inside tests/vm/run only"
	read -r -a PFS <<< "$VFWARDEN_VM_PFS"
	read -r -a PF_ADDRS <<< "$VFWARDEN_VM_PF_ADDRS"
	PF0=${PFS[0]} PF0_PCI=${PF_ADDRS[0]}
	PF1=${PFS[1]:-} PF1_PCI=${PF_ADDRS[1]:-}
	POLICY=$BATS_TEST_TMPDIR/policy.conf
}

# Put every PF back to no VFs, unbound overrides and autoprobe on.
# wait_for SECONDS CMD...: poll until CMD succeeds (TCG is slow; bounded).
wait_for() {
	local t=$1
	shift
	for _ in $(seq $((t * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

vm_reset() {
	local pci
	for pci in "${PF_ADDRS[@]}"; do
		echo 0 > /sys/bus/pci/devices/$pci/sriov_numvfs
		echo 1 > /sys/bus/pci/devices/$pci/sriov_drivers_autoprobe
	done
	rm -rf /run/vfwarden
}

policy() {
	cat > "$POLICY"
	chmod 0644 "$POLICY"
}

numvfs() { cat /sys/bus/pci/devices/$1/sriov_numvfs; }
autoprobe() { cat /sys/bus/pci/devices/$1/sriov_drivers_autoprobe; }
# ${l##*/}, not basename: every fork counts under TCG
vf_pci() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/virtfn$2") || true
	echo "${l##*/}"
}
vf_driver() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/virtfn$2/driver") || { echo none; return 0; }
	echo "${l##*/}"
}
vf_group() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/virtfn$2/iommu_group") || true
	echo "${l##*/}"
}

# VF attributes of PF netdev $1 from `ip -j -d link show`, as rtnetlink
# reports them: mac vlan qos proto spoofchk trust link_state max_tx min_tx rss
_VF_ATTR_PY='
import json, sys
idx, keys = sys.argv[1], sys.argv[2:]
link = json.load(sys.stdin)[0]
found = False
for vf in link.get("vfinfo_list", []):
    if idx != "all" and vf["vf"] != int(idx):
        continue
    found = True
    vl = (vf.get("vlan_list") or [{}])[0]
    val = {
        "mac": vf.get("address"),
        "vlan": vl.get("vlan", 0),
        "qos": vl.get("qos", 0),
        "proto": vl.get("protocol", "802.1Q"),
        "spoofchk": vf.get("spoofchk"),
        "trust": vf.get("trust"),
        "link_state": vf.get("link_state"),
        "max_tx": vf.get("rate", {}).get("max_tx"),
        "min_tx": vf.get("rate", {}).get("min_tx"),
        "rss": vf.get("query_rss_en"),
    }
    out = [str(val[k]).lower() if isinstance(val[k], bool) else str(val[k]) for k in keys]
    print(" ".join(out) if idx != "all" else " ".join([str(vf["vf"])] + out))
sys.exit(0 if found or idx == "all" else "no VF %s" % idx)
'
# vf_attr PF IDX KEY...: attributes of one VF, on one line
vf_attr() {
	ip -j -d link show dev "$1" | python3 -c "$_VF_ATTR_PY" "$2" "${@:3}"
}
# vf_attrs PF KEY...: "IDX VALUE..." for every VF, in one read (a python
# start costs about half a second under TCG: loops over VFs use this)
vf_attrs() {
	local pf=$1
	shift
	ip -j -d link show dev "$pf" | python3 -c "$_VF_ATTR_PY" all "$@"
}

# vfs_have PF N "VALUE..." KEY...: the first N VFs of PF have these values
vfs_have() {
	local pf=$1 n=$2 vals=$3 i want=
	shift 3
	for ((i = 0; i < n; i++)); do
		want+="$i $vals"$'\n'
	done
	[ "$(vf_attrs "$pf" "$@" 2>/dev/null | head -n "$n")" = "${want%$'\n'}" ]
}

# mac = auto, computed here from the documented formula, not by vfwarden.
auto_mac() {
	"$BATS_TEST_DIRNAME/lib/auto_mac.py" "$1" "$2"
}

# The permanent MAC: iproute2 shows permaddr only when it differs from address.
perm_mac() {
	ip -j link show dev "$1" | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
print(l.get("permaddr", l["address"]))'
}

# Count the writes a command makes: sysfs opened for writing and rtnetlink
# link changes, as strace sees them.
count_writes() {
	local log=$BATS_TEST_TMPDIR/strace.log
	strace -f -qq -e trace=openat,sendmsg,sendto -o "$log" "$@" > /dev/null 2>&1
	grep -cE 'openat\(.*"/sys/[^"]*", O_WRONLY|RTM_NEWLINK|RTM_SETLINK' "$log" || true
}

# nm_unmanaged NETDEV: NM_UNMANAGED in udev's database, read by udevadm
nm_unmanaged() { udevadm info -q property -p "/sys/class/net/$1" | sed -n 's/^NM_UNMANAGED=//p'; }
# vf_netdevs PF-ADDR: the host netdevs of its VFs
vf_netdevs() {
	local d
	for d in "/sys/bus/pci/devices/$1"/virtfn*/net/*; do
		echo "${d##*/}"
	done
}
