#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vfwarden [-c FILE] hook qemu|network NAME OP SUBOP EXTRA < XML on a fake
# host: the libvirt hook contract (prepare begin / release end, port-created
# / port-deleted), and the symlink /etc/libvirt/hooks/qemu.d/vfwarden.

load helpers

setup() {
	vfw_setup
	PF=0000:01:00.0
	VF0=$(vf_pci $PF 0)
	VF1=$(vf_pci $PF 1)
	REC=$ROOT/run/vfwarden/vf
	# Two VFs of enp1s0 created but unbound (the kernel left them without a
	# driver, autoprobe 0), netlink table at kernel defaults.
	fake_pf $PF enp1s0 7 2
	fake_vfs $PF 2 none
	fake_vf_state enp1s0 0
	fake_vf_state enp1s0 1
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 100
trust = on
spoofchk = off
max-tx-rate = 1000
EOF
}

# hook OP SUBOP [DOMAIN]: run the qemu hook with -c $POLICY, XML on stdin.
hook() {
	"$VFWARDEN" -c "$POLICY" hook qemu "${3:-vm1}" "$1" "$2" -
}

# domain_iface PCI [EXTRA-XML]: a domain with <interface type='hostdev'> on PCI.
domain_iface() {
	local pci=$1 dom bus slot fn
	dom=${pci:0:4} bus=${pci:5:2} slot=${pci:8:2} fn=${pci:11:1}
	cat <<EOF
<domain type='kvm'>
  <name>vm1</name>
  <uuid>0b1e0a2c-7d4e-4f3a-9d1c-3a7f0f2b9e11</uuid>
  <memory unit='KiB'>1048576</memory>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/vm1.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='hostdev' managed='yes'>
      <mac address='52:54:00:aa:bb:01'/>
      <source>
        <address type='pci' domain='0x$dom' bus='0x$bus' slot='0x$slot' function='0x$fn'/>
      </source>
      <vlan><tag id='42'/></vlan>
      ${2:-}
    </interface>
  </devices>
</domain>
EOF
}

# domain_hostdev PCI: a domain with <hostdev mode='subsystem' type='pci'> on PCI.
domain_hostdev() {
	local pci=$1
	cat <<EOF
<domain type='kvm'>
  <name>vm1</name>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x${pci:0:4}' bus='0x${pci:5:2}' slot='0x${pci:8:2}' function='0x${pci:11:1}'/>
      </source>
    </hostdev>
  </devices>
</domain>
EOF
}

domain_plain() {
	cat <<'EOF'
<domain type='kvm'>
  <name>plain</name>
  <devices>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
    <disk type='file' device='disk'><source file='/x.qcow2'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
EOF
}

# with_meta XML-ELEMENTS: a domain on stdin gets <metadata> with a vfwarden
# <vfs> element holding XML-ELEMENTS (the namespace prefix is 'v').
with_meta() {
	sed "s|^  <name>vm1</name>|&<metadata><v:vfs xmlns:v='http://vfwarden.org/xmlns/domain/1.0'>$1</v:vfs><other:x xmlns:other='urn:x'/></metadata>|"
}

# The netlink line of VF IDX of enp1s0.
vf_line() {
	grep "^vf$1 " "$NL/enp1s0"
}

@test "hook: a domain with no hostdev exits 0 at once, silent, even with a broken or missing policy" {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vlan = 5000
EOF
	before=$(tree_sum)
	for op in "prepare begin" "start begin" "started begin" "release end" "stopped end"; do
		for conf in "$POLICY" "$BATS_TEST_TMPDIR/no-such.conf"; do
			run --separate-stderr "$VFWARDEN" -c "$conf" hook qemu plain $op - < <(domain_plain)
			assert_success
			assert_output ''
			assert_stderr_empty
		done
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ ! -e "$ROOT/run/vfwarden" ]
}

@test "hook: run through a .../qemu.d/vfwarden symlink it is 'hook qemu'" {
	mkdir -p "$BATS_TEST_TMPDIR/hooks/qemu.d"
	ln -s "$VFWARDEN" "$BATS_TEST_TMPDIR/hooks/qemu.d/vfwarden"
	before=$(tree_sum)
	run --separate-stderr "$BATS_TEST_TMPDIR/hooks/qemu.d/vfwarden" plain prepare begin - < <(domain_plain)
	assert_success
	assert_output ''
	assert_stderr_empty
	# A domain XML is read as a domain: a PCI address that is no VF is not ours.
	run --separate-stderr "$BATS_TEST_TMPDIR/hooks/qemu.d/vfwarden" vm1 prepare begin - \
		< <(domain_hostdev 0000:05:00.0)
	assert_success
	assert_output ''
	assert_stderr_empty
	# Other ops through the symlink: exit 0, silent.
	run --separate-stderr "$BATS_TEST_TMPDIR/hooks/qemu.d/vfwarden" vm1 started begin - < <(domain_iface "$VF0")
	assert_success
	assert_stderr_empty
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# Too few arguments from libvirt: usage, exit 2, still nothing written.
	run --separate-stderr "$BATS_TEST_TMPDIR/hooks/qemu.d/vfwarden" vm1 prepare </dev/null
	assert_failure 2
	assert_stderr_contains 'usage'
	[ "$(tree_sum)" = "$before" ]
}

