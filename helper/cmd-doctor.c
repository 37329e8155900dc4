/* SPDX-License-Identifier: MIT */
/*
 * doctor: why SR-IOV passthrough does or does not work on this host. Each
 * check prints ok, warn or fail with the fix; the exit status is EXIT_CHECKS
 * (5) when any check fails.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "dl.h"
#include "managers.h"
#include "match.h"
#include "udev.h"
#include "virt.h"

enum verdict { OK, WARN, FAIL };
static const char *const verdict_names[] = { [OK] = "ok", [WARN] = "warn", [FAIL] = "fail" };

struct doctor {
	bool json;
	json_object *checks;
	unsigned n[3];
};

static void check(struct doctor *d, enum verdict v, const char *name, const char *fix,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void check(struct doctor *d, enum verdict v, const char *name, const char *fix,
		  const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	d->n[v]++;
	if (d->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "check", json_object_new_string(name));
		json_object_object_add(o, "result", json_object_new_string(verdict_names[v]));
		json_object_object_add(o, "detail", json_object_new_string(detail));
		json_object_object_add(o, "fix", v != OK && fix ? json_object_new_string(fix) : NULL);
		json_object_array_add(d->checks, o);
		return;
	}
	printf("%-4s  %-22s %s\n", verdict_names[v], name, detail);
	if (v != OK && fix)
		printf("      %-22s fix: %s\n", "", fix);
}

/* The kernel parses every intel_iommu= in order: the last "on" or "off" wins. */
static bool intel_iommu_on(const char *cmdline)
{
	char buf[4096], *save = NULL;
	bool on = false;

	snprintf(buf, sizeof(buf), "%s", cmdline);
	for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		char *osave = NULL;

		if (strncmp(t, "intel_iommu=", 12) != 0)
			continue;
		for (char *o = strtok_r(t + 12, ",", &osave); o; o = strtok_r(NULL, ",", &osave)) {
			if (streq(o, "on"))
				on = true;
			else if (streq(o, "off"))
				on = false;
		}
	}
	return on;
}

static bool sys_exists(const char *rel)
{
	char p[PATH_MAX];

	return path_join(p, sizeof(p), "%s/%s", roots.sys, rel) == 0 && access(p, F_OK) == 0;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_iommu(struct doctor *d)
{
	char p[PATH_MAX], cmdline[4096] = "";
	bool dmar = sys_exists("firmware/acpi/tables/DMAR");
	bool ivrs = sys_exists("firmware/acpi/tables/IVRS");
	int groups;

	if (path_join(p, sizeof(p), "%s/kernel/iommu_groups", roots.sys) < 0)
		return;
	groups = count_dir(p);
	if (path_join(p, sizeof(p), "%s/cmdline", roots.proc) == 0)
		read_line_file(p, cmdline, sizeof(cmdline));

	if (!dmar && !ivrs)
		check(d, FAIL, "iommu-firmware", "enable VT-d (Intel) or AMD-Vi/IOMMU in the firmware setup",
		      "no ACPI DMAR or IVRS table: the firmware offers no IOMMU");
	else
		check(d, OK, "iommu-firmware", NULL, "ACPI %s table present", dmar ? "DMAR" : "IVRS");
	if (!dmar && !ivrs)
		; /* nothing for the command line to turn on */
	else if (dmar && !intel_iommu_on(cmdline))
		check(d, groups > 0 ? WARN : FAIL, "iommu-cmdline",
		      "add intel_iommu=on (and iommu=pt) to the kernel command line",
		      "intel_iommu=on is not on the kernel command line");
	else
		check(d, OK, "iommu-cmdline", NULL, "%s", dmar ? "intel_iommu=on" : "AMD IOMMU is on by default");
	if (groups <= 0)
		check(d, FAIL, "iommu-groups", "turn the IOMMU on (see above) and reboot",
		      "/sys/kernel/iommu_groups is empty: vfio-pci cannot bind VFs");
	else
		check(d, OK, "iommu-groups", NULL, "%d IOMMU groups", groups);
}

static void check_irq_remap(struct doctor *d)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	char line[512];
	bool ir = false;

	if (path_join(p, sizeof(p), "%s/interrupts", roots.proc) < 0 || !(f = fopen(p, "re")))
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "IR-PCI-MSI") || strstr(line, "IR-IO-APIC")) {
			ir = true;
			break;
		}
	if (ir)
		check(d, OK, "interrupt-remapping", NULL, "interrupts are remapped (IR-PCI-MSI)");
	else
		check(d, WARN, "interrupt-remapping",
		      "enable interrupt remapping in the firmware (x2APIC/VT-d); vfio refuses unsafe interrupts by default",
		      "no remapped interrupts seen in /proc/interrupts");
}

