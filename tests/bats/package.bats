#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The license, the packages and the Ansible role as a packager or an admin
# meets them: every code file says MIT like LICENSE, debian/copyright and
# the RPM spec; the .deb is lintian-clean; 'make rpm' builds a package with
# the .deb's files; the autopkgtest runs the bats tier against the
# packaged binary; the role passes ansible-lint's production profile and
# Ansible validates its variables itself. Needs git, dpkg-dev, debhelper,
# lintian, rpm and ansible-lint (scripts/deps.sh); the packages are built
# in a temporary directory, once for the file.

load helpers

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROLE=$TOP/contrib/ansible/roles/vfwarden
PKG_B=$BATS_FILE_TMPDIR/b

setup() {
	vfw_setup
}

need() {
	command -v "$1" > /dev/null || fail "$1 is not installed (scripts/deps.sh installs it)"
}

# The .deb and .rpm, built once for the file, into $PKG_B (not build/).
built_deb() {
	if ! ls "$PKG_B"/deb/vfwarden_*.deb > /dev/null 2>&1; then
		make -C "$TOP" -s deb B="$PKG_B" > "$BATS_FILE_TMPDIR/deb.log" 2>&1 ||
			fail "make deb failed: $(tail -n 20 "$BATS_FILE_TMPDIR/deb.log")"
	fi
	DEB=$(ls "$PKG_B"/deb/vfwarden_*.deb)
}
built_rpm() {
	if ! ls "$PKG_B"/rpm/RPMS/*/vfwarden-*.rpm > /dev/null 2>&1; then
		make -C "$TOP" -s rpm B="$PKG_B" > "$BATS_FILE_TMPDIR/rpm.log" 2>&1 ||
			fail "make rpm failed: $(tail -n 20 "$BATS_FILE_TMPDIR/rpm.log")"
	fi
	RPM=$(ls "$PKG_B"/rpm/RPMS/*/vfwarden-*.rpm)
}

