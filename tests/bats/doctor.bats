#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden [-c FILE] doctor [--json] on fake hosts: what it reads is
# $ROOT/sys/firmware/acpi/tables/{DMAR,IVRS}, $ROOT/proc/cmdline,
# $ROOT/sys/kernel/iommu_groups, $ROOT/proc/interrupts,
# $ROOT/sys/bus/pci/drivers/vfio-pci, each PF's sriov_totalvfs and
# {current,max}_link_{width,speed}, $ROOT/run/NetworkManager, and what udev
# knows from the test build's fake udev (tests/fake/fake-udev.c):
# $ROOT/udev/ (udevd runs), $ROOT/udev/net/NAME (a netdev's properties).
# Other SR-IOV managers' files are read under $ROOT as on the host:
# $ROOT/etc/NetworkManager, $ROOT/etc/systemd/network, $ROOT/etc/netplan,
# $ROOT/etc/rc.local, and the same under $ROOT/run, $ROOT/usr/lib, $ROOT/lib.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
}

# group_add GROUP PCI: PCI is a member of IOMMU group GROUP.
group_add() {
	mkdir -p "$SYS/kernel/iommu_groups/$1/devices"
	ln -sfn "../../../../bus/pci/devices/$2" "$SYS/kernel/iommu_groups/$1/devices/$2"
}

# pcie_link PCI CUR_WIDTH MAX_WIDTH [CUR_SPEED [MAX_SPEED]]
pcie_link() {
	local d=$SYS/bus/pci/devices/$1
	echo "$2" >"$d/current_link_width"
	echo "$3" >"$d/max_link_width"
	echo "${4:-5.0 GT/s PCIe}" >"$d/current_link_speed"
	echo "${5:-5.0 GT/s PCIe}" >"$d/max_link_speed"
}

# A host where passthrough works: Intel IOMMU on, interrupts remapped,
# vfio-pci loaded, enp1s0 (igb, 7 VFs possible, 2 on vfio-pci, each VF alone
# in its group) in an x8 slot at full width.
good_host() {
	mkdir -p "$SYS/firmware/acpi/tables"
	: >"$SYS/firmware/acpi/tables/DMAR"
	echo 'BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro quiet intel_iommu=on iommu=pt' >"$ROOT/proc/cmdline"
	cat >"$ROOT/proc/interrupts" <<'EOF'
            CPU0       CPU1
   0:         40          0  IR-IO-APIC    2-edge      timer
  24:          0        317  IR-PCI-MSI 524288-edge      enp1s0
 NMI:          0          0   Non-maskable interrupts
EOF
	fake_pf $PF enp1s0 7 2
	fake_vfs $PF 2 vfio-pci
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	pcie_link $PF 8 8
	group_add 1 0000:00:00.0
	group_add 12 $PF
	group_add 30 "$(vf_pci $PF 0)"
	group_add 31 "$(vf_pci $PF 1)"
}

# doctor_json ARGS...: run doctor --json into $BATS_TEST_TMPDIR/doctor.json.
doctor_json() {
	run --separate-stderr vfw -c "$POLICY" doctor --json "$@"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/doctor.json"
}

# jq_py EXPR: evaluate a Python expression on the parsed JSON as d.
jq_py() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$BATS_TEST_TMPDIR/doctor.json" "$1"
}

# result NAME: the verdict of check NAME in the JSON.
result() {
	jq_py "[c['result'] for c in d['checks'] if c['check'] == '$1'][0]"
}

@test "doctor: a good host has no warn and no fail, exit 0, and doctor writes nothing" {
	good_host
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_stderr_empty
	assert_line --regexp '^ok +iommu-firmware +ACPI DMAR table present$'
	assert_line --regexp '^ok +iommu-cmdline +intel_iommu=on$'
	assert_line --regexp '^ok +iommu-groups +4 IOMMU groups$'
	assert_line --regexp '^ok +interrupt-remapping '
	assert_line --regexp '^ok +vfio-pci +vfio-pci driver is loaded$'
	assert_line --regexp "^ok +pf enp1s0 +$PF \\(igb\\): 2 of 7 VFs$"
	assert_line --regexp '^ok +pcie enp1s0 +link x8 at 5.0 GT/s PCIe$'
	assert_line --regexp '^ok +groups enp1s0 +each of 2 VFs is alone in its IOMMU group$'
	assert_line --regexp '^ok +policy +valid, 1 PF$'
	assert_line --regexp "^ok +policy uplink +device 'enp1s0' is present$"
	refute_line --regexp '^(warn|fail) '
	refute_output --partial 'fix:'
	assert_line --index -1 --regexp '^[0-9]+ ok, 0 warn, 0 fail$'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ ! -e "$ROOT/run/vfwarden" ]
}

