# SPDX-License-Identifier: MIT
# vfwarden — SR-IOV VF policy for virtualization hosts
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
DESTDIR    ?=
# Where this system's systemd and udev look, as their pkg-config files say
# (Debian bookworm: /lib/..., merged-/usr systems: /usr/lib/...); without
# them, /usr/lib/...
PC_UNITDIR := $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
PC_UDEVDIR := $(shell pkg-config --variable=udevdir udev 2>/dev/null)
UNITDIR    ?= $(or $(PC_UNITDIR),/usr/lib/systemd/system)
UDEVRULESDIR ?= $(or $(PC_UDEVDIR:%=%/rules.d),/usr/lib/udev/rules.d)
MANDIR     ?= $(DATADIR)/man

CC      ?= cc
PKGS     = inih libnl-3.0 libnl-route-3.0 libnl-genl-3.0 libkmod json-c libxml-2.0 libudev libvirt
# libxml2, libkmod, libudev and libvirt are dlopen()ed on first use (helper/dl.h): headers only.
LINK_PKGS = inih libnl-3.0 libnl-route-3.0 libnl-genl-3.0 json-c
# They are opened by the soname that linking them would record: the probe
# below is linked against them (and nothing else uses it), its NEEDED
# entries become $(B)/soname.h for dl.c, and debian/rules hands the probe
# to dpkg-shlibdeps so that Depends names the same libraries.
DLOPEN_PKGS = libxml-2.0:libxml2:LIBXML2 libkmod:libkmod:LIBKMOD libudev:libudev:LIBUDEV libvirt:libvirt:LIBVIRT
READELF ?= readelf
WARN     = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wvla -Wwrite-strings -Wundef -Wpointer-arith \
           -Wcast-qual -Wnull-dereference
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -I$(B) $(WARN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null)
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

