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
# An ansible-playbook run takes a minute or more under TCG, most of it one
# Python start per module a task runs, so each run proves as much as it can
# (four runs), and the three runs that must change nothing run at once on
# the guest's two CPUs: the second test starts the check-mode and the
# bad-policy runs in the background before its own, the last two tests wait
# for theirs. Each compares the host with the state the first run left.
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

# vars RUN VLAN VFS [EXTRA-YAML]: the role variables of run RUN. VF 2 of PF0
# asks for link-state disable, which igb refuses on every run (EOPNOTSUPP).
vars() {
	cat > "$D/$1.yml" <<EOF
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

# play_cmd RUN [ARGS...]: the example playbook on this host, as root (no
# sudo here), with the variables of run RUN; Ansible's log (with times) in
# $D/RUN.log.
play_cmd() {
	local r=$1
	shift
	ANSIBLE_LOG_PATH=$D/$r.log ansible-playbook -c local -i localhost, -e ansible_become=false \
		"$VFWARDEN_VM_CHECKOUT/contrib/ansible/site.yml" -e @"$D/$r.yml" "$@"
}

# play RUN [ARGS...]: run it now, setting $status and $output as `run` does.
play() {
	local t0=${EPOCHREALTIME/,/.}
	run play_cmd "$@"
	echo "$output" > "$D/$1.out"
	profile "$1" "$t0"
}

# play_start RUN [ARGS...]: run it in the background (without bats' fd 3,
# which bats waits on; errexit is on, hence the ||); play_wait RUN waits for
# its end and sets $status and $output.
play_start() {
	local r=$1
	echo "${EPOCHREALTIME/,/.}" > "$D/$r.t0"
	(
		rc=0
		play_cmd "$@" > "$D/$r.out" 2>&1 || rc=$?
		echo "$rc" > "$D/$r.rc.tmp" && mv "$D/$r.rc.tmp" "$D/$r.rc"
	) > /dev/null 2>&1 3>&- &
}

play_wait() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -s "$D/$1.rc" ] && break
		sleep 1
	done
	[ -s "$D/$1.rc" ] || fail "the $1 run did not end"
	status=$(< "$D/$1.rc")
	output=$(< "$D/$1.out")
	profile "$1" "$(< "$D/$1.t0")"
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
	awk -v a="$_step" -v b="$now" -v w="$1" -v n="$BATS_TEST_NUMBER" 'BEGIN { printf "# test %s %6.1f s  %s\n", n, b - a, w }' >&3
	_step=$now
}

# One counter of the PLAY RECAP line: recap changed|failed|ok
recap() {
	sed -n "s/^localhost *:.* $1=\([0-9]*\).*/\1/p" <<< "$output" | tail -n 1
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
	systemctl unmask libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
		virtlogd.service virtlogd.socket virtlogd-admin.socket virtlockd.service virtlockd.socket \
		virtlockd-admin.socket > /dev/null
	# Debian's libvirtd exits after 120 s idle (--timeout 120), within the play
	mkdir -p /etc/systemd/system/libvirtd.service.d
	printf '[Service]\nEnvironment=LIBVIRTD_ARGS=\n' > /etc/systemd/system/libvirtd.service.d/no-timeout.conf
	systemctl daemon-reload
	step "unmask libvirt, daemon-reload"
	systemctl start libvirtd.service
	step "start libvirtd"
	assert_equal "$(systemctl is-active libvirtd.service)" active
	pid_before=$(systemctl show -P MainPID libvirtd.service)
	loaded_before=$(units_loaded_at)
	rm -rf "$METRICS"
	# a host without vfwarden: make install runs and installs the hooks
	rm -f /usr/local/sbin/vfwarden /etc/libvirt/hooks/qemu.d/vfwarden /etc/libvirt/hooks/network.d/vfwarden
	vars first 100 3 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play first
	step "play"
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
	assert_equal "$(grep -A1 -F 'TASK [vfwarden : Write the metrics now]' <<< "$output" | tail -n 1)" "changed: [localhost]"
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
	# what this run and the next two must leave as it is
	host_state > "$D/converged.state"
	edit_runs > "$D/converged.runs"
	# the next two tests' runs, meanwhile: a preview of a changed policy in
	# check mode, and a policy vfwarden refuses (VLAN 4096)
	vars check 300 4 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play_start check --check -v
	vars bad 4096 3 "vfwarden_metrics_dir: $METRICS
$ACCEPT"
	play_start bad
	# the same policy, without vfwarden_accepted_refusals
	vars second 100 3 "vfwarden_metrics_dir: $METRICS"
	play second
	step "play"
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
	assert_equal "$(host_state)" "$(< "$D/converged.state")"
	rm -f "$METRICS/vfwarden.prom"
	systemctl start vfwarden-metrics.service
	[ -s "$METRICS/vfwarden.prom" ]
	step "checks"
}

@test "check mode previews a changed policy and changes nothing" {
	play_wait check
	assert_success
	[ "$(recap changed)" -gt 0 ]
	# the dry run of the new policy (apply --dry-run --json), one line per change with -v
	assert_output --partial '"a: vfs 3 -> 4; '
	assert_output --partial 'a vf0: vlan - -> 300 qos 0 802.1Q; '
	assert_equal "$(host_state)" "$(< "$D/converged.state")"
	# the private preview directory is gone
	run sh -c 'ls -d "${TMPDIR:-/tmp}"/vfwarden-preview.* /tmp/vfwarden-preview.* /tmp/ansible.*vfwarden 2>/dev/null'
	assert_output ""
}

@test "a bad policy variable fails at the validate step and changes nothing" {
	play_wait bad
	assert_failure
	assert_output --partial "TASK [vfwarden : Write the vfwarden policy]"
	assert_output --partial "failed to validate"
	assert_equal "$(recap failed)" 1
	assert_equal "$(host_state)" "$(< "$D/converged.state")"
	# nor did vfwarden.path see an edit: nothing ran for one (all runs are over)
	assert_equal "$(edit_runs)" "$(< "$D/converged.runs")"
}