@test "doctor: sriov_totalvfs 0 fails with the firmware hint, exit 5" {
	good_host
	echo 0 >"$SYS/bus/pci/devices/$PF/sriov_totalvfs"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_failure 5
	assert_line --regexp "^fail +pf enp1s0 +$PF: sriov_totalvfs is 0 \\(SR-IOV is off in the firmware\\)$"
	assert_line --regexp '^ +fix: enable SR-IOV for this NIC in the firmware setup$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 0 warn, 1 fail$'
}

@test "doctor: a PCIe link at x4 of x8 warns, exit 0" {
	good_host
	pcie_link $PF 4 8
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +pcie enp1s0 +link x4 at 5.0 GT/s PCIe, the device can do x8 at 5.0 GT/s PCIe$'
	assert_line --regexp 'fix: move the NIC to a slot that gives it its full width and speed$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 1 warn, 0 fail$'
	# A downgraded speed at full width warns too.
	pcie_link $PF 8 8 '2.5 GT/s PCIe' '5.0 GT/s PCIe'
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +pcie enp1s0 +link x8 at 2.5 GT/s PCIe, the device can do x8 at 5.0 GT/s PCIe$'
}

@test "doctor: no DMAR or IVRS table fails, exit 5" {
	good_host
	rm "$SYS/firmware/acpi/tables/DMAR"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_failure 5
	assert_line --regexp '^fail +iommu-firmware +no ACPI DMAR or IVRS table: the firmware offers no IOMMU$'
	assert_line --regexp 'fix: enable VT-d \(Intel\) or AMD-Vi/IOMMU in the firmware setup$'
	refute_line --partial 'iommu-cmdline'
	# An AMD host (IVRS) needs nothing on the command line.
	: >"$SYS/firmware/acpi/tables/IVRS"
	echo 'root=/dev/sda1 ro' >"$ROOT/proc/cmdline"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^ok +iommu-firmware +ACPI IVRS table present$'
	assert_line --regexp '^ok +iommu-cmdline +AMD IOMMU is on by default$'
}