# A file that carries no code, or cannot say MIT, and why:
#   *.md, debian/README.Debian       documents (the man pages do say it)
#   LICENSE                          the license itself
#   debian/{changelog,control,copyright,source/format}  Debian metadata formats
#   conf/vfwarden.conf               the example policy, copied to users' /etc
#   tests/fuzz/corpus-*/             fuzzer inputs: data, a comment changes them
#   tests/vm/lib/netdevsim-sriov.patch  a Linux kernel patch: GPL-2.0-only,
#                                    declared in debian/copyright
#   .gitignore                       not code
spdx_exempt() {
	case "$1" in
	*.md | debian/README.Debian | LICENSE | .gitignore | conf/vfwarden.conf | tests/fuzz/corpus-*/* | \
		tests/vm/lib/netdevsim-sriov.patch | debian/changelog | debian/control | \
		debian/copyright | debian/source/format) return 0 ;;
	esac
	return 1
}

@test "package: every tracked code file says SPDX-License-Identifier: MIT" {
	need git
	git -C "$TOP" rev-parse --git-dir > /dev/null 2>&1 || skip "not a git checkout"
	local f missing=() n=0
	while IFS= read -r f; do
		spdx_exempt "$f" && continue
		[ -f "$TOP/$f" ] || continue
		n=$((n + 1))
		grep -q 'SPDX-License-Identifier: MIT' "$TOP/$f" || missing+=("$f")
	done < <(git -C "$TOP" ls-files)
	[ "${#missing[@]}" = 0 ] || fail "no SPDX-License-Identifier: MIT line in: ${missing[*]}"
	[ "$n" -gt 100 ] || fail "only $n files checked"
}

@test "package: LICENSE is MIT, and debian/copyright, the RPM spec and the role say the same" {
	grep -qx 'MIT License' "$TOP/LICENSE"
	grep -qx 'Copyright (c) 2026 vfwarden authors' "$TOP/LICENSE"
	# DEP-5: the machine-readable format, Files: * under MIT, with its text
	grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$TOP/debian/copyright"
	run awk '/^Files: \*$/{f=1; next} f && /^License:/{print; exit}' "$TOP/debian/copyright"
	assert_output "License: MIT"
	grep -qx 'Copyright: 2026 vfwarden authors' "$TOP/debian/copyright"
	# the same words: LICENSE from "Permission" on, and the License: MIT paragraph
	lic=$(sed -n '/^Permission/,$p' "$TOP/LICENSE" | tr -s ' \n' ' ')
	cop=$(awk '/^License: MIT$/{f=1; b=""; next} f && /^ /{b=b $0 "\n"; next}
		f{f=0; if (b != "") t=b} END{if (f && b != "") t=b; printf "%s", t}' "$TOP/debian/copyright" |
		sed -e 's/^ //' -e '/^\.$/d' | tr -s ' \n' ' ')
	assert_equal "$cop" "$lic"
	grep -qE '^License: +MIT$' "$TOP/packaging/rpm/vfwarden.spec"
	grep -qx '  license: MIT' "$ROLE/meta/main.yml"
}

@test "package: make deb is lintian-clean: no E: or W:, each override says why" {
	need lintian
	built_deb
	run lintian --pedantic "$PKG_B"/deb/vfwarden_*.changes
	assert_success
	refute_line --regexp '^[EW]: '
	# every override has a comment above it
	run awk '/^#/{c=1; next} /^[^#]/{if (!c) print "no reason: " $0} /^$/{c=0}' \
		"$TOP/debian/vfwarden.lintian-overrides"
	assert_output ""
	# the unit and udev paths are those pkg-config gives
	run dpkg-deb -c "$DEB"
	assert_output --partial ".$(pkg-config --variable=systemdsystemunitdir systemd)/vfwarden.service"
	assert_output --partial ".$(pkg-config --variable=udevdir udev)/rules.d/70-vfwarden.rules"
}

@test "package: Depends names the package of every library the binary links or dlopen()s (libvirt's: Suggests)" {
	built_deb
	dpkg-deb -x "$DEB" "$BATS_TEST_TMPDIR/inst"
	local bin=$BATS_TEST_TMPDIR/inst/usr/sbin/vfwarden so lib pkg depends
	depends=$(dpkg-deb -f "$DEB" Depends)
	# libvirt's client is only for hosts where libvirtd runs (README: What
	# vfwarden asks libvirt): Suggests, never Depends.
	[[ "$(dpkg-deb -f "$DEB" Suggests)" == *libvirt0* ]]
	[[ "$depends" != *libvirt* ]]
	# NEEDED entries, and the sonames dl.c opens (libxml2, libkmod, libudev;
	# libvirt's, checked above)
	for so in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') \
		$(strings "$bin" | grep -E '^lib[a-z0-9_+-]+\.so\.[0-9]+$' | grep -v '^libvirt\.' | sort -u); do
		lib=$(ldconfig -p | awk -v so="$so" '$1 == so {print $NF; exit}')
		[ -n "$lib" ] || fail "$so: not installed here"
		# by file name: dpkg knows /lib or /usr/lib, whichever the package has
		lib=$(readlink -f "$lib")
		pkg=$(dpkg -S "*/${lib##*/}" | head -n 1 | cut -d: -f1)
		[[ ", $depends," == *", $pkg "* || ", $depends," == *", $pkg,"* ]] ||
			fail "$so ($pkg) is not in Depends: $depends"
	done
	[[ "$depends" == *libudev1* ]]
}

@test "package: make rpm builds the spec; %config(noreplace) policy, systemd scriptlets" {
	need rpmbuild
	built_rpm
	run rpm -qp --qf '%{NAME} %{VERSION} %{LICENSE}\n' "$RPM"
	assert_output "vfwarden $("$VFWARDEN" --version | sed 's/^vfwarden //') MIT"
	run rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM"
	assert_line "cn /etc/vfwarden/vfwarden.conf"
	run rpm -qp --scripts "$RPM"
	assert_output --partial "install-system-units vfwarden.service vfwarden.path"
	assert_output --partial "remove-system-units vfwarden.service vfwarden.path"
	refute_output --partial "mark-restart"
	refute_output --partial "%systemd"
	run rpm -qlp "$RPM"
	assert_line /usr/lib/systemd/system/vfwarden.service
	assert_line /usr/lib/udev/rules.d/70-vfwarden.rules
}

# Files and symlinks (not directories), /lib as /usr/lib, man pages without .gz.
# Exceptions: Debian's doc files (changelog, copyright, README.Debian) and
# lintian overrides; rpm's build-id links and the license file (%license).
deb_list() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $6}' | sed -e 's,^\./,/,' -e 's,^/lib/,/usr/lib/,' -e 's,\.gz$,,' |
		grep -v -e '^/usr/share/doc/vfwarden/\(changelog\.Debian\|copyright\|README\.Debian\)$' \
			-e '^/usr/share/lintian/overrides/' | sort
}
rpm_list() {
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" | awk '$1 !~ /^d/ {print $2}' | sed -e 's,\.gz$,,' |
		grep -v -e '^/usr/lib/\.build-id/' -e '^/usr/share/licenses/' | sort
}