B        = build
CORE     = util policy vfattr sysfs proc pfwait eswitch plan converge log lock hook records state dl match virt managers backend
# The backend (helper/backend.h): the kernel's in build/vfwarden, the fake
# host of tests/fake/ in build/vfwarden-test, which the bats tier runs.
HOST     = netlink devlink ethtool kmod udev backend-host
FAKE     = backend-fake fake-udev fake-devlink
CMDS     = vfwarden cmd-check cmd-apply cmd-status cmd-show cmd-hook cmd-doctor cmd-udev
CORE_O   = $(CORE:%=$(B)/%.o)
HOST_O   = $(HOST:%=$(B)/%.o)
FAKE_O   = $(FAKE:%=$(B)/fake/%.o)
CMDS_O   = $(CMDS:%=$(B)/%.o)
HDRS     = $(wildcard helper/*.h)
UNIT     = test-policy test-mac test-plan test-netlink test-records test-match test-vfattr

UNITS    = $(B)/vfwarden.service $(B)/vfwarden@.service $(B)/vfwarden-edited.service $(B)/vfwarden-reset.service
PATHS    = systemd/vfwarden.path systemd/vfwarden-reapply.path systemd/vfwarden-reset.path
RULES    = $(B)/70-vfwarden.rules

all: $(B)/vfwarden $(UNITS) $(RULES)

# Units get the install path and the shared hardening block.
$(B)/%.service: systemd/%.service.in systemd/hardening.conf | $(B)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e '/@HARDENING@/{r systemd/hardening.conf' -e 'd}' $< > $@

# The rule runs the installed binary (vfwarden udev): it gets the path too.
$(B)/%.rules: udev-rules/%.rules.in | $(B)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

$(B):
	mkdir -p $@

$(B)/%.o: helper/%.c $(HDRS) | $(B)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/fake/%.o: tests/fake/%.c $(HDRS) | $(B)
	@mkdir -p $(B)/fake
	$(CC) $(CFLAGS) -Ihelper -c -o $@ $<

$(B)/dl.o: $(B)/soname.h

$(B)/dlopen-probe: helper/dlopen-probe.c helper/dl.h Makefile | $(B)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--no-as-needed $(shell pkg-config --libs $(foreach p,$(DLOPEN_PKGS),$(word 1,$(subst :, ,$(p)))) 2>/dev/null)

$(B)/soname.h: $(B)/dlopen-probe
	@rm -f $@.tmp
	@for p in $(DLOPEN_PKGS); do \
		lib=$$(echo $$p | cut -d: -f2) macro=$$(echo $$p | cut -d: -f3); \
		so=$$($(READELF) -d $< | sed -n "s/.*(NEEDED).*\[\($$lib\.so[^]]*\)\]/\1/p" | head -n 1); \
		if [ -z "$$so" ]; then echo "soname.h: $< needs no $$lib.so.*" >&2; exit 1; fi; \
		echo "#define $${macro}_SONAME \"$$so\"" >> $@.tmp; \
	done
	@mv $@.tmp $@ && sed 's|^|$@: |' $@

$(B)/vfwarden: $(CORE_O) $(HOST_O) $(CMDS_O)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/vfwarden-test: $(CORE_O) $(FAKE_O) $(CMDS_O)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test-%: tests/unit/test-%.c tests/unit/tap.h $(CORE_O) $(HOST_O)
	$(CC) $(CFLAGS) -Ihelper $(LDFLAGS) -o $@ $< $(CORE_O) $(HOST_O) $(LDLIBS)

deps:
	sh scripts/deps.sh

# The emulated SR-IOV host: QEMU igb NICs, systemd, udev and libvirtd in a
# throw-away guest, vfwarden installed and a policy in place before boot.
demo: deps
	$(MAKE) all
	@echo "demo: preparing the emulated SR-IOV host (first time: downloads a Debian kernel)"
	tests/vm/setup
	@echo "demo: booting it (QEMU, 2 igb NICs, systemd, libvirtd)"
	VFWARDEN_VM_SETUP=demo/setup tests/vm/run --nics 2 --systemd --libvirt -- demo/run
	@echo "demo: part 2, the datapath: a second emulated host (1 igb NIC, no libvirtd)"
	tests/vm/run --nics 1 -- demo/traffic
	@echo "demo: done: both parts verified against the kernel and by traffic"

install: all
	install -D -m 0755 $(B)/vfwarden $(DESTDIR)$(SBINDIR)/vfwarden
	install -D -m 0644 $(RULES) $(DESTDIR)$(UDEVRULESDIR)/70-vfwarden.rules
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	install -m 0644 $(UNITS) $(PATHS) $(DESTDIR)$(UNITDIR)/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/libvirt/hooks/qemu.d $(DESTDIR)$(SYSCONFDIR)/libvirt/hooks/network.d
	ln -sf $(SBINDIR)/vfwarden $(DESTDIR)$(SYSCONFDIR)/libvirt/hooks/qemu.d/vfwarden
	ln -sf $(SBINDIR)/vfwarden $(DESTDIR)$(SYSCONFDIR)/libvirt/hooks/network.d/vfwarden
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/vfwarden/conf.d
	install -D -m 0644 conf/vfwarden.conf $(DESTDIR)$(DATADIR)/doc/vfwarden/vfwarden.conf.example
	install -D -m 0644 README.md $(DESTDIR)$(DATADIR)/doc/vfwarden/README.md
	install -D -m 0644 man/vfwarden.8 $(DESTDIR)$(MANDIR)/man8/vfwarden.8
	install -D -m 0644 man/vfwarden.conf.5 $(DESTDIR)$(MANDIR)/man5/vfwarden.conf.5
	install -D -m 0644 completion/vfwarden $(DESTDIR)$(DATADIR)/bash-completion/completions/vfwarden
	test -e $(DESTDIR)$(SYSCONFDIR)/vfwarden/vfwarden.conf || \
		install -m 0644 conf/vfwarden.conf $(DESTDIR)$(SYSCONFDIR)/vfwarden/vfwarden.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vfwarden $(DESTDIR)$(UDEVRULESDIR)/70-vfwarden.rules
	rm -f $(DESTDIR)$(UNITDIR)/vfwarden.service $(DESTDIR)$(UNITDIR)/vfwarden@.service $(DESTDIR)$(UNITDIR)/vfwarden.path
	rm -f $(DESTDIR)$(UNITDIR)/vfwarden-edited.service $(DESTDIR)$(UNITDIR)/vfwarden-reapply.path
	rm -f $(DESTDIR)$(UNITDIR)/vfwarden-reset.service $(DESTDIR)$(UNITDIR)/vfwarden-reset.path
	rm -rf $(DESTDIR)$(DATADIR)/doc/vfwarden
	rm -f $(DESTDIR)$(MANDIR)/man8/vfwarden.8 $(DESTDIR)$(MANDIR)/man5/vfwarden.conf.5
	rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/vfwarden
	rm -f $(DESTDIR)$(SYSCONFDIR)/libvirt/hooks/qemu.d/vfwarden $(DESTDIR)$(SYSCONFDIR)/libvirt/hooks/network.d/vfwarden

# The Debian package (debian/), built with dpkg-buildpackage in a copy of
# the checkout under $(B)/deb, so the work tree stays as it is; the .deb
# lands in $(B)/deb/. Needs debhelper, dpkg-dev, fakeroot (make deps).
DEB_SRC = $(B)/deb/vfwarden-src

deb:
	rm -rf $(B)/deb && mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./.git --exclude=./$(B) --exclude=./build --exclude=./build-asan --exclude=./debian/build \
		--exclude=./debian/vfwarden --exclude=./debian/.debhelper . | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_SRC)
	@ls $(B)/deb/*.deb

# The Fedora/RHEL package (packaging/rpm/vfwarden.spec), built with rpmbuild
# (Debian's rpm package will do) from a tarball of the checkout; the .rpm
# lands in $(B)/rpm/RPMS/ARCH/. --nodeps: on Debian, rpm's database knows
# none of the BuildRequires. Where rpm has no systemd macros (Debian), the
# spec gets Fedora's paths and scriptlets from packaging/rpm/macros.systemd-fallback.
RPM_TOP     = $(abspath $(B))/rpm
RPM_VERSION = $(shell sed -n 's/^Version: *//p' packaging/rpm/vfwarden.spec)
RPM_MACROS  = $(if $(shell rpm --eval '%{?_unitdir}' 2>/dev/null),,--load=packaging/rpm/macros.systemd-fallback)

rpm:
	rm -rf $(RPM_TOP) && mkdir -p $(RPM_TOP)/SOURCES
	tar -cf - --exclude=./.git --exclude=./$(B) --exclude=./build --exclude=./build-asan \
		--exclude=./debian/build --exclude=./debian/vfwarden --exclude=./debian/.debhelper \
		--transform='s,^\.,vfwarden-$(RPM_VERSION),' . | gzip -n > $(RPM_TOP)/SOURCES/vfwarden-$(RPM_VERSION).tar.gz
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL rpmbuild -bb --nodeps $(RPM_MACROS) \
		--define '_topdir $(RPM_TOP)' packaging/rpm/vfwarden.spec
	@ls $(RPM_TOP)/RPMS/*/*.rpm

# --- tests: every tier writes TAP into $(B)/results, tests/summary counts it
RESULTS = $(B)/results
# The bats tier and its sanitizer run side by side, then the fuzzers beside
# the package build: each is one chain of processes that keeps one core
# busy, and the two share no files (own build dir, own TAP prefix, a
# temporary root per test). Output per target.
CHECK_PAIR = -k -j2 --output-sync=target

check: deps
	$(MAKE) all
	rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	-$(MAKE) --no-print-directory check-unit
	-$(MAKE) --no-print-directory $(CHECK_PAIR) check-bats check-sanitize
	-$(MAKE) --no-print-directory $(CHECK_PAIR) fuzz deb FUZZ_SECONDS=20
	-$(MAKE) --no-print-directory check-vm
	-$(MAKE) --no-print-directory bench BENCH_QUICK=1
	sh tests/summary $(RESULTS)

# Every tier but the real-kernel guests: the edit-test loop.
check-fast: all
	rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	-$(MAKE) --no-print-directory check-unit
	-$(MAKE) --no-print-directory $(CHECK_PAIR) check-bats check-sanitize
	-$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
	sh tests/summary $(RESULTS)

check-unit: $(UNIT:%=$(B)/%)
	@mkdir -p $(RESULTS)
	@for t in $(UNIT); do \
		echo "# unit: $$t"; \
		tests/tap-run $(RESULTS)/$(TAP_PREFIX)unit-$$t.tap $$t \
			$(if $(filter 1,$(VALGRIND)),valgrind -q --leak-check=full --error-exitcode=99) $(B)/$$t; \
	done

BATS_FILES ?= $(wildcard tests/bats/*.bats)
# What the sanitizer build adds nothing to: packaging and the harness itself.
BATS_NO_ASAN = tests/bats/package.bats tests/bats/harness.bats tests/bats/backend.bats

check-bats: $(B)/vfwarden $(B)/vfwarden-test
	@mkdir -p $(RESULTS)
	@for t in $(BATS_FILES); do \
		n=$$(basename $$t .bats); echo "# bats: $$t"; \
		VFWARDEN=$(CURDIR)/$(B)/vfwarden-test VFWARDEN_RELEASE=$(CURDIR)/$(B)/vfwarden tests/tap-run $(RESULTS)/$(TAP_PREFIX)bats-$$n.tap $$n bats --tap $$t; \
	done

# The same unit and bats tiers on an ASan + UBSan build, in its own build dir.
check-sanitize:
	$(MAKE) --no-print-directory B=build-asan SANITIZE=1 RESULTS=$(abspath $(RESULTS)) \
		TAP_PREFIX=asan- BATS_FILES="$(filter-out $(BATS_NO_ASAN),$(wildcard tests/bats/*.bats))" \
		check-unit check-bats

check-vm: $(B)/vfwarden
	@mkdir -p $(RESULTS)
	tests/vm/setup
	tests/vm/tier $(RESULTS)

# --- fuzzing (clang, libFuzzer + ASan + UBSan). FUZZ_SECONDS per target;
# make check runs a short round, make fuzz a longer one. Crashes land in
# tests/fuzz/crashes/ and belong in the corpus once fixed. An input that
# takes over 5 s or 1 GiB counts as a crash: slowness is a bug (issue 15).
FUZZ        = fuzz-policy fuzz-xml
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all -Ihelper $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SRCS   = $(CORE:%=helper/%.c) $(HOST:%=helper/%.c)

$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) $(HDRS) $(B)/soname.h
	@mkdir -p $(B)/fuzz
	clang $(FUZZ_CFLAGS) -I$(B) -o $@ $< $(FUZZ_SRCS) $(LDLIBS)

fuzz: $(FUZZ:%=$(B)/fuzz/%)
	@mkdir -p $(RESULTS) tests/fuzz/crashes
	@n=0; for f in $(FUZZ); do n=$$((n+1)); \
		c=tests/fuzz/corpus-$${f#fuzz-}; w=$(B)/fuzz/work-$$f; mkdir -p $$w; \
		if $(B)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=5 -rss_limit_mb=1024 \
			-artifact_prefix=tests/fuzz/crashes/ $$w $$c > $(B)/fuzz/$$f.log 2>&1; then \
			echo "ok $$n - $$f ran $(FUZZ_SECONDS)s: $$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' $(B)/fuzz/$$f.log) inputs, no crash"; \
		else echo "not ok $$n - $$f crashed: see $(B)/fuzz/$$f.log"; tail -n 30 $(B)/fuzz/$$f.log | sed 's/^/# /'; fi; \
	done | tee $(RESULTS)/fuzz.tap; echo "1..$(words $(FUZZ))" >> $(RESULTS)/fuzz.tap

# Speed against the hand script and the kernel floor, in the real-kernel
# guest. Not a pass/fail gate: make check runs it once, quickly, so it never rots.
bench: all
	tests/vm/setup
	VFWARDEN_VM_TIMEOUT=$(if $(BENCH_QUICK),900,3600) \
		tests/vm/run --nics 2 --netdevsim $(if $(BENCH_QUICK),256,4096) -- env BENCH_QUICK=$(BENCH_QUICK) BENCH_SIZES="$(BENCH_SIZES)" bench/run-guest

clean:
	rm -rf $(B) build-asan

.PHONY: all deps deb rpm demo bench install uninstall check check-fast check-unit check-bats check-sanitize check-vm fuzz clean
