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
# order on one guest and build on each other. Results are read back from
# the kernel.
#
# An ansible-playbook run takes a minute or more under TCG: its start-up,
# and a Python start per module a task runs. So each run proves as much as
# it can, and there are three: the first, the check-mode preview, and one
# run for two inventory hosts that are both this guest (their variables in
# host_vars/, one host after the other: forks 1): the second run, and the
# bad policy. (Runs at the same time were tried: slower under TCG.)
# VFWARDEN_TEST_ANSIBLE_PROFILE=1 (tests/vm/run passes it in) puts the
# seconds of each task of each run into the TAP, as comments.

load helpers

CONF=/etc/vfwarden/vfwarden.conf
METRICS=/var/lib/vfwarden-test-metrics
# The role variable that accepts igb's refusal of link-state.
ACCEPT="vfwarden_accepted_refusals: [link-state]"

setup() {
	vm_setup
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd"
	command -v ansible-playbook > /dev/null || skip "ansible-core is not installed"
	D=$BATS_FILE_TMPDIR
	_step=${EPOCHREALTIME/,/.}
	export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
		ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
		ANSIBLE_PIPELINING=1
}

# vars NAME VLAN VFS [EXTRA-YAML]: role variables, in $D/host_vars/NAME.yml
# (those of inventory host NAME, or of run NAME with -e @). VF 2 of PF0 asks
# for link-state disable, which igb refuses on every run (EOPNOTSUPP).
vars() {
	mkdir -p "$D/host_vars"
	cat > "$D/host_vars/$1.yml" <<EOF
vfwarden_install_method: make
vfwarden_src_dir: "$VFWARDEN_VM_CHECKOUT"
vfwarden_defaults:
  vf_driver: vfio-pci
vfwarden_pfs:
  - label: a
    device: "$PF0"
    vfs: $3
    settings:
      vlan: $2
    vfs_overrides:
      - index: 2
        settings: { vlan: 200, trust: true, link_state: disable }
  - label: b
    device: "$PF1_PCI"
    vfs: 1
${4:-}
EOF
}

# play RUN ANSIBLE-PLAYBOOK-ARGS...: the example playbook on this host, as
# root (no sudo here); $status and $output as `run` sets them, the output
# also in $D/RUN.out and $D/RUN.status, Ansible's log (with times) in
# $D/RUN.log.
play() {
	local r=$1 t0=${EPOCHREALTIME/,/.}
	shift
	run env ANSIBLE_LOG_PATH="$D/$r.log" ansible-playbook -e ansible_become=false \
		"$VFWARDEN_VM_CHECKOUT/contrib/ansible/site.yml" "$@"
	echo "$output" > "$D/$r.out"
	echo "$status" > "$D/$r.status"
	profile "$r" "$t0"
}

# play_local RUN [ARGS...]: as the README shows it, for the host localhost:
# -c local -i localhost, -e @vars.yml (those vars RUN wrote).
play_local() {
	local r=$1
	shift
	play "$r" -c local -i localhost, -e @"$D/host_vars/$r.yml" "$@"
}

# play_hosts RUN HOST...: one run for the inventory hosts HOST..., each of
# them this guest, one after the other (forks 1), with their host_vars.
play_hosts() {
	local r=$1 h
	shift
	: > "$D/$r.hosts"
	for h; do
		echo "$h ansible_connection=local" >> "$D/$r.hosts"
	done
	ANSIBLE_FORKS=1 play "$r" -i "$D/$r.hosts"
}

# profile RUN T0: with VFWARDEN_TEST_ANSIBLE_PROFILE=1, the seconds from
# each task of run RUN to the next (from the times in its log; T0 is when
# the command started) into the TAP.
profile() {
	[ "${VFWARDEN_TEST_ANSIBLE_PROFILE:-0}" = 1 ] && [ -f "$D/$1.log" ] || return 0
	awk -v t0="$2" -v t1="${EPOCHREALTIME/,/.}" -v run="$1" '
		function sec(t, a) { split(t, a, /[:,]/); return a[1] * 3600 + a[2] * 60 + a[3] + a[4] / 1000 }
		BEGIN { day = int(t0 / 86400) * 86400; prev = t0; what = "start-up" }
		/^[0-9-]+ [0-9:,]+ p=[0-9]+ .*\| (PLAY|TASK|RUNNING HANDLER)/ {
			now = day + sec($2)
			printf "# %s %6.1f s  %s\n", run, now - prev, what
			prev = now
			what = substr($0, index($0, "| ") + 2)
			sub(/ \**$/, "", what)
		}
		END {
			printf "# %s %6.1f s  %s, exit\n", run, t1 - prev, what
			printf "# %s %6.1f s  in all\n", run, t1 - t0
		}' "$D/$1.log" >&3
}