@test "hook: run through a .../network.d/vfwarden symlink it is 'hook network'" {
	mkdir -p "$BATS_TEST_TMPDIR/hooks/network.d"
	ln -s "$VFWARDEN" "$BATS_TEST_TMPDIR/hooks/network.d/vfwarden"
	before=$(tree_sum)
	# A domain XML given to the network hook is no hookData: nothing to do.
	run --separate-stderr "$BATS_TEST_TMPDIR/hooks/network.d/vfwarden" net0 port-created begin - \
		< <(domain_iface "$VF0")
	assert_success
	assert_output ''
	assert_stderr_empty
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: prepare begin with <interface type='hostdev'> binds the VF to vfio-pci and sets the XML's mac/vlan" {
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_success
	assert_output ''
	assert_stderr_empty
	# Bound through driver_override + drivers_probe.
	[ "$(cat "$SYS/bus/pci/devices/$VF0/driver_override")" = vfio-pci ]
	[ "$(sysfs bus/pci/drivers_probe)" = "$VF0" ]
	# MAC and VLAN from the XML, the rest from the policy, VF0 only.
	assert_equal "$(nl_log)" "enp1s0 vf0 mac 52:54:00:aa:bb:01
enp1s0 vf0 vlan 42 qos 0 802.1Q
enp1s0 vf0 spoofchk off
enp1s0 vf0 trust on
enp1s0 vf0 max-tx-rate 1000"
	assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	assert_equal "$(vf_line 1)" "vf1 mac=00:00:00:00:00:00 vlan=0 qos=0 proto=802.1Q spoofchk=1 trust=0 link=0 max=0 min=0 rss=0"
	[ "$(cat "$SYS/bus/pci/devices/$VF1/driver_override")" = '(null)' ]
	# The record ties the VF to the domain, domain= first.
	assert_equal "$(head -n1 "$REC/$VF0")" "domain=vm1"
	# ... then what the domain was given, as the policy writes it (records.h).
	assert_equal "$(cat "$REC/$VF0")" "domain=vm1
vf-driver=vfio-pci
mac=52:54:00:aa:bb:01
vlan=42
qos=0
vlan-proto=802.1Q"
	[ ! -e "$REC/$VF1" ]
	# status now names the domain as the VF's user.
	run vfw -c "$POLICY" status
	assert_line --regexp "$VF0 .*vm1"
}

@test "hook: release end returns the VF to the policy (mac auto, policy vlan) and drops the record" {
	run hook prepare begin < <(domain_iface "$VF0")
	assert_success
	# The domain's qemu held the group while running; at release end it is gone.
	rm -f "$NL/log"
	m0=$(auto_mac "$(pf_mac enp1s0)" 0)
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_output ''
	assert_stderr_empty
	assert_equal "$(nl_log)" "enp1s0 vf0 mac $m0
enp1s0 vf0 vlan 100 qos 0 802.1Q"
	assert_equal "$(vf_line 0)" "vf0 mac=$m0 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	[ ! -e "$REC/$VF0" ]
	# vf-driver = vfio-pci (default): it stays bound.
	[ "$(cat "$SYS/bus/pci/devices/$VF0/driver_override")" = vfio-pci ]
	# A second release finds nothing to do and still exits 0.
	rm -f "$NL/log"
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_empty
	[ ! -e "$NL/log" ]
}

@test "hook: prepare begin with <hostdev mode='subsystem' type='pci'> takes mac and vlan from the policy" {
	m1=$(auto_mac "$(pf_mac enp1s0)" 1)
	run --separate-stderr hook prepare begin < <(domain_hostdev "$VF1")
	assert_success
	assert_stderr_empty
	[ "$(cat "$SYS/bus/pci/devices/$VF1/driver_override")" = vfio-pci ]
	[ "$(sysfs bus/pci/drivers_probe)" = "$VF1" ]
	assert_equal "$(vf_line 1)" "vf1 mac=$m1 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	run grep -c '^enp1s0 vf0 ' "$NL/log"
	assert_output 0
	assert_equal "$(cat "$REC/$VF1")" "domain=vm1
vf-driver=vfio-pci"
	run --separate-stderr hook release end < <(domain_hostdev "$VF1")
	assert_success
	[ ! -e "$REC/$VF1" ]
}

@test "hook: other operations exit 0 and write nothing" {
	before=$(tree_sum)
	for op in "start begin" "started begin" "release begin" "prepare end" "stopped begin" \
		"reconnect end" "attach begin" "unknown-op x"; do
		run --separate-stderr hook $op < <(domain_iface "$VF0")
		assert_success
		assert_output ''
		assert_stderr_empty
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: a VF of a PF the policy does not name is left alone" {
	fake_pf 0000:02:00.0 enp2s0 7 1
	fake_vfs 0000:02:00.0 1 none
	fake_vf_state enp2s0 0
	other=$(vf_pci 0000:02:00.0 0)
	before=$(tree_sum)
	for op in "prepare begin" "release end"; do
		run --separate-stderr hook $op < <(domain_iface "$other")
		assert_success
		assert_output ''
		assert_stderr_empty
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ "$(cat "$SYS/bus/pci/devices/$other/driver_override")" = '(null)' ]
}

@test "hook: a PCI address that is not a VF is not ours: exit 0, nothing written" {
	fake_pf 0000:05:00.0 eth5 0 0
	before=$(tree_sum)
	for op in "prepare begin" "release end"; do
		for pci in 0000:05:00.0 0000:09:1f.7; do
			run --separate-stderr hook $op < <(domain_hostdev "$pci")
			assert_success
			assert_output ''
			assert_stderr_empty
		done
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: an attribute the driver refuses fails prepare with one line naming domain, VF and attribute" {
	fake_reject enp1s0 link-state
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
link-state = enable
EOF
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_failure
	assert_output ''
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	assert_stderr_line "vfwarden: domain 'vm1': uplink vf0 ($VF0) link-state: not supported by igb"
	run grep -c 'link-state' "$NL/log"
	assert_output 0
	# Not recorded as the domain's: libvirt does not start it.
	[ ! -e "$REC/$VF0" ]
}

@test "hook: a broken policy that names the VF's PF refuses prepare with FILE:LINE" {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
vlan = 4096
EOF
	before=$(tree_sum)
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_failure
	assert_output ''
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	assert_stderr_contains "domain 'vm1'"
	assert_stderr_contains "$VF0"
	assert_stderr_contains "$POLICY:4: "
	assert_stderr_contains "4096"
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# release end of such a VF must not fail the domain's stop.
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	[ ! -e "$NL/log" ]
}