static void check_vfio(struct doctor *d)
{
	if (vfio_pci_loaded())
		check(d, OK, "vfio-pci", NULL, "vfio-pci driver is loaded");
	else
		check(d, WARN, "vfio-pci", "modprobe vfio-pci (vfwarden loads it when a VF needs it)",
		      "vfio-pci is not loaded");
}

static void check_pf(struct doctor *d, struct pf_live *pf)
{
	char name[64], mw[16] = "", cw[16] = "", ms[64] = "", cs[64] = "";
	char p[PATH_MAX];
	unsigned long w_cur = 0, w_max = 0;

	snprintf(name, sizeof(name), "pf %s", pf->ifname[0] ? pf->ifname : pf->pci);
	if (pf->totalvfs == 0)
		check(d, FAIL, name, "enable SR-IOV for this NIC in the firmware setup",
		      "%s: sriov_totalvfs is 0 (SR-IOV is off in the firmware)", pf->pci);
	else
		check(d, OK, name, NULL, "%s (%s): %u of %u VFs", pf->pci, pf->driver[0] ? pf->driver : "no driver",
		      pf->numvfs, pf->totalvfs);

	if (path_join(p, sizeof(p), "%s/bus/pci/devices/%s/current_link_width", roots.sys, pf->pci) == 0)
		read_line_file(p, cw, sizeof(cw));
	if (path_join(p, sizeof(p), "%s/bus/pci/devices/%s/max_link_width", roots.sys, pf->pci) == 0)
		read_line_file(p, mw, sizeof(mw));
	if (path_join(p, sizeof(p), "%s/bus/pci/devices/%s/current_link_speed", roots.sys, pf->pci) == 0)
		read_line_file(p, cs, sizeof(cs));
	if (path_join(p, sizeof(p), "%s/bus/pci/devices/%s/max_link_speed", roots.sys, pf->pci) == 0)
		read_line_file(p, ms, sizeof(ms));
	if (!cw[0] || parse_uint(cw, 64, &w_cur) < 0 || parse_uint(mw, 64, &w_max) < 0)
		return;
	snprintf(name, sizeof(name), "pcie %s", pf->ifname[0] ? pf->ifname : pf->pci);
	/* VF throughput shares the PF's link: a narrow or downgraded slot caps all of them. */
	if (w_cur < w_max || (cs[0] && ms[0] && !streq(cs, ms)))
		check(d, WARN, name, "move the NIC to a slot that gives it its full width and speed",
		      "link x%lu at %s, the device can do x%lu at %s", w_cur, cs, w_max, ms);
	else
		check(d, OK, name, NULL, "link x%lu at %s", w_cur, cs);
}

static void check_vf_groups(struct doctor *d, const struct pf_live *pf)
{
	unsigned shared = 0, nogroup = 0;

	for (unsigned i = 0; i < pf->n_vf; i++) {
		char p[PATH_MAX];
		int n;

		if (pf->vf[i].iommu_group < 0) {
			nogroup++;
			continue;
		}
		if (path_join(p, sizeof(p), "%s/kernel/iommu_groups/%d/devices", roots.sys,
			      pf->vf[i].iommu_group) == 0 &&
		    (n = count_dir(p)) > 1)
			shared++;
	}
	if (!pf->n_vf)
		return;
	char name[64];

	snprintf(name, sizeof(name), "groups %s", pf->ifname[0] ? pf->ifname : pf->pci);
	if (nogroup)
		check(d, FAIL, name, "turn the IOMMU on", "%u VF%s in no IOMMU group", nogroup, nogroup == 1 ? "" : "s");
	else if (shared)
		check(d, WARN, name, "check ACS on the upstream bridge; a shared group goes to one VM whole",
		      "%u VF%s share an IOMMU group with another device", shared, shared == 1 ? "" : "s");
	else
		check(d, OK, name, NULL, "each of %u VFs is alone in its IOMMU group", pf->n_vf);
}

