#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vm-options: --nics 1 --systemd
# vm-setup: tests/vm/deb.setup
# The Debian package, built on the host by 'make deb' (build/deb/), installed
# with dpkg in the guest under systemd: its files, its units enabled and the
# path unit started by postinst, the units applying a policy (the boot unit
# started by hand, as the guest cannot reboot; the per-PF template started
# by hand and by the udev rule), then dpkg -r and --purge leaving nothing.
# The tests run in order and build on each other.

load helpers

DEB_DIR=$BATS_TEST_DIRNAME/../../build/deb

setup() {
	vm_setup
	[ "${VFWARDEN_VM_SYSTEMD:-0}" = 1 ] || skip "needs tests/vm/run --systemd"
	local f
	DEB=
	for f in "$DEB_DIR"/vfwarden_[0-9]*.deb; do
		[ -f "$f" ] && DEB=$f
	done
	[ -n "$DEB" ] || skip "no package in build/deb: run 'make deb' on the host first"
}

numvfs_is() { [ "$(numvfs "$1")" = "$2" ]; }

FILES="/usr/sbin/vfwarden
/lib/systemd/system/vfwarden.service
/lib/systemd/system/vfwarden@.service
/lib/systemd/system/vfwarden.path
/lib/udev/rules.d/70-vfwarden.rules
/usr/share/man/man8/vfwarden.8.gz
/usr/share/man/man5/vfwarden.conf.5.gz
/usr/share/bash-completion/completions/vfwarden
/usr/share/doc/vfwarden/README.md"

@test "the guest starts without vfwarden; dpkg -i installs the package" {
	[ ! -e /usr/local/sbin/vfwarden ]
	[ ! -e /etc/vfwarden ]
	run dpkg-query -W -f='${Status}' vfwarden
	refute_output "install ok installed"
	run dpkg -i "$DEB"
	assert_success
	run dpkg-query -W -f='${Status} ${Version}' vfwarden
	assert_output "install ok installed 0.1.0-1"
}

@test "the package's files are in place" {
	local f
	for f in $FILES; do
		[ -f "$f" ] || fail "missing: $f"
	done
	# one dpkg -S for all: each call reads the whole database (seconds under TCG)
	# shellcheck disable=SC2086
	run dpkg -S $FILES
	assert_success
	for f in $FILES; do
		assert_line "vfwarden: $f"
	done
	[ -x /usr/sbin/vfwarden ]
	run /usr/sbin/vfwarden --version
	assert_output "vfwarden 0.1.0"
	for h in qemu network; do
		assert_equal "$(readlink /etc/libvirt/hooks/$h.d/vfwarden)" /usr/sbin/vfwarden
	done
	[ -d /etc/vfwarden/conf.d ]
	cmp /etc/vfwarden/vfwarden.conf /usr/share/doc/vfwarden/vfwarden.conf.example
	run dpkg-query -W -f='${Conffiles}' vfwarden
	assert_output --partial "/etc/vfwarden/vfwarden.conf "
	# the example policy is valid and manages nothing
	run /usr/sbin/vfwarden check
	assert_success
	# the units run the packaged binary
	run systemctl show -P ExecStart vfwarden.service
	assert_output --partial "path=/usr/sbin/vfwarden "
	run systemctl show -P ExecStart vfwarden@0000:01:00.0.service
	assert_output --partial "argv[]=/usr/sbin/vfwarden apply 0000:01:00.0 "
	run man -w vfwarden
	assert_output /usr/share/man/man8/vfwarden.8.gz
}

@test "postinst: both units enabled, the path unit started, apply not run" {
	run systemctl is-enabled vfwarden.service vfwarden.path
	assert_success
	assert_output "$(printf 'enabled\nenabled')"
	[ -L /etc/systemd/system/multi-user.target.wants/vfwarden.service ]
	[ -L /etc/systemd/system/paths.target.wants/vfwarden.path ]
	run systemctl is-active vfwarden.path
	assert_output active
	# the template is started by udev, never enabled
	run find /etc/systemd/system -name 'vfwarden@*'
	assert_output ""
	# installing does not run 'vfwarden apply'
	assert_equal "$(systemctl show -P ExecMainStartTimestampMonotonic vfwarden.service)" 0
	assert_equal "$(numvfs "$PF0_PCI")" 0
}

@test "a policy edit is applied through the started vfwarden.path" {
	cat > /etc/vfwarden/vfwarden.conf <<-CONF
	[pf a]
	device = $PF0
	vfs = 2
	CONF
	wait_for 90 numvfs_is "$PF0_PCI" 2
	wait_for 30 sh -c "readlink /sys/bus/pci/devices/$PF0_PCI/virtfn1/driver | grep -q vfio-pci"
	assert_equal "$(vf_driver "$PF0_PCI" 0)" vfio-pci
}

@test "vfwarden.service (the boot unit) converges the PF" {
	echo 0 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	run systemctl start vfwarden.service
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 2
	assert_equal "$(vf_driver "$PF0_PCI" 0)" vfio-pci
	assert_equal "$(vf_driver "$PF0_PCI" 1)" vfio-pci
	assert_equal "$(systemctl show -P Result vfwarden.service)" success
	assert_equal "$(systemctl show -P ExecMainStatus vfwarden.service)" 0
}

@test "vfwarden@PCI.service, by hand and from the packaged udev rule" {
	echo 0 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	run systemctl start "vfwarden@$PF0_PCI.service"
	assert_success
	assert_equal "$(numvfs "$PF0_PCI")" 2
	assert_equal "$(systemctl show -P Result "vfwarden@$PF0_PCI.service")" success
	# the rule in /lib/udev/rules.d asks for the instance on a PF bind
	echo 0 > "/sys/bus/pci/devices/$PF0_PCI/sriov_numvfs"
	udevadm control --reload
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/unbind
	echo "$PF0_PCI" > /sys/bus/pci/drivers/igb/bind
	wait_for 90 numvfs_is "$PF0_PCI" 2
	wait_for 30 sh -c "readlink /sys/bus/pci/devices/$PF0_PCI/virtfn1/driver | grep -q vfio-pci"
	run systemctl list-units --failed --no-legend 'vfwarden*'
	assert_output ""
}

@test "dpkg -r removes the package and keeps the edited policy" {
	run dpkg -r vfwarden
	assert_success
	local f
	for f in $FILES /etc/libvirt/hooks/qemu.d/vfwarden /etc/libvirt/hooks/network.d/vfwarden; do
		[ ! -e "$f" ] && [ ! -L "$f" ] || fail "left after dpkg -r: $f"
	done
	run systemctl is-active vfwarden.path
	refute_output active
	run dpkg-query -W -f='${Status}' vfwarden
	assert_output "deinstall ok config-files"
	[ -f /etc/vfwarden/vfwarden.conf ]
}

@test "dpkg --purge removes the policy and the enablement" {
	run dpkg --purge vfwarden
	assert_success
	[ ! -e /etc/vfwarden ]
	run find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled -name 'vfwarden[.@]*'
	assert_output ""
	run dpkg-query -W -f='${Status}' vfwarden
	refute_output --partial "config-files"
	# the VFs stay as they were: removing the package reconfigures nothing
	assert_equal "$(numvfs "$PF0_PCI")" 2
}