@test "hook: a broken policy refuses prepare of a VF of a PF it does not name too (fail closed)" {
	fake_pf 0000:02:00.0 enp2s0 7 1
	fake_vfs 0000:02:00.0 1 none
	fake_vf_state enp2s0 0
	policy <<'EOF'
[pf uplink]
device = enp1s0
vfs = 2
trust = maybe
EOF
	before=$(tree_sum)
	other=$(vf_pci 0000:02:00.0 0)
	run --separate-stderr hook prepare begin < <(domain_iface "$other")
	assert_failure 3
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	assert_stderr_line "vfwarden: domain 'vm1': VF $other may be managed, but the policy is invalid: $POLICY:4: invalid trust 'maybe' (on or off)"
	[ "$(tree_sum)" = "$before" ]
	# Stopping such a domain never fails.
	run --separate-stderr hook release end < <(domain_iface "$other")
	assert_success
	[ "$(tree_sum)" = "$before" ]
}

@test "hook: a missing -c policy is no policy: a VF is then unmanaged" {
	before=$(tree_sum)
	run --separate-stderr "$VFWARDEN" -c "$BATS_TEST_TMPDIR/no-such.conf" hook qemu vm1 prepare begin - \
		< <(domain_iface "$VF0")
	assert_success
	assert_output ''
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: a VF whose vfio group another process holds is refused, naming the pid" {
	fake_vfs $PF 2 vfio-pci
	fake_in_use 30 4242 qemu-kvm
	before=$(tree_sum)
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_failure
	assert_output ''
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	assert_stderr_line "vfwarden: domain 'vm1': uplink vf0 ($VF0) is in use by pid 4242 (qemu-kvm)"
	[ ! -e "$NL/log" ]
	[ ! -e "$REC/$VF0" ]
	# The other VF of the same PF is free.
	run --separate-stderr hook prepare begin < <(domain_iface "$VF1")
	assert_success
	[ -e "$REC/$VF1" ]
}

@test "hook: a stale record does not hide a process that holds the VF" {
	fake_vfs $PF 2 vfio-pci
	fake_owner "$VF0" old-domain
	fake_in_use 30 4343 qemu-system-x86
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_failure
	assert_stderr_contains "is in use by pid 4343"
	[ ! -e "$NL/log" ]
	assert_equal "$(cat "$REC/$VF0")" "domain=old-domain"
}

@test "hook: malformed XML with a hostdev refuses prepare (fail closed), is ignored elsewhere, no crash, nothing written" {
	before=$(tree_sum)
	run --separate-stderr hook prepare begin <<<'<domain><name>vm1</name><devices><hostdev'
	assert_failure 4
	assert_output ''
	assert_stderr_line "vfwarden: domain 'vm1': unreadable XML (Bad message): cannot tell whether it uses a VF vfwarden manages, refusing the start"
	for op in "release end" "stopped end" "reconnect begin"; do
		run --separate-stderr hook $op <<<'<domain><name>vm1</name><devices><hostdev'
		assert_success
		assert_output ''
		assert_stderr_line "vfwarden: unreadable XML for 'vm1' (Bad message), ignored"
	done
	run --separate-stderr hook start begin <<<'<domain><name>vm1</name><devices><hostdev'
	assert_success
	assert_stderr_empty
	run --separate-stderr hook prepare begin </dev/null
	assert_success
	run --separate-stderr hook prepare begin <<<'<network><name>x</name></network>'
	assert_success
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: an external entity or DOCTYPE is neither fetched nor expanded" {
	secret=$BATS_TEST_TMPDIR/secret
	echo "0x0000" >"$secret"
	# Were the entity expanded, &dom; would give a valid domain='0x0000' and the VF would be prepared.
	xml="<?xml version='1.0'?>
<!DOCTYPE domain [
  <!ENTITY dom SYSTEM 'file://$secret'>
  <!ENTITY net SYSTEM 'http://127.0.0.1:9/x.xml'>
  <!ENTITY inner '0x0000'>
]>
<domain type='kvm'><name>vm1&net;</name><devices>
<hostdev mode='subsystem' type='pci'><source>
<address domain='&dom;' bus='0x01' slot='0x10' function='0x0'/>
</source></hostdev>
<hostdev mode='subsystem' type='pci'><source>
<address domain='&inner;' bus='0x01' slot='0x10' function='0x1'/>
</source></hostdev>
</devices></domain>"
	# Internal entities only: well-formed, but xmlGetProp would expand them.
	internal="<?xml version='1.0'?>
<!DOCTYPE domain [ <!ENTITY inner '0x0000'> <!ENTITY nm 'evil'> ]>
<domain type='kvm'><name>&nm;</name><devices>
<hostdev mode='subsystem' type='pci'><source>
<address domain='&inner;' bus='0x01' slot='0x10' function='0x1'/>
</source></hostdev></devices></domain>"
	before=$(tree_sum)
	for doc in "$xml" "$internal"; do
		run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu vm1 prepare begin - <<<"$doc"
		assert_failure 4
		assert_output ''
		assert_stderr_line "vfwarden: domain 'vm1': unreadable XML (Bad message): cannot tell whether it uses a VF vfwarden manages, refusing the start"
		refute_stderr_contains "$secret"
		run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu vm1 release end - <<<"$doc"
		assert_success
		assert_output ''
		assert_stderr_line "vfwarden: unreadable XML for 'vm1' (Bad message), ignored"
		refute_stderr_contains "$secret"
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	[ ! -e "$REC" ]
	[ "$(sysfs bus/pci/drivers_probe)" = "" ]
}

@test "hook: a billion-laughs DOCTYPE is not expanded" {
	xml="<?xml version='1.0'?>
<!DOCTYPE domain [
 <!ENTITY a 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'>
 <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>
 <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>
 <!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>
 <!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>
 <!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>
 <!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>
]>
<domain><name>&g;</name><devices>
<hostdev mode='subsystem' type='pci'><source>
<address domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>
</source></hostdev></devices></domain>"
	before=$(tree_sum)
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu vm1 prepare begin - <<<"$xml"
	assert_failure 4
	assert_stderr_contains 'unreadable XML'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: stdin of exactly 4 MiB is still read" {
	xml=$BATS_TEST_TMPDIR/4m.xml
	domain_hostdev "$VF0" >"$xml"
	pad=$((4 * 1024 * 1024 - $(stat -c %s "$xml")))
	head -c "$pad" /dev/zero | tr '\0' ' ' >>"$xml"
	[ "$(stat -c %s "$xml")" -eq 4194304 ]
	run --separate-stderr hook prepare begin <"$xml"
	assert_success
	assert_stderr_empty
	[ "$(cat "$SYS/bus/pci/devices/$VF0/driver_override")" = vfio-pci ]
	assert_equal "$(cat "$REC/$VF0")" "domain=vm1
vf-driver=vfio-pci"
	# One byte more is too much to parse, and it has a hostdev.
	echo >>"$xml"
	rm -f "$REC/$VF0"
	run --separate-stderr hook prepare begin <"$xml"
	assert_failure 4
	assert_stderr_line "vfwarden: domain 'vm1': unreadable XML (over the 4 MiB vfwarden parses): cannot tell whether it uses a VF vfwarden manages, refusing the start"
	[ ! -e "$REC/$VF0" ]
}