/* NetworkManager's state directory: /run/NetworkManager (under $VFWARDEN_TEST_ROOT/run in tests). */
static bool networkmanager_runs(void)
{
	const char *slash = strrchr(roots.run, '/');
	char p[PATH_MAX];

	return path_join(p, sizeof(p), "%.*s/NetworkManager", slash ? (int)(slash - roots.run) : 0, roots.run) == 0 &&
	       access(p, F_OK) == 0;
}

/* A selector section: the PFs it governs, none (a policy shared by hosts), or ambiguous. */
static void check_selector(struct doctor *d, const struct policy *p, const struct host *h, const struct match *m,
			   unsigned i)
{
	const struct match_entry *e = &m->by_sec[i];
	char name[64], sel[96], why[256];

	snprintf(name, sizeof(name), "policy %s", p->pfs[i].section);
	pf_select_str(&p->pfs[i].sel, sel, sizeof(sel));
	if (e->state == MATCH_AMBIGUOUS)
		check(d, FAIL, name, "make the selectors of the two sections exclusive, or name the PF in a [pf] with device (apply leaves it alone)",
		      "%s", match_why_section(e, p, h, why, sizeof(why)));
	else if (e->state == MATCH_ONE)
		check(d, OK, name, NULL, "%s selects %u PF%s", sel, e->n, e->n == 1 ? "" : "s");
	else
		check(d, WARN, name, "check 'driver' and 'pci-id' (lspci -nnk shows both)",
		      "%s selects no PF here that a [pf] with device does not govern", sel);
}

/* Each [pf] section: its PF present, absent (a policy shared by hosts), or ambiguous (match.h). */
static void check_policy_pfs(struct doctor *d, const struct policy *p, const struct host *h)
{
	struct match m;
	char name[64], why[256];

	if (match_build(&m, p, h) < 0) {
		check(d, FAIL, "policy-pfs", NULL, "cannot match the policy to the host: %s", strerror(ENOMEM));
		return;
	}
	for (unsigned i = 0; i < p->n_pfs; i++) {
		snprintf(name, sizeof(name), "policy %s", p->pfs[i].section);
		if (p->pfs[i].selector)
			check_selector(d, p, h, &m, i);
		else if (m.by_sec[i].state == MATCH_ONE)
			check(d, OK, name, NULL, "device '%s' is present", p->pfs[i].device);
		else if (m.by_sec[i].state == MATCH_AMBIGUOUS)
			check(d, FAIL, name, "give each PF one [pf] section (apply leaves this one alone)", "%s",
			      match_why_section(&m.by_sec[i], p, h, why, sizeof(why)));
		else
			check(d, WARN, name, "check 'device' (interface name, PCI address or permanent MAC)",
			      "device '%s' is not present", p->pfs[i].device);
	}
	match_free(&m);
}

/* One other tool's file that sets VFs of a PF of the policy (pf >= 0) or maybe of one. */
static void check_manager_hit(struct doctor *d, const struct host *h, const struct manager_hit *x)
{
	const char *name = "sriov-managers", *kind = manager_kind_name(x->kind), *pf;
	char fix[160];

	if (x->unread == EFBIG) {
		check(d, WARN, name, "read it: it may set VFs of a PF of the policy",
		      "%s: larger than %d KiB, not read", x->file, MANAGERS_FILE_MAX / 1024);
		return;
	}
	if (x->unread) {
		check(d, WARN, name, "run doctor as root, or read it: it may set VFs of a PF of the policy",
		      "%s: cannot read: %s", x->file, strerror(x->unread));
		return;
	}
	if (x->pf == MGR_ANY_PF) {
		if (x->kind == MGR_SCRIPT)
			check(d, WARN, name, "make sure it writes no PF of vfwarden's policy",
			      "%s:%u: writes sriov_numvfs and names no PF: it may be one of the policy", x->file,
			      x->line);
		else
			check(d, WARN, name, "give the connection an interface-name, or remove its [sriov] section",
			      "%s:%u: %s's %s has no interface-name or mac-address: it sets VFs of any device "
			      "the connection comes up on", x->file, x->line, kind, x->what);
		return;
	}
	pf = h->pf[x->pf].ifname[0] ? h->pf[x->pf].ifname : h->pf[x->pf].pci;
	snprintf(fix, sizeof(fix), "let one tool set %s's VFs: remove that %s, or %s's [pf] section in the policy",
		 pf, x->kind == MGR_SCRIPT ? "write" : "setting", pf);
	if (x->kind == MGR_SCRIPT)
		check(d, WARN, name, fix, "%s:%u: writes sriov_numvfs of %s", x->file, x->line, pf);
	else
		check(d, WARN, name, fix, "%s:%u: %s's %s also sets VFs of %s", x->file, x->line, kind, x->what, pf);
}

