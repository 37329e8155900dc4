#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 2 --systemd
# vm-env: VFWARDEN_VM_TIMEOUT=1800
# The Ansible role (contrib/ansible) on a real kernel with systemd as PID 1:
# ansible-playbook -c local installs vfwarden (restarting a running libvirtd
# for its new hooks) and converges the guest; a second run changes nothing,
# also with an attribute igb refuses on every run (which fails the run unless
# accepted); check mode previews without writing; a bad policy never reaches
# the host; the metrics timer writes a parseable textfile. The tests run in
# order on one guest and build on each other. Each ansible-playbook run
# takes about a minute under TCG, so each run proves as much as it can (four
# runs). Results are read back from the kernel.

load helpers

CONF=/etc/vfwarden/vfwarden.conf
METRICS=/var/lib/vfwarden-test-metrics
# The role variable that accepts igb's refusal of link-state.
ACCEPT="vfwarden_accepted_refusals: [link-state]"

setup() {
	vm_setup
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd"
	command -v ansible-playbook > /dev/null || skip "ansible-core is not installed"
	VARS=$BATS_FILE_TMPDIR/vars.yml
	export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
		ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
		ANSIBLE_PIPELINING=1
}

# vars VLAN VFS [EXTRA-YAML]: the role variables for this guest. VF 2 of PF0
# asks for link-state disable, which igb refuses on every run (EOPNOTSUPP).
vars() {
	cat > "$VARS" <<EOF
vfwarden_install_method: make
vfwarden_src_dir: "$VFWARDEN_VM_CHECKOUT"
vfwarden_defaults:
  vf_driver: vfio-pci
vfwarden_pfs:
  - label: a
    device: "$PF0"
    vfs: $2
    settings:
      vlan: $1
    vfs_overrides:
      - index: 2
        settings: { vlan: 200, trust: true, link_state: disable }
  - label: b
    device: "$PF1_PCI"
    vfs: 1
${3:-}
EOF
}

# play [ARGS...]: the example playbook on this host, as root (no sudo here).
play() {
	run ansible-playbook -c local -i localhost, -e ansible_become=false \
		"$VFWARDEN_VM_CHECKOUT/contrib/ansible/site.yml" -e @"$VARS" "$@"
	echo "$output" > "$BATS_FILE_TMPDIR/play-$BATS_TEST_NUMBER.log"
}

# One counter of the PLAY RECAP line: recap changed|failed|ok
recap() {
	sed -n "s/^localhost *:.* $1=\([0-9]*\).*/\1/p" <<< "$output" | tail -n 1
}

# When systemd last reloaded its units (0 before the first daemon-reload).
units_loaded_at() { systemctl show -P UnitsLoadTimestampMonotonic; }

host_state() {
	local i
	echo "numvfs $(numvfs "$PF0_PCI") $(numvfs "$PF1_PCI")"
	for ((i = 0; i < $(numvfs "$PF0_PCI"); i++)); do
		echo "vf$i driver $(vf_driver "$PF0_PCI" "$i")"
	done
	vf_attrs "$PF0" vlan trust link_state
	sha256sum "$CONF"
}