@test "package: the .rpm's files are the .deb's (paths normalized, exceptions listed)" {
	need rpm
	built_deb
	built_rpm
	deb_list "$DEB" > "$BATS_TEST_TMPDIR/deb.list"
	rpm_list "$RPM" > "$BATS_TEST_TMPDIR/rpm.list"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/deb.list")" -ge 12 ]
	run diff -u "$BATS_TEST_TMPDIR/deb.list" "$BATS_TEST_TMPDIR/rpm.list"
	assert_success
}

@test "package: the autopkgtest runs bats files against a test build and checks the .deb's binary has none" {
	built_deb
	run sed -n 's/^Tests: *//p' "$TOP/debian/tests/control"
	assert_output bats
	[ -x "$TOP/debian/tests/bats" ]
	dpkg-deb -x "$DEB" "$BATS_TEST_TMPDIR/inst"
	# three files here (the whole tier takes a minute), against the test
	# build the script makes itself, as autopkgtest runs it
	# (a clean environment: the outer bats's variables and its libexec in
	# PATH would mislead the inner one)
	local path
	path=$(tr : '\n' <<< "$PATH" | grep -v bats-core | paste -sd:)
	run env -i PATH="$path" HOME="$HOME" AUTOPKGTEST_TMP="$BATS_TEST_TMPDIR" \
		VFWARDEN_RELEASE="$BATS_TEST_TMPDIR/inst/usr/sbin/vfwarden" \
		"$TOP/debian/tests/bats" \
		tests/bats/backend.bats tests/bats/check.bats tests/bats/status.bats
	assert_success
	assert_output --partial "ok 1 backend: the release binary has no test backend"
	refute_output --partial "not ok"
	[ -x "$BATS_TEST_TMPDIR/build/vfwarden-test" ]
}

@test "package: the Ansible role passes ansible-lint's production profile" {
	need ansible-lint
	cd "$TOP/contrib/ansible"
	run env NO_COLOR=1 ansible-lint --offline --nocolor --profile production site.yml roles/vfwarden
	assert_success
	assert_output --partial "Passed with production profile"
}

@test "package: argument_specs.yml names every variable of the role's defaults and README" {
	run python3 - "$ROLE" <<-'PY'
	import re, sys, yaml
	role = sys.argv[1]
	spec = set(yaml.safe_load(open(role + "/meta/argument_specs.yml"))["argument_specs"]["main"]["options"])
	defaults = set(yaml.safe_load(open(role + "/defaults/main.yml")))
	readme = set(re.findall(r"^\| `(vfwarden_[a-z_]+)`", open(role + "/README.md").read(), re.M))
	assert defaults, "no defaults"
	assert readme, "no README table"
	for name, names in (("defaults", defaults), ("README", readme)):
	    if names != spec:
	        print(name, "but not argument_specs:", sorted(names - spec), "argument_specs but not", name, ":", sorted(spec - names))
	        sys.exit(1)
	print(len(spec))
	PY
	assert_success
}

# play VARS-YAML: site.yml with --tags matching no task: only the role's
# argument validation (tagged always) runs, so nothing touches this host.
play_validate() {
	printf '%s\n' "$1" > "$BATS_TEST_TMPDIR/vars.yml"
	run env ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
		ansible-playbook -c local -i localhost, -e ansible_become=false \
		"$TOP/contrib/ansible/site.yml" -e @"$BATS_TEST_TMPDIR/vars.yml" --tags only-validate
}