/*
 * NetworkManager, systemd (.link, .network), netplan, units and rc.local
 * setting VFs of a PF the policy names: the last writer wins, at times
 * nobody chose. Warnings: they do not change doctor's exit status.
 */
static void check_other_managers(struct doctor *d, const struct policy *p, const struct host *h)
{
	_cleanup_free_ bool *named = calloc(h->n_pf ? h->n_pf : 1, sizeof(*named));
	struct manager_hits *hits = NULL;
	struct match m;
	bool any = false;
	int r;

	if (!named || match_build(&m, p, h) < 0)
		return;
	for (unsigned i = 0; i < h->n_pf; i++)
		any |= named[i] = m.by_pf[i].state != MATCH_NONE;
	match_free(&m);
	if (!any)
		return; /* no PF of the policy here: nothing to share */
	if (!(hits = malloc(sizeof(*hits))) || (r = managers_scan(h, named, hits)) < 0) {
		check(d, WARN, "sriov-managers", NULL, "cannot look for other tools' files: %s", strerror(ENOMEM));
		free(hits);
		return;
	}
	for (unsigned i = 0; i < hits->n; i++)
		check_manager_hit(d, h, &hits->hit[i]);
	if (hits->truncated)
		check(d, WARN, "sriov-managers", NULL, "more than %d such settings: the first are shown",
		      MANAGERS_HITS_MAX);
	if (!hits->n)
		check(d, OK, "sriov-managers", NULL, "no other tool's file sets VFs of the policy's PFs");
	free(hits);
}

/* VF netdevs of PFs the policy names, and how many of them udev did not mark NM_UNMANAGED=1. */
static int count_unmarked(const struct host *h, const struct policy *pol, unsigned *vfnet, unsigned *unmarked)
{
	struct match m;
	int ret = 0;

	if (match_build(&m, pol, h) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < h->n_pf; i++) {
		/* An ambiguous PF is named too: the udev rule marks its VFs. */
		if (m.by_pf[i].state == MATCH_NONE)
			continue;
		for (unsigned v = 0; v < h->pf[i].n_vf; v++) {
			const char *netdev = h->pf[i].vf[v].netdev;
			char val[8];
			int r;

			if (!netdev[0])
				continue;
			(*vfnet)++;
			r = udev_netdev_property(netdev, "NM_UNMANAGED", val, sizeof(val));
			if (r == -EOPNOTSUPP)
				ret = r;
			*unmarked += r < 0 || !streq(val, "1");
		}
	}
	match_free(&m);
	return ret;
}

/* Only VFs of PFs the policy names get NM_UNMANAGED (70-vfwarden.rules): others are NetworkManager's. */
static void check_managers(struct doctor *d, const struct host *h, const struct policy *pol)
{
	const char *name = "network-managers";
	unsigned unmarked = 0, vfnet = 0;
	int r = count_unmarked(h, pol, &vfnet, &unmarked);

	if (!vfnet)
		check(d, OK, name, NULL, "no VF of a PF in the policy has a host netdev");
	else if (!networkmanager_runs() || (!unmarked && r == 0))
		check(d, OK, name, NULL, "%u VF netdev%s left alone by network managers", vfnet, vfnet == 1 ? "" : "s");
	else if (r == -EOPNOTSUPP)
		check(d, WARN, name, "install libudev (Debian: libudev1)",
		      "cannot ask udev about %u VF netdev%s: %s cannot be loaded", vfnet, vfnet == 1 ? "" : "s",
		      dl_libudev_soname);
	else if (unmarked && udev_running() <= 0)
		check(d, WARN, name, "start systemd-udevd, then run: udevadm trigger -s net",
		      "udev is not running: %u VF netdev%s without NM_UNMANAGED while NetworkManager runs", unmarked,
		      unmarked == 1 ? "" : "s");
	else
		check(d, WARN, name, "install vfwarden's udev rule (make install) and run: udevadm trigger -s net",
		      "%u VF netdev%s without NM_UNMANAGED while NetworkManager runs", unmarked, unmarked == 1 ? "" : "s");
}