@test "hook: the vlan tag id is decimal, as libvirt reads it" {
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | sed "s/tag id='42'/tag id='042'/")
	assert_success
	grep -qx 'enp1s0 vf0 vlan 42 qos 0 802.1Q' "$NL/log"
	grep -q '^vf0 .* vlan=42 ' "$NL/enp1s0"
}

@test "hook: release end of a domain refused a VF that another domain holds leaves it alone" {
	run hook prepare begin < <(domain_iface "$VF0")
	assert_success
	# The record names the domain from the XML: make it the running one.
	echo "domain=web1" >"$REC/$VF0"
	before=$(tree_sum)
	# vm1 is misconfigured with the same VF; libvirt refuses it and runs release end.
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_line "vfwarden: domain 'vm1': uplink vf0 ($VF0) belongs to domain 'web1': left alone"
	[ "$(tree_sum)" = "$before" ]
	assert_equal "$(cat "$REC/$VF0")" "domain=web1"
	# A process holding the group (no record) is left alone at release too.
	rm -f "$REC/$VF0"
	fake_vfs $PF 2 vfio-pci
	fake_in_use 30 5151 qemu-kvm
	rm -f "$NL/log"
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_contains 'is in use by pid 5151 (qemu-kvm): left alone'
	[ ! -e "$NL/log" ]
}

@test "hook: stdin over 4 MiB is refused without a crash; other ops still exit 0 and write nothing" {
	big=$BATS_TEST_TMPDIR/big.xml
	{
		domain_iface "$VF0" | sed '$d'
		head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' ' '
		echo '</domain>'
	} >"$big"
	before=$(tree_sum)
	for op in "start begin" "release end" "stopped end"; do
		run --separate-stderr hook $op <"$big"
		assert_success
		assert_output ''
	done
	# migrate begin passes it through unchanged, whatever its size.
	hook migrate begin <"$big" >"$BATS_TEST_TMPDIR/out"
	cmp "$big" "$BATS_TEST_TMPDIR/out"
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# prepare cannot tell which VFs the domain uses: it fails the start, saying why.
	run --separate-stderr hook prepare begin <"$big"
	assert_failure
	assert_stderr_contains 'XML'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: a VF beyond the policy's vfs is left alone" {
	fake_pf $PF enp1s0 7 3
	fake_vfs $PF 3 none
	VF2=$(vf_pci $PF 2)
	before=$(tree_sum)
	run --separate-stderr hook prepare begin < <(domain_hostdev "$VF2")
	assert_success
	assert_stderr_contains 'beyond its vfs = 2'
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

# hookdata PCI OWNER MAC: a network hook document for a hostdev-pci port.
hookdata() {
	local pci=$1
	cat <<EOF
<hookData>
  <network>
    <name>sriov-net</name>
    <uuid>4d0b3b4c-3f67-4a8e-9f83-8f2a1b0c9d11</uuid>
    <forward mode='hostdev' managed='yes'><driver name='vfio'/><pf dev='enp1s0'/></forward>
  </network>
  <networkport>
    <uuid>a1b2c3d4-0000-4000-8000-000000000001</uuid>
    <owner><name>$2</name><uuid>0b1e0a2c-7d4e-4f3a-9d1c-3a7f0f2b9e11</uuid></owner>
    <mac address='$3'/>
    <plug type='hostdev-pci' managed='yes'>
      <driver name='vfio'/>
      <address type='pci' domain='0x${pci:0:4}' bus='0x${pci:5:2}' slot='0x${pci:8:2}' function='0x${pci:11:1}'/>
    </plug>
  </networkport>
</hookData>
EOF
}

@test "hook network: port-created prepares the port's VF, port-deleted releases it" {
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook network sriov-net port-created begin - \
		< <(hookdata "$VF1" vm7 52:54:00:77:00:01)
	assert_success
	assert_output ''
	assert_stderr_empty
	[ "$(cat "$SYS/bus/pci/devices/$VF1/driver_override")" = vfio-pci ]
	[ "$(sysfs bus/pci/drivers_probe)" = "$VF1" ]
	assert_equal "$(vf_line 1)" "vf1 mac=52:54:00:77:00:01 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	assert_equal "$(head -n1 "$REC/$VF1")" "domain=vm7"
	run grep -c '^enp1s0 vf0 ' "$NL/log"
	assert_output 0

	m1=$(auto_mac "$(pf_mac enp1s0)" 1)
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook network sriov-net port-deleted begin - \
		< <(hookdata "$VF1" vm7 52:54:00:77:00:01)
	assert_success
	assert_stderr_empty
	assert_equal "$(vf_line 1)" "vf1 mac=$m1 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	[ ! -e "$REC/$VF1" ]
}

@test "hook network: network-level events and other ops write nothing" {
	before=$(tree_sum)
	for op in "start begin" "started begin" "stopped end" "updated begin" "port-created begin"; do
		run --separate-stderr "$VFWARDEN" -c "$POLICY" hook network sriov-net $op - \
			<<<"<hookData><network><name>sriov-net</name></network></hookData>"
		assert_success
		assert_output ''
		assert_stderr_empty
	done
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook network sriov-net started begin - \
		< <(hookdata "$VF1" vm7 52:54:00:77:00:01)
	assert_success
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: usage errors exit 2 and write nothing" {
	before=$(tree_sum)
	run --separate-stderr vfw -c "$POLICY" hook lxc vm1 prepare begin - </dev/null
	assert_failure 2
	assert_stderr_contains 'usage'
	run --separate-stderr vfw -c "$POLICY" hook qemu vm1 </dev/null
	assert_failure 2
	[ "$(tree_sum)" = "$before" ]
}

@test "hook: migrate begin passes the XML through unchanged and writes nothing" {
	before=$(tree_sum)
	for xml in "$(domain_iface "$VF0")" "$(domain_plain)" "not xml at all <"; do
		run --separate-stderr hook migrate begin <<< "$xml"
		assert_success
		assert_output "$xml"
		assert_stderr_empty
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: stopped end returns the VF to the policy like release end; release end after it writes nothing" {
	run hook prepare begin < <(domain_iface "$VF0")
	assert_success
	rm -f "$NL/log"
	m0=$(auto_mac "$(pf_mac enp1s0)" 0)
	run --separate-stderr hook stopped end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_empty
	assert_equal "$(vf_line 0)" "vf0 mac=$m0 vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	[ ! -e "$REC/$VF0" ]
	rm -f "$NL/log"
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_empty
	[ ! -e "$NL/log" ]
}

@test "hook: reconnect begin and restore begin re-apply a running domain's VF and never fail" {
	for op in reconnect restore; do
		run hook prepare begin < <(domain_iface "$VF0")
		assert_success
		# The domain runs: its qemu holds the group. Someone flipped two settings.
		fake_in_use 30 6000 qemu-system-x86
		fake_vf_state enp1s0 0 mac=52:54:00:aa:bb:01 vlan=42 spoofchk=1 trust=0 max=1000
		rm -f "$NL/log"
		run --separate-stderr hook $op begin < <(domain_iface "$VF0")
		assert_success
		assert_output ''
		assert_equal "$(nl_log)" "enp1s0 vf0 spoofchk off
enp1s0 vf0 trust on"
		# The XML's mac and vlan stay, the record stays.
		assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
		assert_equal "$(head -n1 "$REC/$VF0")" "domain=vm1"
		# Converged: a second re-check writes nothing.
		rm -f "$NL/log"
		run --separate-stderr hook $op begin < <(domain_iface "$VF0")
		assert_success
		[ ! -e "$NL/log" ]
		rm -rf "$ROOT/proc/6000"
		run hook release end < <(domain_iface "$VF0")
		assert_success
	done
}

@test "hook: reconnect begin with a broken policy or a refused attribute warns and exits 0" {
	fake_in_use 30 6001 qemu-system-x86
	fake_reject enp1s0 trust
	run --separate-stderr hook reconnect begin < <(domain_iface "$VF0")
	assert_success
	assert_stderr_contains "vf0 ($VF0) trust"
	echo 'vlan = 5000' >> "$POLICY"
	before=$(tree_sum)
	run --separate-stderr hook reconnect begin < <(domain_iface "$VF0")
	assert_success
	assert_stderr_contains "$POLICY:8:"
	[ "$(tree_sum)" = "$before" ]
}

@test "hook: <metadata> sets what allow-domain lets it, for every VF or one address; release restores the policy" {
	echo 'allow-domain = trust, max-tx-rate, spoofchk' >> "$POLICY"
	meta="<v:vf trust='off' max-tx-rate='500'/><v:vf address='${VF0^^}' spoofchk='on'/><v:vf address='$VF1' max-tx-rate='9'/>"
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | with_meta "$meta")
	assert_success
	assert_stderr_empty
	assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=1 trust=0 link=0 max=500 min=0 rss=0"
	run --separate-stderr hook release end < <(domain_iface "$VF0" | with_meta "$meta")
	assert_success
	assert_equal "$(vf_line 0)" "vf0 mac=$(auto_mac "$(pf_mac enp1s0)" 0) vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
}