@test "a first run installs vfwarden (restarting a running libvirtd for its hooks) and converges VFs, VLANs, units, status fact, metrics; an accepted refusal is shown, not failed" {
	# libvirt's units are masked in this guest (no --libvirt): unmask, start
	systemctl unmask libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
		virtlogd.service virtlogd.socket virtlogd-admin.socket virtlockd.service virtlockd.socket \
		virtlockd-admin.socket > /dev/null
	# Debian's libvirtd exits after 120 s idle (--timeout 120), within the play
	mkdir -p /etc/systemd/system/libvirtd.service.d
	printf '[Service]\nEnvironment=LIBVIRTD_ARGS=\n' > /etc/systemd/system/libvirtd.service.d/no-timeout.conf
	systemctl daemon-reload
	systemctl start libvirtd.service
	assert_equal "$(systemctl is-active libvirtd.service)" active
	pid_before=$(systemctl show -P MainPID libvirtd.service)
	loaded_before=$(units_loaded_at)
	rm -rf "$METRICS"
	# a host without vfwarden: make install runs and installs the hooks
	rm -f /usr/local/sbin/vfwarden /etc/libvirt/hooks/qemu.d/vfwarden /etc/libvirt/hooks/network.d/vfwarden
	vars 100 3 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play
	assert_success
	assert_equal "$(recap failed)" 0
	[ "$(recap changed)" -gt 0 ]
	assert_output --partial "RUNNING HANDLER [vfwarden : Restart libvirtd]"
	[ -L /etc/libvirt/hooks/qemu.d/vfwarden ]
	assert_equal "$(systemctl is-active libvirtd.service)" active
	pid_after=$(systemctl show -P MainPID libvirtd.service)
	[ "$pid_after" != "$pid_before" ] || fail "libvirtd was not restarted (pid $pid_before)"
	# the metrics units were written: systemd was reloaded
	[ "$(units_loaded_at)" -gt "$loaded_before" ]
	assert_equal "$(numvfs "$PF0_PCI")" 3
	assert_equal "$(numvfs "$PF1_PCI")" 1
	for i in 0 1; do
		assert_equal "$(vf_attr "$PF0" $i vlan trust)" "100 false"
		assert_equal "$(vf_driver "$PF0_PCI" $i)" vfio-pci
	done
	assert_equal "$(vf_attr "$PF0" 2 vlan trust link_state)" "200 true auto"
	# the refusal, accepted: shown by name, the run not failed
	assert_output --partial "a vf2 link-state: EOPNOTSUPP not supported by igb"
	assert_equal "$(stat -c '%U %a' "$CONF")" "root 644"
	assert_equal "$(systemctl is-enabled vfwarden.service)" enabled
	assert_equal "$(systemctl is-enabled vfwarden.path)" enabled
	assert_equal "$(systemctl is-active vfwarden.path)" active
	# vfwarden_status (from status --json), shown by site.yml's post_task
	assert_output --partial "$PF0_PCI: 3"
	run "$VFWARDEN" check
	assert_success
	# vfwarden_metrics_dir: the handler ran the timer's service, whose metrics parse
	[ -s "$METRICS/vfwarden.prom" ]
	assert_equal "$(systemctl is-active vfwarden-metrics.timer)" active
	assert_equal "$(systemctl is-enabled vfwarden-metrics.timer)" enabled
	run /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert fams and all(n.startswith("vfwarden_") for n in fams), list(fams)
print(len(fams))' "$METRICS/vfwarden.prom"
	assert_success
	[ "$output" -gt 0 ]
}

@test "a second run reports changed=0 with igb's refusal again, which fails it once not accepted; nothing installed, restarted or reloaded" {
	bin_before=$(stat -c %Y /usr/local/sbin/vfwarden)
	loaded_before=$(units_loaded_at)
	pid_before=$(systemctl show -P MainPID libvirtd.service)
	before=$(host_state)
	# the same policy, without vfwarden_accepted_refusals
	vars 100 3 "vfwarden_metrics_dir: $METRICS"
	play
	assert_failure
	assert_equal "$(recap changed)" 0
	assert_equal "$(recap failed)" 1
	# every other task ran; the last check failed, on the refusal alone, named
	assert_output --partial "TASK [vfwarden : Check that the policy holds]"
	assert_output --regexp 'could not apply all of the policy: a vf2 link-state: EOPNOTSUPP not supported by igb; *"'
	refute_output --partial "Restart libvirtd"
	assert_equal "$(systemctl show -P MainPID libvirtd.service)" "$pid_before"
	# the installed program is newer than the build: make install was skipped
	assert_equal "$(stat -c %Y /usr/local/sbin/vfwarden)" "$bin_before"
	# nothing written, so no daemon-reload either
	assert_equal "$(units_loaded_at)" "$loaded_before"
	assert_equal "$(host_state)" "$before"
	rm -f "$METRICS/vfwarden.prom"
	systemctl start vfwarden-metrics.service
	[ -s "$METRICS/vfwarden.prom" ]
}

@test "check mode previews a changed policy and changes nothing" {
	before=$(host_state)
	vars 300 4 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play --check -v
	assert_success
	[ "$(recap changed)" -gt 0 ]
	# the dry run of the new policy (apply --dry-run --json), one line per change with -v
	assert_output --partial '"a: vfs 3 -> 4; '
	assert_output --partial 'a vf0: vlan - -> 300 qos 0 802.1Q; '
	assert_equal "$(host_state)" "$before"
	# the private preview file is gone
	run sh -c 'ls -d /tmp/ansible.*vfwarden 2>/dev/null'
	assert_output ""
}

@test "a bad policy variable fails at the validate step and changes nothing" {
	before=$(host_state)
	vars 4096 3 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play
	assert_failure
	assert_output --partial "TASK [vfwarden : Write the vfwarden policy]"
	assert_output --partial "failed to validate"
	assert_equal "$(recap failed)" 1
	assert_equal "$(host_state)" "$before"
	# nor does vfwarden.path see an edit: nothing runs afterwards
	sleep 3
	assert_equal "$(host_state)" "$before"
}