@test "package: Ansible validates the role's variables before the first task" {
	need ansible-playbook
	play_validate $'vfwarden_pfs:\n  - label: a\n    device: "0000:01:00.0"\n    vfs: many'
	assert_failure
	assert_output --partial "Validating arguments against arg spec 'main'"
	assert_output --partial "argument 'vfs' is of type"
	play_validate $'vfwarden_pfs:\n  - label: a\n    device: enp1s0'
	assert_failure
	assert_output --partial "missing required arguments: vfs"
	play_validate 'vfwarden_install_method: rpm'
	assert_failure
	assert_output --partial "vfwarden_install_method must be one of: make, deb, none"
	play_validate 'vfwarden_apply: perhaps'
	assert_failure
	# the README's example passes
	sed -n '/^```yaml$/,/^```$/p' "$ROLE/README.md" | sed '1d;$d' > "$BATS_TEST_TMPDIR/readme.yml"
	play_validate "$(cat "$BATS_TEST_TMPDIR/readme.yml")"
	assert_success
	assert_output --partial "ok=1 "
}

@test "package: the role's policy template always writes vfs; the README example is a valid policy" {
	need ansible-playbook
	sed -n '/^```yaml$/,/^```$/p' "$ROLE/README.md" | sed '1d;$d' > "$BATS_TEST_TMPDIR/vars.yml"
	cat > "$BATS_TEST_TMPDIR/render.yml" <<-EOF
	- hosts: localhost
	  gather_facts: false
	  tasks:
	    - ansible.builtin.template:
	        src: $ROLE/templates/vfwarden.conf.j2
	        dest: $BATS_TEST_TMPDIR/out.conf
	        mode: "0644"
	EOF
	run env ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
		ansible-playbook -c local -i localhost, "$BATS_TEST_TMPDIR/render.yml" \
		-e @"$ROLE/defaults/main.yml" -e @"$BATS_TEST_TMPDIR/vars.yml"
	assert_success
	run grep -c '^vfs = ' "$BATS_TEST_TMPDIR/out.conf"
	assert_output 1
	run vfw -c "$BATS_TEST_TMPDIR/out.conf" check
	assert_success
	# a PF with vfs 0 still says so
	printf 'vfwarden_pfs:\n  - label: z\n    device: "enp9s0"\n    vfs: 0\n' > "$BATS_TEST_TMPDIR/vars.yml"
	run env ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
		ansible-playbook -c local -i localhost, "$BATS_TEST_TMPDIR/render.yml" \
		-e @"$ROLE/defaults/main.yml" -e @"$BATS_TEST_TMPDIR/vars.yml"
	assert_success
	run grep -x 'vfs = 0' "$BATS_TEST_TMPDIR/out.conf"
	assert_success
}

@test "package: postinst tells to restart a running libvirtd on a first install, and only then" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	# a systemctl that says libvirtd is active when LIBVIRTD_ACTIVE=1
	printf '#!/bin/sh\necho "$*" >> "%s/systemctl.log"\n[ "$1 $2 $3" = "is-active --quiet libvirtd.service" ] && [ "$LIBVIRTD_ACTIVE" = 1 ]\n' \
		"$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/bin/systemctl"
	chmod +x "$BATS_TEST_TMPDIR/bin/systemctl"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH LIBVIRTD_ACTIVE=1 run sh "$TOP/debian/postinst" configure ""
	assert_success
	assert_output --partial "'systemctl restart libvirtd'"
	# only asked, never restarted
	run cat "$BATS_TEST_TMPDIR/systemctl.log"
	assert_output "is-active --quiet libvirtd.service"
	# an upgrade, or libvirtd not running: nothing to say
	PATH=$BATS_TEST_TMPDIR/bin:$PATH LIBVIRTD_ACTIVE=1 run sh "$TOP/debian/postinst" configure 0.1.0-1
	assert_success
	assert_output ""
	PATH=$BATS_TEST_TMPDIR/bin:$PATH LIBVIRTD_ACTIVE=0 run sh "$TOP/debian/postinst" configure ""
	assert_success
	assert_output ""
}

@test "package: make install's unit and udev dirs come from pkg-config, /usr/lib/... without it" {
	unit=$(pkg-config --variable=systemdsystemunitdir systemd)
	udev=$(pkg-config --variable=udevdir udev)
	[ -n "$unit" ] && [ -n "$udev" ] || fail "no systemd.pc or udev.pc"
	run make -C "$TOP" -n install DESTDIR=/D
	assert_success
	assert_output --partial "/D$udev/rules.d/70-vfwarden.rules"
	assert_output --partial "install -d -m 0755 /D$unit"
	PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= run make -C "$TOP" -n install DESTDIR=/D
	assert_success
	assert_output --partial "/D/usr/lib/udev/rules.d/70-vfwarden.rules"
	assert_output --partial "install -d -m 0755 /D/usr/lib/systemd/system"
}