@test "doctor: DMAR without intel_iommu=on warns, and fails when there are no IOMMU groups" {
	good_host
	echo 'root=/dev/sda1 ro quiet' >"$ROOT/proc/cmdline"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +iommu-cmdline +intel_iommu=on is not on the kernel command line$'
	rm -rf "$SYS/kernel/iommu_groups"/*
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_failure 5
	assert_line --regexp '^fail +iommu-cmdline '
	assert_line --regexp '^fail +iommu-groups +/sys/kernel/iommu_groups is empty'
}

@test "doctor: VFs sharing an IOMMU group warn" {
	good_host
	# Both VFs in group 30 (no ACS on the way up).
	rm -rf "$SYS/kernel/iommu_groups/31"
	fake_vf $PF 1 "$(vf_pci $PF 1)" vfio-pci 30
	group_add 30 "$(vf_pci $PF 1)"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +groups enp1s0 +2 VFs share an IOMMU group with another device$'
	assert_line --regexp 'fix: check ACS on the upstream bridge; a shared group goes to one VM whole$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 1 warn, 0 fail$'
}

@test "doctor: no remapped interrupts and no vfio-pci warn" {
	good_host
	grep -v 'IR-' "$ROOT/proc/interrupts" >"$BATS_TEST_TMPDIR/i" && mv "$BATS_TEST_TMPDIR/i" "$ROOT/proc/interrupts"
	fake_no_vfio
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +interrupt-remapping +no remapped interrupts seen in /proc/interrupts$'
	assert_line --regexp '^warn +vfio-pci +vfio-pci is not loaded$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 2 warn, 0 fail$'
}

@test "doctor: an invalid policy fails with FILE:LINE (exit 5, not check's 1), a missing device warns" {
	good_host
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 4096
EOF
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_failure 5
	assert_line --regexp "^fail +policy +$POLICY:4: .*4096.* \\(1 error\\)\$"
	assert_line --regexp 'fix: vfwarden check \(every error with FILE:LINE\)$'
	assert_stderr_empty

	policy <<'EOF'
[pf gone]
device = 0000:09:00.0
vfs = 1
EOF
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp "^warn +policy gone +device '0000:09:00.0' is not present$"
}

# vf1_netdev: VF1 on its kernel driver, with the host netdev enp1s0v1.
vf1_netdev() {
	VF1=$(vf_pci $PF 1)
	fake_vf $PF 1 "$VF1" igbvf 31
	mkdir -p "$SYS/bus/pci/devices/$VF1/net/enp1s0v1"
	echo 9 >"$SYS/bus/pci/devices/$VF1/net/enp1s0v1/ifindex"
	ln -sfn "../../bus/pci/devices/$VF1/net/enp1s0v1" "$SYS/class/net/enp1s0v1"
}

@test "doctor: a VF netdev NetworkManager may take warns unless udev marked it NM_UNMANAGED" {
	good_host
	vf1_netdev
	mkdir -p "$ROOT/udev/net"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^ok +network-managers +1 VF netdev left alone by network managers$'
	mkdir -p "$ROOT/run/NetworkManager"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +network-managers +1 VF netdev without NM_UNMANAGED while NetworkManager runs$'
	# udev handled it, but without vfwarden's rule: other properties only
	printf 'ID_NET_DRIVER=igbvf\nNM_UNMANAGEDX=1\n' >"$ROOT/udev/net/enp1s0v1"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_line --regexp '^warn +network-managers +1 VF netdev without NM_UNMANAGED while NetworkManager runs$'
	printf 'ID_NET_DRIVER=igbvf\nNM_UNMANAGED=0\n' >"$ROOT/udev/net/enp1s0v1"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_line --regexp '^warn +network-managers +1 VF netdev without NM_UNMANAGED while NetworkManager runs$'
	printf 'ID_NET_DRIVER=igbvf\nNM_UNMANAGED=1\n' >"$ROOT/udev/net/enp1s0v1"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_stderr_empty
	assert_line --regexp '^ok +network-managers +1 VF netdev left alone by network managers$'
}

@test "doctor: without udev running, a VF netdev NetworkManager may take warns with the fix, no crash" {
	good_host
	vf1_netdev
	mkdir -p "$ROOT/run/NetworkManager"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_stderr_empty
	assert_line --regexp '^warn +network-managers +udev is not running: 1 VF netdev without NM_UNMANAGED while NetworkManager runs$'
	assert_line --regexp '^ +fix: start systemd-udevd, then run: udevadm trigger -s net$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 1 warn, 0 fail$'
}

@test "doctor --json: schema vfwarden-doctor/1, counts that match the checks" {
	good_host
	doctor_json
	assert_success
	assert_stderr_empty
	[ "$(jq_py "d['schema']")" = vfwarden-doctor/1 ]
	[ "$(jq_py "d['fail']")" = 0 ]
	[ "$(jq_py "d['warn']")" = 0 ]
	[ "$(jq_py "d['ok'] == len(d['checks']) > 5")" = True ]
	[ "$(jq_py "all(set(c) == {'check', 'result', 'detail', 'fix'} for c in d['checks'])")" = True ]
	[ "$(jq_py "all(c['fix'] is None for c in d['checks'] if c['result'] == 'ok')")" = True ]

	# A host with one fail and two warns.
	echo 0 >"$SYS/bus/pci/devices/$PF/sriov_totalvfs"
	pcie_link $PF 4 8
	fake_no_vfio
	doctor_json
	assert_failure 5
	[ "$(jq_py "d['fail']")" = 1 ]
	[ "$(jq_py "d['warn']")" = 2 ]
	for v in ok warn fail; do
		[ "$(jq_py "d['$v'] == sum(c['result'] == '$v' for c in d['checks'])")" = True ]
	done
	[ "$(result 'pf enp1s0')" = fail ]
	[ "$(result 'pcie enp1s0')" = warn ]
	[ "$(result vfio-pci)" = warn ]
	[ "$(jq_py "[c['fix'] for c in d['checks'] if c['check'] == 'pf enp1s0'][0]")" = \
		'enable SR-IOV for this NIC in the firmware setup' ]
	# Nothing but the document on stdout.
	refute_output --partial ' ok, '
}

@test "doctor --json: an invalid policy is a fail with FILE:LINE in its detail" {
	good_host
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 1
trust = maybe
EOF
	doctor_json
	assert_failure 5
	[ "$(result policy)" = fail ]
	[[ "$(jq_py "[c['detail'] for c in d['checks'] if c['check'] == 'policy'][0]")" == "$POLICY:4: "* ]]
	[ "$(jq_py "d['fail']")" = 1 ]
}

@test "doctor: a host with no SR-IOV NIC warns; bad usage exits 2; --help names exit status 5" {
	good_host
	rm -rf "$SYS/bus/pci/devices"/*
	: >"$POLICY"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_line --regexp '^warn +sr-iov +no PCI device offers SR-IOV \(no sriov_totalvfs\)$'
	run --separate-stderr vfw -c "$POLICY" doctor --bogus
	assert_failure 2
	run --separate-stderr vfw -c "$POLICY" doctor extra
	assert_failure 2
	assert_stderr_line "vfwarden: unexpected argument 'extra'"
	assert_output ''
	run --separate-stderr vfw doctor --help
	assert_success
	assert_output --partial 'Exit status 5 when a check fails.'
}

@test "doctor: a VF netdev of a PF the policy does not name is NetworkManager's, no warning" {
	good_host
	mkdir -p "$ROOT/run/NetworkManager"
	# a second PF, not in the policy, with one VF on its kernel driver
	fake_pf 0000:02:00.0 enp2s0 7 1
	fake_vf 0000:02:00.0 0 "$(vf_pci 0000:02:00.0 0)" igbvf 40
	mkdir -p "$SYS/bus/pci/devices/$(vf_pci 0000:02:00.0 0)/net/enp2s0v0"
	echo 10 >"$SYS/bus/pci/devices/$(vf_pci 0000:02:00.0 0)/net/enp2s0v0/ifindex"
	ln -sfn "../../bus/pci/devices/$(vf_pci 0000:02:00.0 0)/net/enp2s0v0" "$SYS/class/net/enp2s0v0"
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_line --regexp '^ok +network-managers +no VF of a PF in the policy has a host netdev$'
}

# Other SR-IOV managers: their files under $ROOT (/etc, /run, /usr/lib, /lib).

# root_file PATH: stdin into $ROOT/PATH.
root_file() {
	mkdir -p "$(dirname "$ROOT/$1")"
	cat >"$ROOT/$1"
}

# mgr_doctor: doctor on the good host, which it passes with warnings only.
mgr_doctor() {
	run --separate-stderr vfw -c "$POLICY" doctor
	assert_success
	assert_stderr_empty
}

@test "doctor: a NetworkManager connection with [sriov] for a PF of the policy warns with FILE:LINE (by name, by MAC, or none)" {
	good_host
	root_file etc/NetworkManager/system-connections/uplink.nmconnection <<'EOF'
[connection]
id=uplink
type=ethernet
interface-name=enp1s0

[sriov]
total-vfs=4
EOF
	mgr_doctor
	assert_line "warn  sriov-managers         $ROOT/etc/NetworkManager/system-connections/uplink.nmconnection:6: NetworkManager's [sriov] also sets VFs of enp1s0"
	assert_line --regexp "^ +fix: let one tool set enp1s0's VFs: remove that setting, or enp1s0's \\[pf\\] section in the policy$"
	assert_line --index -1 --regexp '^[0-9]+ ok, 1 warn, 0 fail$'
	# By the permanent address, in /usr/lib; a file of the same name in /etc masks it.
	rm "$ROOT/etc/NetworkManager/system-connections/uplink.nmconnection"
	root_file usr/lib/NetworkManager/system-connections/bymac.nmconnection <<EOF
[connection]
type=ethernet
[ethernet]
mac-address=$(pf_mac enp1s0 | tr a-f A-F)
[sriov]
total-vfs=2
EOF
	mgr_doctor
	assert_line --partial "$ROOT/usr/lib/NetworkManager/system-connections/bymac.nmconnection:5: NetworkManager's [sriov] also sets VFs of enp1s0"
	root_file etc/NetworkManager/system-connections/bymac.nmconnection </dev/null
	mgr_doctor
	refute_line --partial 'bymac.nmconnection'
	assert_line --regexp '^ok +sriov-managers +no other tool.s file sets VFs of the policy.s PFs$'
	# No interface-name and no mac-address: any device it comes up on.
	root_file run/NetworkManager/system-connections/any.nmconnection <<'EOF'
[connection]
type=ethernet
[sriov]
total-vfs=2
EOF
	mgr_doctor
	assert_line "warn  sriov-managers         $ROOT/run/NetworkManager/system-connections/any.nmconnection:3: NetworkManager's [sriov] has no interface-name or mac-address: it sets VFs of any device the connection comes up on"
}

@test "doctor: a systemd .link with SR-IOVVirtualFunctions= or [SR-IOV] warns (OriginalName glob, MACAddress, Driver, Path; /etc masks /usr/lib)" {
	good_host
	root_file usr/lib/systemd/network/10-vfs.link <<'EOF'
[Match]
OriginalName=enp1s*
[Link]
SR-IOVVirtualFunctions=4
EOF
	root_file etc/systemd/network/20-mac.link <<EOF
[Match]
MACAddress=aa:bb:cc:dd:ee:ff $(pf_mac enp1s0)
Driver=igb
[SR-IOV]
VirtualFunction=0
Trust=yes
EOF
	root_file lib/systemd/network/30-path.link <<EOF
# by PCI path
[Match]
Path=pci-$PF
[Link]
SR-IOVVirtualFunctions=2
EOF
	mgr_doctor
	assert_line --partial "$ROOT/usr/lib/systemd/network/10-vfs.link:4: systemd .link's SR-IOVVirtualFunctions= also sets VFs of enp1s0"
	assert_line --partial "$ROOT/etc/systemd/network/20-mac.link:4: systemd .link's [SR-IOV] also sets VFs of enp1s0"
	assert_line --partial "$ROOT/lib/systemd/network/30-path.link:5: systemd .link's SR-IOVVirtualFunctions= also sets VFs of enp1s0"
	assert_line --index -1 --regexp '^[0-9]+ ok, 3 warn, 0 fail$'
	# A symlink to /dev/null in /etc masks the /usr/lib file; a Driver that does not match, a '!' list.
	ln -s /dev/null "$ROOT/etc/systemd/network/10-vfs.link"
	sed -i 's/^Driver=igb/Driver=ixgbe/' "$ROOT/etc/systemd/network/20-mac.link"
	sed -i "s/^Path=/Path=!/" "$ROOT/lib/systemd/network/30-path.link"
	mgr_doctor
	refute_line --partial '.link'
	assert_line --index -1 --regexp '^[0-9]+ ok, 0 warn, 0 fail$'
}

@test "doctor: a systemd-networkd .network with [SR-IOV] warns; one with an empty [Match] is ignored as networkd does" {
	good_host
	root_file run/systemd/network/50-uplink.network <<'EOF'
[Match]
Name=eth0 enp1s0

[Network]
DHCP=yes

[SR-IOV]
VirtualFunction=1
VLANId=10
EOF
	root_file etc/systemd/network/60-empty.network <<'EOF'
[Match]
[SR-IOV]
VirtualFunction=0
EOF
	mgr_doctor
	assert_line "warn  sriov-managers         $ROOT/run/systemd/network/50-uplink.network:7: systemd-networkd's [SR-IOV] also sets VFs of enp1s0"
	refute_line --partial '60-empty.network'
}

@test "doctor: netplan's virtual-function-count, or VF entries with link:, warn (by ID, match: name, match: macaddress)" {
	good_host
	root_file etc/netplan/50-sriov.yaml <<'EOF'
network:
  version: 2
  renderer: networkd
  ethernets:
    enp1s0:
      dhcp4: true
      virtual-function-count: 4   # VFs for the guests
    enp9s0:
      virtual-function-count: 2
EOF
	root_file lib/netplan/60-vfs.yaml <<EOF
network:
  ethernets:
    uplink:
      match:
        macaddress: "$(pf_mac enp1s0)"
    vf1:
      link: uplink
EOF
	mgr_doctor
	assert_line --partial "$ROOT/etc/netplan/50-sriov.yaml:7: netplan's virtual-function-count also sets VFs of enp1s0"
	assert_line --partial "$ROOT/lib/netplan/60-vfs.yaml:7: netplan's link: of a VF entry also sets VFs of enp1s0"
	refute_line --partial '50-sriov.yaml:9'
	# The same name in /run shadows /etc.
	root_file run/netplan/50-sriov.yaml <<'EOF'
network:
  ethernets:
    enp1s0:
      dhcp4: true
EOF
	rm "$ROOT/lib/netplan/60-vfs.yaml"
	root_file etc/netplan/70-name.yaml <<'EOF'
network:
  ethernets:
    pf0:
      match:
        name: enp1s*
      virtual-function-count: 7
EOF
	mgr_doctor
	refute_line --partial '50-sriov.yaml'
	assert_line --partial "$ROOT/etc/netplan/70-name.yaml:6: netplan's virtual-function-count also sets VFs of enp1s0"
	assert_line --index -1 --regexp '^[0-9]+ ok, 1 warn, 0 fail$'
}

@test "doctor: a unit or rc.local that writes sriov_numvfs warns, naming the PF when the line does" {
	good_host
	root_file etc/systemd/system/sriov.service <<EOF
[Service]
Type=oneshot
# echo 0 > sriov_numvfs first
ExecStart=/bin/sh -c 'echo 4 > /sys/bus/pci/devices/$PF/sriov_numvfs'
EOF
	root_file etc/rc.local <<'EOF'
#!/bin/sh
for pf in $PFS; do
	echo 2 > /sys/class/net/$pf/device/sriov_numvfs
done
EOF
	mgr_doctor
	assert_line "warn  sriov-managers         $ROOT/etc/systemd/system/sriov.service:4: writes sriov_numvfs of enp1s0"
	assert_line "warn  sriov-managers         $ROOT/etc/rc.local:3: writes sriov_numvfs and names no PF: it may be one of the policy"
	assert_line --regexp '^ +fix: make sure it writes no PF of vfwarden.s policy$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 2 warn, 0 fail$'
	doctor_json
	[ "$(jq_py "sum(1 for c in d['checks'] if c['check'] == 'sriov-managers' and c['result'] == 'warn')")" = 2 ]
}

@test "doctor: another tool's file for another interface gives no warning; one too large to read is named" {
	good_host
	fake_pf 0000:02:00.0 enp2s0 7 0
	root_file etc/NetworkManager/system-connections/other.nmconnection <<'EOF'
[connection]
interface-name=enp2s0
[sriov]
total-vfs=4
EOF
	root_file etc/systemd/network/10-other.link <<EOF
[Match]
MACAddress=$(pf_mac enp2s0)
[Link]
SR-IOVVirtualFunctions=4
EOF
	root_file etc/systemd/network/10-other.network <<'EOF'
[Match]
Name=enp2s0
[SR-IOV]
VirtualFunction=0
EOF
	root_file etc/netplan/10-other.yaml <<'EOF'
network:
  ethernets:
    enp2s0:
      virtual-function-count: 4
EOF
	root_file etc/systemd/system/other.service <<'EOF'
[Service]
ExecStart=/bin/sh -c 'echo 4 > /sys/bus/pci/devices/0000:02:00.0/sriov_numvfs'
ExecStart=/bin/sh -c 'echo 4 > /sys/class/net/enp2s0/device/sriov_numvfs'
EOF
	mgr_doctor
	assert_line --regexp '^ok +sriov-managers +no other tool.s file sets VFs of the policy.s PFs$'
	assert_line --index -1 --regexp '^[0-9]+ ok, 0 warn, 0 fail$'
	# A policy that names no PF here: nothing to share, no line.
	policy <<'EOF'
[pf uplink]
device = enp7s0
vfs = 2
EOF
	run --separate-stderr vfw -c "$POLICY" doctor
	refute_line --partial 'sriov-managers'
	# Larger than the cap: named, not read.
	good_host
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
EOF
	head -c 300000 /dev/zero | tr '\0' '#' >"$ROOT/etc/netplan/90-big.yaml"
	mgr_doctor
	assert_line "warn  sriov-managers         $ROOT/etc/netplan/90-big.yaml: larger than 256 KiB, not read"
	# One that cannot be opened is named with the reason; a dangling symlink is no file.
	ln -s loop.nmconnection "$ROOT/etc/NetworkManager/system-connections/loop.nmconnection"
	ln -s /nonexistent "$ROOT/etc/NetworkManager/system-connections/gone.nmconnection"
	mgr_doctor
	assert_line "warn  sriov-managers         $ROOT/etc/NetworkManager/system-connections/loop.nmconnection: cannot read: Too many levels of symbolic links"
	refute_line --partial 'gone.nmconnection'
}