# step WHAT: with VFWARDEN_TEST_ANSIBLE_PROFILE=1, the seconds since the
# last step (or the test's start) into the TAP.
step() {
	[ "${VFWARDEN_TEST_ANSIBLE_PROFILE:-0}" = 1 ] || return 0
	local now=${EPOCHREALTIME/,/.}
	awk -v a="$_step" -v b="$now" -v w="$1" -v n="$BATS_TEST_NUMBER" \
		'BEGIN { printf "# test %s %6.1f s  %s\n", n, b - a, w }' >&3
	_step=$now
}

# One counter of HOST's PLAY RECAP line: recap HOST changed|failed|ok
recap() {
	sed -n "s/^$1 *:.* $2=\([0-9]*\).*/\1/p" <<< "$output" | tail -n 1
}

# result HOST 'TASK [...]': HOST's result line under that banner in $output
# (ok: [HOST], changed: [HOST], fatal: [HOST]: FAILED! ...), empty if none.
result() {
	awk -v h="[$1]" -v t="$2" '
		/^(TASK|RUNNING HANDLER) \[/ { in_t = index($0, t) == 1; next }
		in_t && index($0, h) { print; exit }' <<< "$output"
}

# When systemd last reloaded its units (0 before the first daemon-reload).
units_loaded_at() { systemctl show -P UnitsLoadTimestampMonotonic; }

# When vfwarden.path's unit and vfwarden.service last started (0: never).
edit_runs() {
	systemctl show -P ExecMainStartTimestampMonotonic vfwarden-edited.service vfwarden.service
}

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
	# (one daemon-reload: each costs seconds under TCG)
	systemctl unmask --no-reload libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
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
	vars first 100 3 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	step "libvirtd"
	play_local first
	step "play"
	assert_success
	assert_equal "$(recap localhost failed)" 0
	[ "$(recap localhost changed)" -gt 0 ]
	# the hooks were new: the handler restarted the running libvirtd
	assert_equal "$(result localhost 'RUNNING HANDLER [vfwarden : Restart libvirtd]')" "changed: [localhost]"
	[ -L /etc/libvirt/hooks/qemu.d/vfwarden ]
	assert_equal "$(systemctl is-active libvirtd.service)" active
	pid_after=$(systemctl show -P MainPID libvirtd.service)
	[ "$pid_after" != "$pid_before" ] || fail "libvirtd was not restarted (pid $pid_before)"
	# the metrics units were written: systemd was reloaded
	[ "$(units_loaded_at)" -gt "$loaded_before" ]
	assert_equal "$(numvfs "$PF0_PCI")" 3
	assert_equal "$(numvfs "$PF1_PCI")" 1
	for i in 0 1 2; do
		assert_equal "$(vf_driver "$PF0_PCI" $i)" vfio-pci
	done
	mapfile -t attrs < <(vf_attrs "$PF0" vlan trust link_state)
	assert_equal "${#attrs[@]}" 3
	assert_equal "${attrs[0]% *}" "0 100 false"
	assert_equal "${attrs[1]% *}" "1 100 false"
	assert_equal "${attrs[2]}" "2 200 true auto"
	# the refusal, accepted: shown by name, the run not failed
	assert_output --partial "a vf2 link-state: EOPNOTSUPP not supported by igb"
	assert_equal "$(stat -c '%U %a' "$CONF")" "root 644"
	assert_equal "$(systemctl is-enabled vfwarden.service)" enabled
	assert_equal "$(systemctl is-enabled vfwarden.path)" enabled
	assert_equal "$(systemctl is-active vfwarden.path)" active
	# vfwarden_status (from status --json), shown by site.yml's post_task
	assert_output --partial "$PF0_PCI: 3"
	# vfwarden_metrics_dir: the role ran the timer's service after the apply
	# (not only the timer, 10 s after its start), and its metrics parse
	assert_equal "$(result localhost 'TASK [vfwarden : Write the metrics now]')" "changed: [localhost]"
	run "$VFWARDEN" check
	assert_success
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
	step "checks"
}