/* The VF slot pci would be of a PF on this host (sriov_offset, sriov_stride): the PF's index, -1 none. */
static int vf_slot_of(const struct host *h, const char *pci, unsigned *idx)
{
	unsigned dom, bus, dev, fn, rid;

	if (sscanf(pci, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return -1;
	rid = bus << 8 | dev << 3 | fn;
	for (unsigned k = 0; k < h->n_pf; k++) {
		unsigned pd, pb, pdev, pfn, prid;
		unsigned long off, stride;
		char p[PATH_MAX];

		if (sscanf(h->pf[k].pci, "%x:%x:%x.%x", &pd, &pb, &pdev, &pfn) != 4 || pd != dom ||
		    path_join(p, sizeof(p), "%s/bus/pci/devices/%s/sriov_offset", roots.sys, h->pf[k].pci) < 0 ||
		    read_uint_file(p, &off) < 0 ||
		    path_join(p, sizeof(p), "%s/bus/pci/devices/%s/sriov_stride", roots.sys, h->pf[k].pci) < 0 ||
		    read_uint_file(p, &stride) < 0 || stride == 0)
			continue;
		prid = pb << 8 | pdev << 3 | pfn;
		if (rid < prid + off || (rid - prid - off) % stride || (rid - prid - off) / stride >= h->pf[k].totalvfs)
			continue;
		*idx = (rid - prid - off) / stride;
		return (int)k;
	}
	return -1;
}

/* One PCI device a defined domain references: warns (returns 1) when it is a VF vfwarden cannot give it. */
static int check_domain_ref(struct doctor *d, const struct host *h, const struct policy *pol,
			    const struct match *m, const char *dom, const char *pci)
{
	char name[80], p[PATH_MAX], pf_pci[PCI_ADDR_LEN];
	unsigned idx;
	int k;

	snprintf(name, sizeof(name), "domain %.70s", dom);
	if (path_join(p, sizeof(p), "%s/bus/pci/devices/%s", roots.sys, pci) == 0 && access(p, F_OK) == 0) {
		if (!pol || vf_read_physfn(pci, pf_pci) < 0)
			return 0; /* not a VF (a GPU), or no policy to hold it against */
		for (unsigned i = 0; i < h->n_pf; i++)
			if (streq(h->pf[i].pci, pf_pci) && m->by_pf[i].state == MATCH_NONE) {
				check(d, WARN, name, "add a [pf] section for that PF, or give the domain a VF of one the policy names",
				      "uses VF %s of %s, which the policy does not name: vfwarden neither prepares nor resets it",
				      pci, pf_pci);
				return 1;
			}
		return 0;
	}
	if ((k = vf_slot_of(h, pci, &idx)) >= 0)
		check(d, WARN, name, "raise vfs for that PF in the policy, or give the domain another VF (virsh edit)",
		      "uses %s, vf%u of %s, which does not exist: the PF has %u VF%s", pci, idx, h->pf[k].pci,
		      h->pf[k].numvfs, h->pf[k].numvfs == 1 ? "" : "s");
	else
		check(d, WARN, name, "give the domain a device of this host (virsh edit)",
		      "uses PCI device %s, which is not on this host: it will not start", pci);
	return 1;
}

/*
 * libvirt, when it runs: did it start after the hooks were installed (it
 * reads them only at start), and can each domain have the VFs it names.
 */
static void check_libvirt(struct doctor *d, const struct host *h, const struct policy *pol)
{
	char daemon[16], link[PATH_MAX], fix[96];
	struct virt_domains v;
	struct match m;
	unsigned warned = 0;
	time_t started;
	int r;

	if (virt_daemon(daemon, sizeof(daemon), &started) < 0)
		return; /* no libvirt here, or not running: nothing to ask */
	snprintf(fix, sizeof(fix), "systemctl restart %s", daemon);
	r = virt_hook_newer(started, link, sizeof(link));
	if (r > 0)
		check(d, WARN, "libvirt-hooks", fix,
		      "%s is newer than %s, which reads hooks only when it starts: VM starts do not call vfwarden", link, daemon);
	else if (r == 0)
		check(d, OK, "libvirt-hooks", NULL, "%s started after vfwarden's hooks were installed", daemon);
	else
		check(d, WARN, "libvirt-hooks", "make install (or reinstall the package), then restart libvirt",
		      "no vfwarden hook in /etc/libvirt/hooks: VMs get their VFs as they are");
	if ((r = virt_query(&v)) < 0) {
		check(d, WARN, "libvirt-domains", r == -EOPNOTSUPP ? "install libvirt's client library (libvirt0)" : NULL,
		      "%s runs, but %s", daemon,
		      r == -ETIMEDOUT ? "did not answer in time" : r == -EOPNOTSUPP ? "its library cannot be loaded" : v.err);
		return;
	}
	if (pol && match_build(&m, pol, h) < 0)
		pol = NULL;
	for (unsigned i = 0; i < v.n_ref; i++)
		warned += check_domain_ref(d, h, pol, &m, v.dom[v.ref[i].dom].name, v.ref[i].pci);
	if (pol)
		match_free(&m);
	if (!warned)
		check(d, OK, "libvirt-domains", NULL, "%u domain%s, each can have the VFs it names", v.n_dom,
		      v.n_dom == 1 ? "" : "s");
	virt_free(&v);
}

/* -1 to go on, else the exit status. */
static int parse_opts(struct doctor *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct cli_operands ops = { 0 };
	int c;

	while ((c = cli_getopt(argc, argv, "jh", opts, &ops)) != -1) {
		switch (c) {
		case 1:
			break;
		case 'j':
			d->json = true;
			break;
		case 'h':
			printf("Usage: vfwarden [-c FILE] doctor [--json]\n\n"
			       "Check the host for SR-IOV passthrough: IOMMU, interrupt remapping, vfio-pci,\n"
			       "each PF's SR-IOV capability and PCIe link, VF IOMMU groups, network\n"
			       "managers, other tools' SR-IOV settings and the policy.\n"
			       "Exit status 5 when a check fails.\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (ops.n) {
		log_err("vfwarden: unexpected argument '%s'", ops.first);
		return EXIT_USAGE;
	}
	return -1;
}

/* The checks' summary, and the exit status: EXIT_CHECKS when one failed. */
static int report(struct doctor *d)
{
	if (d->json) {
		json_object *root = json_object_new_object();

		json_object_object_add(root, "schema", json_object_new_string("vfwarden-doctor/1"));
		json_object_object_add(root, "checks", d->checks);
		json_object_object_add(root, "ok", json_object_new_int((int)d->n[OK]));
		json_object_object_add(root, "warn", json_object_new_int((int)d->n[WARN]));
		json_object_object_add(root, "fail", json_object_new_int((int)d->n[FAIL]));
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	} else
		printf("%u ok, %u warn, %u fail\n", d->n[OK], d->n[WARN], d->n[FAIL]);
	return d->n[FAIL] ? EXIT_CHECKS : EXIT_OK;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	struct doctor d = { 0 };
	struct policy p;
	struct host h = { 0 };
	int r;

	if ((r = parse_opts(&d, argc, argv)) >= 0)
		return r;
	if (d.json)
		d.checks = json_object_new_array();

	check_iommu(&d);
	check_irq_remap(&d);
	check_vfio(&d);
	if ((r = host_scan(&h)) < 0)
		check(&d, FAIL, "pci", NULL, "cannot read %s/bus/pci/devices: %s", roots.sys, strerror(-r));
	if (h.n_pf == 0)
		check(&d, WARN, "sr-iov", "a NIC that can do SR-IOV, with SR-IOV on in the firmware",
		      "no PCI device offers SR-IOV (no sriov_totalvfs)");
	for (unsigned i = 0; i < h.n_pf; i++) {
		check_pf(&d, &h.pf[i]);
		check_vf_groups(&d, &h.pf[i]);
	}
	r = cli_load_policy(cli, &p, true);
	check_managers(&d, &h, &p);
	if (r < 0 && p.n_errors)
		check(&d, FAIL, "policy", "vfwarden check (every error with FILE:LINE)", "%s:%u: %s (%u error%s)",
		      p.errors[0].at.file, p.errors[0].at.line, p.errors[0].msg, p.n_errors,
		      p.n_errors == 1 ? "" : "s");
	else if (r < 0)
		check(&d, FAIL, "policy", NULL, "cannot read the policy: %s", strerror(-r));
	else {
		check(&d, OK, "policy", NULL, "valid, %u PF%s", p.n_pfs, p.n_pfs == 1 ? "" : "s");
		check_policy_pfs(&d, &p, &h);
		check_other_managers(&d, &p, &h);
	}
	check_libvirt(&d, &h, r < 0 ? NULL : &p);
	policy_free(&p);
	host_free(&h);
	return report(&d);
}

const struct command cmd_doctor = { "doctor", "check the host for SR-IOV passthrough", run };
