#!/usr/bin/env bats
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
	assert_equal "$(cat "$REC/$VF0")" "domain=vm1
mac=52:54:00:aa:bb:01
vlan=42"
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
	assert_equal "$(cat "$REC/$VF1")" "domain=vm1"
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

@test "hook: a broken policy that names no PF of the domain does not block it" {
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
	run --separate-stderr hook prepare begin < <(domain_iface "$(vf_pci 0000:02:00.0 0)")
	assert_success
	assert_stderr_empty
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

@test "hook: malformed XML is ignored with a warning, no crash, nothing written" {
	before=$(tree_sum)
	for op in "prepare begin" "release end"; do
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
		for op in "prepare begin" "release end"; do
			run --separate-stderr timeout 10 "$VFWARDEN" -c "$POLICY" hook qemu vm1 $op - <<<"$doc"
			assert_success
			assert_output ''
			assert_stderr_line "vfwarden: unreadable XML for 'vm1' (Bad message), ignored"
			refute_stderr_contains "$secret"
		done
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
	assert_success
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
	assert_equal "$(cat "$REC/$VF0")" "domain=vm1"
	# One byte more is too much.
	echo >>"$xml"
	rm -f "$REC/$VF0"
	run --separate-stderr hook prepare begin <"$xml"
	assert_failure 4
	assert_stderr_line 'vfwarden: cannot read the XML on stdin: File too large'
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
	for op in "start begin" "release end" "stopped end" "migrate begin"; do
		run --separate-stderr hook $op <"$big"
		assert_success
		assert_output ''
	done
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