@test "a second run reports changed=0 with igb's refusal again, which fails it once not accepted; nothing installed, restarted or reloaded" {
	bin_before=$(stat -c %Y /usr/local/sbin/vfwarden)
	loaded_before=$(units_loaded_at)
	pid_before=$(systemctl show -P MainPID libvirtd.service)
	# what this run and the check-mode one (the last test) must leave as it is
	host_state > "$D/converged.state"
	edit_runs > "$D/converged.runs"
	# host "second": the same policy, without vfwarden_accepted_refusals;
	# host "bad" in the same run: a policy vfwarden refuses (the next test)
	vars second 100 3 "vfwarden_metrics_dir: $METRICS"
	vars bad 4096 3 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	# the admin gave the metrics directory an owner and mode of their own
	chown nobody:nogroup "$METRICS"
	chmod 0750 "$METRICS"
	step "state"
	play_hosts again second bad
	step "play"
	assert_failure
	assert_equal "$(recap second changed)" 0
	assert_equal "$(stat -c '%U:%G %a' "$METRICS")" "nobody:nogroup 750"
	assert_equal "$(recap second failed)" 1
	# every other task ran; the last check failed, on the refusal alone, named
	assert_equal "$(result second 'TASK [vfwarden : Apply the policy')" "ok: [second]"
	run result second 'TASK [vfwarden : Check that the policy holds]'
	assert_output --regexp '^fatal: \[second\]: FAILED! .*could not apply all of the policy: a vf2 link-state: EOPNOTSUPP not supported by igb; *"'
	output=$(< "$D/again.out")
	refute_output --partial "Restart libvirtd"
	assert_equal "$(systemctl show -P MainPID libvirtd.service)" "$pid_before"
	# the installed program is newer than the build: make install was skipped
	assert_equal "$(stat -c %Y /usr/local/sbin/vfwarden)" "$bin_before"
	# nothing written, so no daemon-reload either
	assert_equal "$(units_loaded_at)" "$loaded_before"
	assert_equal "$(host_state)" "$(< "$D/converged.state")"
	rm -f "$METRICS/vfwarden.prom"
	systemctl start vfwarden-metrics.service
	[ -s "$METRICS/vfwarden.prom" ]
	step "checks"
}

@test "a bad policy variable fails at the validate step and changes nothing" {
	# host "bad" of the previous test's run
	output=$(< "$D/again.out")
	status=$(< "$D/again.status")
	assert_failure
	run result bad 'TASK [vfwarden : Write the vfwarden policy]'
	assert_output --regexp '^fatal: \[bad\]: FAILED! .*failed to validate'
	output=$(< "$D/again.out")
	assert_equal "$(recap bad failed)" 1
	assert_equal "$(recap bad changed)" 0
	assert_equal "$(host_state)" "$(< "$D/converged.state")"
	# nor did vfwarden.path see an edit: nothing ran for one since
	assert_equal "$(edit_runs)" "$(< "$D/converged.runs")"
}

@test "check mode previews a changed policy and changes nothing" {
	vars check 300 4 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play_local check --check -v
	step "play"
	assert_success
	[ "$(recap localhost changed)" -gt 0 ]
	# the dry run of the new policy (apply --dry-run --json), one line per change with -v
	assert_output --partial '"a: vfs 3 -> 4; '
	assert_output --partial 'a vf0: vlan - -> 300 qos 0 802.1Q; '
	assert_equal "$(host_state)" "$(< "$D/converged.state")"
	assert_equal "$(edit_runs)" "$(< "$D/converged.runs")"
	# the private preview directory is gone
	run sh -c 'ls -d "${TMPDIR:-/tmp}"/vfwarden-preview.* /tmp/vfwarden-preview.* /tmp/ansible.*vfwarden 2>/dev/null'
	assert_output ""
	step "checks"
}