@test "hook: <metadata> the policy does not allow, or a bad value, refuses the start and writes nothing" {
	echo 'allow-domain = max-tx-rate' >> "$POLICY"
	before=$(tree_sum)
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | with_meta "<v:vf trust='on'/>")
	assert_failure
	assert_stderr_line "vfwarden: domain 'vm1': uplink vf0 ($VF0): vfwarden metadata sets trust, which [pf uplink] does not allow (allow-domain)"
	for meta in "<v:vf max-tx-rate='fast'/>" "<v:vf trsut='on'/>" "<v:vf address='01:10.0' max-tx-rate='1'/>" \
		"<v:bogus/>" "<v:vf min-tx-rate='2000'/>"; do
		run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | with_meta "$meta")
		assert_failure
		assert_stderr_contains "vfwarden: domain 'vm1': uplink vf0 ($VF0): "
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# Allowed, but against the policy's max-tx-rate: the rule between settings holds
	sed -i 's/^allow-domain = max-tx-rate$/&, min-tx-rate/' "$POLICY"
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | with_meta "<v:vf min-tx-rate='2000'/>")
	assert_failure
	assert_stderr_line "vfwarden: domain 'vm1': uplink vf0 ($VF0): min-tx-rate 2000 is above max-tx-rate 1000"
	[ ! -e "$NL/log" ]
	# Without allow-domain nothing may be chosen; a domain without a VF ignores its metadata.
	sed -i '$d' "$POLICY"
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | with_meta "<v:vf max-tx-rate='5'/>")
	assert_failure
	run --separate-stderr "$VFWARDEN" -c "$POLICY" hook qemu plain prepare begin - < <(domain_plain | sed "s|<name>plain</name>|&<metadata><v:vfs xmlns:v='http://vfwarden.org/xmlns/domain/1.0'><v:bad/></v:vfs></metadata>|")
	assert_success
	assert_stderr_empty
}

# Issue 15 item 5: a VF another QEMU holds through its VFIO device cdev
# (iommufd; Debian's kernels have CONFIG_IOMMUFD off, so only here) is not
# handed to a second domain.
@test "hook: a VF held through its VFIO device cdev refuses prepare" {
	fake_vfs $PF 2 vfio-pci
	mkdir -p "$SYS/bus/pci/devices/$VF0/vfio-dev/vfio3" "$ROOT/proc/4545/fd"
	echo qemu-system-x86 >"$ROOT/proc/4545/comm"
	ln -s /dev/vfio/devices/vfio3 "$ROOT/proc/4545/fd/30"
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_failure
	assert_stderr_contains "is in use by pid 4545 (qemu-system-x86)"
	[ ! -e "$NL/log" ]
	[ ! -e "$REC/$VF0" ]
}

@test "hook: a FIFO as the policy does not block the hook" {
	mkfifo "$BATS_TEST_TMPDIR/fifo.conf"
	before=$(tree_sum)
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$BATS_TEST_TMPDIR/fifo.conf" hook qemu vm1 prepare begin - \
		< <(domain_hostdev "$VF0")
	[ "$status" -ne 124 ] || fail "the hook blocked on the FIFO"
	[ "$(tree_sum)" = "$before" ]
}

@test "hook: a [pf] without vfs is an invalid policy: its VFs' domains are refused, nothing changes" {
	policy <<'EOF'
[pf uplink]
device = enp1s0
vlan = 100
EOF
	before=$(tree_sum)
	run --separate-stderr hook prepare begin < <(domain_hostdev "$VF0")
	assert_failure
	assert_stderr_line "vfwarden: domain 'vm1': VF $VF0 of a managed PF, but the policy is invalid: $POLICY:1: [pf uplink] has no 'vfs' (the number of VFs; vfs = 0 removes them)"
	[ "$(tree_sum)" = "$before" ]
}

# big_domain FILE MIB [TAIL]: a domain of MIB MiB, most of it a <metadata>
# blob of another application, with no hostdev; TAIL (XML) goes right
# before </devices>, after the blob.
big_domain() {
	{
		printf "<domain type='kvm'>\n  <name>big</name>\n  <metadata><app:blob xmlns:app='urn:x'>"
		head -c $(($2 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
		printf "</app:blob></metadata>\n  <devices>\n"
		printf "    <disk type='file' device='disk'><source file='/x.qcow2'/><target dev='vda' bus='virtio'/></disk>\n"
		printf '%s\n' "${3:-}"
		printf "  </devices>\n</domain>\n"
	} >"$1"
}

# max_rss_kib CMD...: the peak resident set of CMD (stdin passed on), in KiB.
max_rss_kib() {
	/usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss" "$@" >/dev/null 2>&1 || true
	tail -n 1 "$BATS_TEST_TMPDIR/rss"
}

@test "hook: a 20 MiB domain without a VF starts: prepare begin exits 0 at once, in bounded memory" {
	big=$BATS_TEST_TMPDIR/big.xml
	big_domain "$big" 20
	before=$(tree_sum)
	for op in "prepare begin" "release end" "stopped end" "reconnect begin"; do
		run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu big $op - <"$big"
		assert_success
		assert_output ''
		assert_stderr_empty
	done
	# Even when the policy is refused: no VF, no question.
	chmod o+w "$POLICY"
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu big prepare begin - <"$big"
	assert_success
	assert_stderr_empty
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
	# Memory: at most the parse limit is kept, not the 20 MiB.
	small=$(max_rss_kib "$VFWARDEN" -c "$POLICY" hook qemu plain prepare begin - < <(domain_plain))
	large=$(max_rss_kib "$VFWARDEN" -c "$POLICY" hook qemu big prepare begin - <"$big")
	echo "# peak RSS: $small KiB for a small domain, $large KiB for 20 MiB" >&3
	[ $((large - small)) -lt $((12 * 1024)) ]
}

@test "hook: migrate begin passes a 20 MiB XML through unchanged" {
	big=$BATS_TEST_TMPDIR/big.xml
	big_domain "$big" 20 "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x01' slot='0x10' function='0x0'/></source></hostdev>"
	timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu big migrate begin - <"$big" >"$BATS_TEST_TMPDIR/out"
	cmp "$big" "$BATS_TEST_TMPDIR/out"
}

@test "hook: over 4 MiB, a hostdev anywhere (split across two reads too) refuses prepare with one line; nothing managed here: it starts" {
	big=$BATS_TEST_TMPDIR/big.xml
	# The word straddles the 4 MiB boundary, then a 64 KiB read boundary.
	for at in $((4 * 1024 * 1024 - 3)) $((4 * 1024 * 1024 + 65536 - 4)); do
		head="<domain type='kvm'><name>big</name><metadata><app:blob xmlns:app='urn:x'>"
		{
			printf '%s' "$head"
			head -c $((at - ${#head})) /dev/zero | tr '\0' 'x'
			printf 'hostdev'
			head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
			printf "</app:blob></metadata><devices/></domain>\n"
		} >"$big"
		[ "$(grep -bo hostdev "$big" | cut -d: -f1)" = "$at" ]
		run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu big prepare begin - <"$big"
		assert_failure 4
		assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
		assert_stderr_line "vfwarden: domain 'big': unreadable XML (over the 4 MiB vfwarden parses): cannot tell whether it uses a VF vfwarden manages, refusing the start"
	done
	# Stopping it never fails.
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu big release end - <"$big"
	assert_success
	# A policy that manages no PF of this host (or none at all): it starts.
	policy <<'EOF'
[pf other]
device = enp9s0
vfs = 2
EOF
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu big prepare begin - <"$big"
	assert_success
	assert_stderr_contains 'unreadable XML'
	run --separate-stderr timeout 10 "$VFWARDEN" -c "$BATS_TEST_TMPDIR/no-such.conf" hook qemu big prepare begin - <"$big"
	assert_success
	[ ! -e "$NL/log" ]
}

@test "hook: a policy writable by others or with a broken section header refuses a VF domain with one line; a GPU or no hostdev starts" {
	fake_pf 0000:05:00.0 - 0 0
	chmod o+w "$POLICY"
	before=$(tree_sum)
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0")
	assert_failure 3
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	assert_stderr_line "vfwarden: domain 'vm1': VF $VF0 may be managed, but the policy is invalid: $POLICY:1: refusing policy file writable by everyone (mode 0646): chmod go-w"
	[ ! -e "$REC/$VF0" ]
	# A GPU (no physfn) and a domain without hostdev pass; release never fails.
	run --separate-stderr hook prepare begin < <(domain_hostdev 0000:05:00.0)
	assert_success
	assert_stderr_empty
	run --separate-stderr hook prepare begin < <(domain_plain)
	assert_success
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]

	policy <<'EOF'
[pf uplink
device = enp1s0
vfs = 2
EOF
	run --separate-stderr hook prepare begin < <(domain_hostdev "$VF1")
	assert_failure 3
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	assert_stderr_line "vfwarden: domain 'vm1': VF $VF1 may be managed, but the policy is invalid: $POLICY:1: malformed section header '[pf uplink'"
	run --separate-stderr hook prepare begin < <(domain_hostdev 0000:05:00.0)
	assert_success
	assert_stderr_empty
	[ ! -e "$NL/log" ]
	[ ! -e "$REC/$VF1" ]
}

@test "hook: no policy at all, or one without [pf] (nothing configured), is not an error: a VF domain starts" {
	before=$(tree_sum)
	for conf in "$BATS_TEST_TMPDIR/no-such.conf" "$BATS_TEST_TMPDIR/empty.conf"; do
		[ "$conf" = "$BATS_TEST_TMPDIR/no-such.conf" ] || policy "$conf" <<<'# nothing yet'
		run --separate-stderr "$VFWARDEN" -c "$conf" hook qemu vm1 prepare begin - < <(domain_iface "$VF0")
		assert_success
		assert_stderr_empty
		# Nor does unreadable XML block it then.
		run --separate-stderr "$VFWARDEN" -c "$conf" hook qemu vm1 prepare begin - <<<'<domain><name>vm1</name><devices><hostdev'
		assert_success
		assert_stderr_contains 'unreadable XML'
	done
	[ "$(tree_sum)" = "$before" ]
	[ ! -e "$NL/log" ]
}

@test "hook: a domain with 70 hostdevs is read whole: its VF among them is prepared" {
	devs=
	for i in $(seq 0 68); do
		devs+="<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x40' slot='0x$(printf %02x $((i / 8)))' function='0x$((i % 8))'/></source></hostdev>"
	done
	devs+="<hostdev mode='subsystem' type='pci'><source><address domain='0x${VF1:0:4}' bus='0x${VF1:5:2}' slot='0x${VF1:8:2}' function='0x${VF1:11:1}'/></source></hostdev>"
	run --separate-stderr hook prepare begin <<<"<domain type='kvm'><name>vm1</name><devices>$devs</devices></domain>"
	assert_success
	assert_stderr_empty
	[ "$(cat "$SYS/bus/pci/devices/$VF1/driver_override")" = vfio-pci ]
	assert_equal "$(cat "$REC/$VF1")" "domain=vm1
vf-driver=vfio-pci"
	grep -q '^vf1 .* vlan=100 ' "$NL/enp1s0"
}

@test "hook: libxml2 is dlopen()ed by the soname -lxml2 links, as is libkmod by -lkmod's; the package depends on their packages" {
	command -v cc >/dev/null && command -v readelf >/dev/null || fail "needs cc and readelf"
	command -v dpkg-shlibdeps >/dev/null || fail "needs dpkg-shlibdeps (make deps)"
	probe=$(dirname "$VFWARDEN")/dlopen-probe
	# What debian/rules gives dpkg-shlibdeps for Depends.
	grep -q 'dh_shlibdeps -- -e$(VFW_B)/dlopen-probe' "$BATS_TEST_DIRNAME/../../debian/rules"
	deps=$(cd "$BATS_TEST_DIRNAME/../.." && dpkg-shlibdeps -O -e"$probe" 2>/dev/null)
	for lib in xml2 kmod; do
		file=$(cc -print-file-name=lib$lib.so)
		so=$(readelf -d "$file" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
		[ -n "$so" ]
		run bash -c "strings '$VFWARDEN' | grep -x 'lib$lib\.so\..*'"
		assert_output "$so"
		pkg=$(dpkg -S "$(readlink -f "$file")" | grep -v -- '-dev' | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "$(dirname "$(readlink -f "$file")")/$so" | head -n 1 | cut -d: -f1)
		echo "# $lib: $so, package $pkg; $deps" >&3
		[[ "$deps" == *"$pkg ("* ]]
	done
}

@test "hook: a build against a libxml2.so.16 (libxml2 2.14) loads libxml2.so.16, and fails closed where it is missing" {
	src=$BATS_TEST_DIRNAME/../..
	[ -f "$src/Makefile" ] || fail "no source tree at $src"
	t=$BATS_TEST_TMPDIR/x16
	mkdir -p "$t/lib"
	# A stand-in with libxml2 2.14's soname and the symbols vfwarden uses.
	cat >"$t/fake.c" <<'EOF'
void *xmlFree;
void xmlReadMemory(void) {}
void xmlFreeDoc(void) {}
void xmlDocGetRootElement(void) {}
void xmlGetProp(void) {}
void xmlNodeGetContent(void) {}
void xmlStrEqual(void) {}
EOF
	cc -shared -fPIC -o "$t/lib/libxml2.so" "$t/fake.c" -Wl,-soname,libxml2.so.16
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make -C "$src" --no-print-directory B="$t/b" LDFLAGS="-L$t/lib" "$t/b/vfwarden-test"
	assert_success
	run bash -c "strings '$t/b/vfwarden-test' | grep -x 'libxml2\.so\..*'"
	assert_output libxml2.so.16
	# The dependency the package gets is read from the same probe.
	run bash -c "readelf -d '$t/b/dlopen-probe' | grep -o 'libxml2\.so\.[0-9]*'"
	assert_output libxml2.so.16
	# No libxml2.so.16 at run time: a VF domain cannot be read, so it is refused.
	run --separate-stderr "$t/b/vfwarden-test" -c "$POLICY" hook qemu vm1 prepare begin - < <(domain_iface "$VF0")
	assert_failure 4
	assert_stderr_line "vfwarden: domain 'vm1': unreadable XML (cannot load libxml2.so.16): cannot tell whether it uses a VF vfwarden manages, refusing the start"
	[ ! -e "$REC/$VF0" ]
}

# vf_json IDX KEY: VF IDX's KEY in status --json ($output), as Python prints it.
vf_json() {
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pfs"][0]["vfs"][int(sys.argv[1])][sys.argv[2]])' "$1" "$2" <<<"$output"
}

# Issue 16 item 1: what prepare gave a running domain (the XML's mac and
# vlan, <metadata> settings) is the VF's wanted state until its release.
@test "hook: a running domain keeps its mac, vlan and metadata across apply, without drift in status; an edit of another key reaches its VF; release restores the policy" {
	fake_vfs $PF 2 vfio-pci
	echo 0 >"$SYS/bus/pci/devices/$PF/sriov_drivers_autoprobe"
	echo 'allow-domain = trust' >>"$POLICY"
	run vfw -c "$POLICY" apply
	assert_success
	run --separate-stderr hook prepare begin < <(domain_iface "$VF0" | with_meta "<v:vf trust='off'/>")
	assert_success
	fake_in_use 30 6000 qemu-system-x86
	assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=0 trust=0 link=0 max=1000 min=0 rss=0"
	grep -qx 'trust=off' "$REC/$VF0"
	rm -f "$NL/log"
	run --separate-stderr vfw -c "$POLICY" apply --dry-run
	assert_success
	assert_output 'dry run: 0 changes planned, nothing written'
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output 'no changes: the host matches the policy'
	assert_stderr_empty
	[ ! -e "$NL/log" ]
	assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=0 trust=0 link=0 max=1000 min=0 rss=0"
	run vfw -c "$POLICY" status --json
	assert_success
	assert_equal "$(vf_json 0 drift)" "[]"
	assert_equal "$(vf_json 0 in_use)" "True"
	assert_equal "$(vf_json 0 reset_pending)" "False"
	run vfw -c "$POLICY" status --prometheus
	assert_line --regexp '^vfwarden_pf_vfs_drift\{.*label="uplink"\} 0$'
	run vfw -c "$POLICY" status
	refute_output --partial '*'
	# A policy edit of a key the domain did not set reaches its VF.
	sed -i 's/^max-tx-rate = 1000$/max-tx-rate = 2000/' "$POLICY"
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_output "uplink vf0: max-tx-rate 1000 -> 2000
uplink vf1: max-tx-rate 1000 -> 2000
2 changes made"
	assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=0 trust=0 link=0 max=2000 min=0 rss=0"
	# At release the policy comes back.
	rm -rf "$ROOT/proc/6000"
	run --separate-stderr hook release end < <(domain_iface "$VF0" | with_meta "<v:vf trust='off'/>")
	assert_success
	assert_equal "$(vf_line 0)" "vf0 mac=$(auto_mac "$(pf_mac enp1s0)" 0) vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=2000 min=0 rss=0"
	[ ! -e "$REC/$VF0" ]
	run vfw -c "$POLICY" status --json
	assert_equal "$(vf_json 0 drift)" "[]"
}

# Issue 16 item 5: a release is never lost.
@test "hook: a release that cannot take the lock leaves the record reset-pending, status shows it, the next apply resets the VF" {
	command -v flock >/dev/null || skip "no flock(1)"
	fake_vfs $PF 2 vfio-pci
	echo 0 >"$SYS/bus/pci/devices/$PF/sriov_drivers_autoprobe"
	run vfw -c "$POLICY" apply
	assert_success
	run hook prepare begin < <(domain_iface "$VF0")
	assert_success
	# Another vfwarden holds the lock past the hook's 30 s.
	flock "$ROOT/run/vfwarden/lock" sleep 32 3>&- &
	while flock -n "$ROOT/run/vfwarden/lock" true; do sleep 0.1; done
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_line "vfwarden: domain 'vm1': VF $VF0 not reset yet (another vfwarden held $ROOT/run/vfwarden/lock for 30s): reset pending, the next apply does it"
	assert_equal "$(vf_line 0)" "vf0 mac=52:54:00:aa:bb:01 vlan=42 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	grep -qx 'reset-pending=yes' "$REC/$VF0"
	[ -e "$ROOT/run/vfwarden/reset-pending" ]
	# status shows it, and the VM's values as drift from the policy now.
	run vfw -c "$POLICY" status --json
	assert_equal "$(vf_json 0 reset_pending)" "True"
	assert_equal "$(vf_json 0 in_use)" "False"
	assert_equal "$(vf_json 0 drift)" "['mac', 'vlan']"
	run vfw -c "$POLICY" status
	assert_line --regexp "$VF0 .*domain vm1 \(reset pending\)"
	run vfw -c "$POLICY" status --prometheus
	assert_line --regexp '^vfwarden_pf_vfs_reset_pending\{.*label="uplink"\} 1$'
	wait
	# The next apply (what vfwarden-reset.path starts) completes it.
	run --separate-stderr vfw -c "$POLICY" apply
	assert_success
	assert_line "uplink vf0: mac 52:54:00:aa:bb:01 -> $(auto_mac "$(pf_mac enp1s0)" 0)"
	assert_equal "$(vf_line 0)" "vf0 mac=$(auto_mac "$(pf_mac enp1s0)" 0) vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	[ ! -e "$REC/$VF0" ]
}

@test "hook: a release while the policy is invalid leaves the record reset-pending; the apply after the fix resets the VF" {
	fake_vfs $PF 2 vfio-pci
	echo 0 >"$SYS/bus/pci/devices/$PF/sriov_drivers_autoprobe"
	run hook prepare begin < <(domain_iface "$VF0")
	assert_success
	cp "$POLICY" "$BATS_TEST_TMPDIR/good"
	echo 'vlan = 5000' >>"$POLICY"
	run --separate-stderr hook release end < <(domain_iface "$VF0")
	assert_success
	assert_stderr_contains "not reset yet (the policy is invalid): reset pending"
	grep -qx 'reset-pending=yes' "$REC/$VF0"
	policy <"$BATS_TEST_TMPDIR/good"
	run vfw -c "$POLICY" apply
	assert_success
	assert_equal "$(vf_line 0)" "vf0 mac=$(auto_mac "$(pf_mac enp1s0)" 0) vlan=100 qos=0 proto=802.1Q spoofchk=0 trust=1 link=0 max=1000 min=0 rss=0"
	[ ! -e "$REC/$VF0" ]
}
