/* SPDX-License-Identifier: MIT */
/* The PF matcher: a policy parsed from text and a hand-built host -> one answer per PF and section. */
#include <errno.h>
#include <string.h>

#include "match.h"
#include "tap.h"

static struct policy pol;
static struct pf_live pfs[4];
static struct host host = { .pf = pfs };

static void policy(const char *text)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");

	policy_free(&pol);
	if (!f || policy_parse_stream(&pol, f, "t.conf") < 0 || policy_validate(&pol) < 0) {
		for (unsigned i = 0; i < pol.n_errors; i++)
			printf("# policy: %u: %s\n", pol.errors[i].at.line, pol.errors[i].msg);
		printf("Bail out! test policy does not parse\n");
		exit(1);
	}
	fclose(f);
}

/* PF n: 0000:0n:00.0, interface ethN, permanent MAC 52:54:00:12:34:mac_last. */
static void pf_add(unsigned n, unsigned mac_last)
{
	struct pf_live *pf = &pfs[host.n_pf++];

	memset(pf, 0, sizeof(*pf));
	snprintf(pf->pci, sizeof(pf->pci), "0000:0%u:00.0", n);
	snprintf(pf->ifname, sizeof(pf->ifname), "eth%u", n);
	pf->perm_mac[0] = 0x52;
	pf->perm_mac[1] = 0x54;
	pf->perm_mac[4] = 0x34;
	pf->perm_mac[5] = (uint8_t)mac_last;
	pf->have_perm_mac = true;
}

static void host_reset(void)
{
	host.n_pf = 0;
}

#define IS_ENTRY(e, st, s0, s1, p0, p1, name)                                                   \
	do {                                                                                     \
		tap_is_int((e).state, st, name ": state");                                      \
		tap_ok((e).sec[0] == (s0) && (e).sec[1] == (s1) && (e).pf[0] == (p0) &&          \
			       (e).pf[1] == (p1),                                                \
		       name ": sec %d,%d pf %d,%d", (e).sec[0], (e).sec[1], (e).pf[0], (e).pf[1]); \
	} while (0)

static void test_one_none_absent(void)
{
	struct match m;
	char buf[200];

	host_reset();
	pf_add(1, 1);
	pf_add(2, 2);
	policy("[pf a]\ndevice = eth1\nvfs = 2\n[pf gone]\ndevice = 0000:09:00.0\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "build");
	IS_ENTRY(m.by_pf[0], MATCH_ONE, 0, -1, 0, -1, "eth1 is [pf a]'s");
	IS_ENTRY(m.by_pf[1], MATCH_NONE, -1, -1, 1, -1, "eth2 is unmanaged");
	IS_ENTRY(m.by_sec[0], MATCH_ONE, 0, -1, 0, -1, "[pf a] governs eth1");
	IS_ENTRY(m.by_sec[1], MATCH_NONE, 1, -1, -1, -1, "[pf gone] is absent");
	tap_ok(match_policy_of(&m, &pol, 0) == &pol.pfs[0], "policy of eth1 is [pf a]");
	tap_ok(match_policy_of(&m, &pol, 1) == NULL, "policy of eth2 is none");
	tap_ok(match_policy_of(&m, &pol, 7) == NULL, "policy of a PF out of range is none");
	tap_is_int(match_pf_by_pci(&host, "0000:02:00.0"), 1, "PF by PCI address");
	tap_is_int(match_pf_by_pci(&host, "0000:05:00.0"), -ENOENT, "PF by PCI address: none");
	tap_is_str(match_why_pf(&m.by_pf[0], &pol, &host, buf, sizeof(buf)), "0000:01:00.0 is not ambiguous",
		   "why of a matched PF");
	match_free(&m);
}

/* One PF named by interface in one section and by PCI address in another. */
static void test_two_sections(void)
{
	struct match m;
	char buf[200];

	host_reset();
	pf_add(1, 1);
	pf_add(2, 2);
	policy("[pf a]\ndevice = eth2\nvfs = 2\n[pf b]\ndevice = 0000:02:00.0\nvfs = 1\n"
	       "[pf c]\ndevice = 52:54:00:00:34:01\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "build");
	IS_ENTRY(m.by_pf[0], MATCH_ONE, 2, -1, 0, -1, "eth1 is [pf c]'s, by MAC");
	IS_ENTRY(m.by_pf[1], MATCH_AMBIGUOUS, 0, 1, 1, -1, "eth2 is ambiguous: a and b");
	IS_ENTRY(m.by_sec[0], MATCH_AMBIGUOUS, 0, 1, 1, -1, "[pf a] is ambiguous with b");
	IS_ENTRY(m.by_sec[1], MATCH_AMBIGUOUS, 1, 0, 1, -1, "[pf b] is ambiguous with a");
	tap_ok(match_policy_of(&m, &pol, 1) == NULL, "an ambiguous PF has no policy");
	tap_is_str(match_why_pf(&m.by_pf[1], &pol, &host, buf, sizeof(buf)),
		   "[pf a] and [pf b] both name 0000:02:00.0", "why, PF");
	tap_is_str(match_why_section(&m.by_sec[0], &pol, &host, buf, sizeof(buf)),
		   "0000:02:00.0 is also [pf b]", "why, section a");
	tap_is_str(match_why_section(&m.by_sec[1], &pol, &host, buf, sizeof(buf)),
		   "0000:02:00.0 is also [pf a]", "why, section b");
	match_free(&m);
}

/* Two ports with one permanent MAC: a section naming it cannot tell them apart. */
static void test_two_pfs(void)
{
	struct match m;
	char buf[200];

	host_reset();
	pf_add(1, 7);
	pf_add(2, 7);
	pf_add(3, 3);
	policy("[pf a]\ndevice = 52:54:00:00:34:07\nvfs = 2\n[pf b]\ndevice = eth3\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "build");
	IS_ENTRY(m.by_pf[0], MATCH_AMBIGUOUS, 0, -1, 0, 1, "eth1: a also names eth2");
	IS_ENTRY(m.by_pf[1], MATCH_AMBIGUOUS, 0, -1, 1, 0, "eth2: a also names eth1");
	IS_ENTRY(m.by_pf[2], MATCH_ONE, 1, -1, 2, -1, "eth3 is [pf b]'s");
	IS_ENTRY(m.by_sec[0], MATCH_AMBIGUOUS, 0, -1, 0, 1, "[pf a] names two PFs");
	IS_ENTRY(m.by_sec[1], MATCH_ONE, 1, -1, 2, -1, "[pf b] is unaffected");
	tap_is_str(match_why_pf(&m.by_pf[1], &pol, &host, buf, sizeof(buf)),
		   "[pf a] names 0000:02:00.0 and 0000:01:00.0", "why, PF");
	tap_is_str(match_why_section(&m.by_sec[0], &pol, &host, buf, sizeof(buf)),
		   "device '52:54:00:00:34:07' matches both 0000:01:00.0 and 0000:02:00.0", "why, section");
	match_free(&m);
}

/* Both at once: a names eth1 and eth2 by MAC, b names eth1 by PCI address. */
static void test_both(void)
{
	struct match m;

	host_reset();
	pf_add(1, 7);
	pf_add(2, 7);
	policy("[pf a]\ndevice = 52:54:00:00:34:07\nvfs = 2\n[pf b]\ndevice = 0000:01:00.0\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "build");
	IS_ENTRY(m.by_pf[0], MATCH_AMBIGUOUS, 0, 1, 0, -1, "eth1: a and b");
	IS_ENTRY(m.by_pf[1], MATCH_AMBIGUOUS, 0, -1, 1, 0, "eth2: a also names eth1");
	IS_ENTRY(m.by_sec[0], MATCH_AMBIGUOUS, 0, -1, 0, 1, "[pf a] names two PFs");
	IS_ENTRY(m.by_sec[1], MATCH_AMBIGUOUS, 1, 0, 0, -1, "[pf b]'s PF is also a's");
	match_free(&m);
}

/*
 * manage = no: the section still governs its PF (no other can take it), is
 * ambiguous as any other, and only the udev mark leaves it out.
 */
static void test_unmanaged(void)
{
	struct match m;

	host_reset();
	pf_add(1, 1);
	pf_add(2, 2);
	policy("[pf a]\ndevice = eth1\nvfs = 2\nmanage = no\n[pf b]\ndevice = eth2\nvfs = 1\n"
	       "[pf c]\ndevice = 0000:02:00.0\nvfs = 1\nmanage = no\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "build");
	IS_ENTRY(m.by_pf[0], MATCH_ONE, 0, -1, 0, -1, "eth1 is [pf a]'s, manage = no");
	tap_ok(match_policy_of(&m, &pol, 0) == &pol.pfs[0] && !pol.pfs[0].manage,
	       "policy of eth1 is [pf a], unmanaged");
	IS_ENTRY(m.by_pf[1], MATCH_AMBIGUOUS, 1, 2, 1, -1, "eth2: b and c (manage = no) are ambiguous");
	IS_ENTRY(m.by_sec[2], MATCH_AMBIGUOUS, 2, 1, 1, -1, "[pf c] with manage = no is ambiguous with b");
	match_free(&m);
	tap_ok(match_names_pf(&pol, &pfs[0], true), "names_pf: eth1 named by [pf a]");
	tap_ok(!match_names_pf_managed(&pol, &pfs[0], true), "names_pf_managed: [pf a] has manage = no");
	tap_ok(match_names_pf_managed(&pol, &pfs[1], true), "names_pf_managed: eth2 by [pf b]");
	policy("[pf c]\ndevice = 0000:02:00.0\nvfs = 1\nmanage = no\n");
	tap_ok(!match_names_pf_managed(&pol, &pfs[1], true), "names_pf_managed: eth2 by [pf c] alone");
	tap_ok(match_names_pf(&pol, &pfs[1], true), "names_pf: eth2 by [pf c] alone");
}

/* A PF without an interface is never named by one; empty policy, empty host. */
static void test_edges(void)
{
	struct match m;

	host_reset();
	pf_add(1, 1);
	pfs[0].ifname[0] = '\0';
	pfs[0].have_perm_mac = false;
	policy("[pf a]\ndevice = eth1\nvfs = 2\n[pf b]\ndevice = 52:54:00:00:34:01\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "build");
	IS_ENTRY(m.by_pf[0], MATCH_NONE, -1, -1, 0, -1, "a PF without netdev or MAC: unnamed");
	IS_ENTRY(m.by_sec[0], MATCH_NONE, 0, -1, -1, -1, "[pf a] absent");
	match_free(&m);
	policy("");
	host_reset();
	tap_is_int(match_build(&m, &pol, &host), 0, "build, nothing at all");
	tap_is_int(m.n_pf + m.n_sec, 0, "no entries");
	match_free(&m);
}

/* PF n (pf_add) bound to driver, with PCI IDs vendor:device (0:0 for none, as netdevsim). */
static void pf_ids(unsigned k, const char *driver, uint16_t vendor, uint16_t device)
{
	snprintf(pfs[k].driver, sizeof(pfs[k].driver), "%s", driver);
	pfs[k].vendor = vendor;
	pfs[k].device_id = device;
	pfs[k].have_ids = vendor || device;
}

/* Selector sections: each PF they match, a device section wins, labels LABEL/IFNAME. */
static void test_selectors(void)
{
	const struct pf_policy *pp;
	struct match m;

	host_reset();
	pf_add(1, 1);
	pf_add(2, 2);
	pf_add(3, 3);
	pf_add(4, 4);
	pf_ids(0, "igb", 0x8086, 0x10c9);
	pf_ids(1, "igb", 0x8086, 0x10c9);
	pf_ids(2, "ice", 0x8086, 0x1593);
	pf_ids(3, "mlx5_core", 0x15b3, 0x1017);
	policy("[pf ports]\ndriver = igb\nvfs = 2\n[pf one]\ndevice = eth2\nvfs = 1\n"
	       "[pf ice]\npci-id = 8086:1593\ndriver = ice\nvfs = 4\n[pf none]\npci-id = 8086:ffff\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "selectors: build");
	IS_ENTRY(m.by_pf[0], MATCH_ONE, 0, -1, 0, -1, "eth1 is [pf ports]'s by driver");
	tap_ok(m.by_pf[0].selected, "eth1 is selected");
	IS_ENTRY(m.by_pf[1], MATCH_ONE, 1, -1, 1, -1, "eth2: the device section wins over driver = igb");
	tap_ok(!m.by_pf[1].selected, "eth2 is named, not selected");
	IS_ENTRY(m.by_pf[2], MATCH_ONE, 2, -1, 2, -1, "eth3 is [pf ice]'s by pci-id and driver");
	IS_ENTRY(m.by_pf[3], MATCH_NONE, -1, -1, 3, -1, "eth4 matches no selector");
	IS_ENTRY(m.by_sec[0], MATCH_ONE, 0, -1, 0, -1, "[pf ports] governs eth1");
	tap_is_int((int)m.by_sec[0].n, 1, "[pf ports] governs one PF");
	IS_ENTRY(m.by_sec[1], MATCH_ONE, 1, -1, 1, -1, "[pf one] governs eth2");
	IS_ENTRY(m.by_sec[3], MATCH_NONE, 3, -1, -1, -1, "[pf none] selects nothing");
	pp = match_policy_of(&m, &pol, 0);
	tap_ok(pp && pp != &pol.pfs[0], "eth1's policy is a copy");
	tap_is_str(pp ? pp->label : "", "ports/eth1", "eth1's label is LABEL/IFNAME");
	tap_is_str(pp ? pp->section : "", "ports", "eth1's section is the section's label");
	tap_ok(pp && pp->vfs == 2 && pp->vf == pol.pfs[0].vf, "the copy has the section's VFs");
	tap_ok(match_policy_of(&m, &pol, 1) == &pol.pfs[1], "eth2's policy is [pf one] itself");
	tap_is_str(match_policy_of(&m, &pol, 1)->label, "one", "a device section keeps its label");
	tap_ok(match_involves(&m, 0, 0) && !match_involves(&m, 0, 1) && match_involves(&m, 1, 1),
	       "involves: [pf ports] eth1 only");
	tap_ok(match_names_pf(&pol, &pfs[0], true) && match_names_pf(&pol, &pfs[2], true) &&
		       !match_names_pf(&pol, &pfs[3], true),
	       "names_pf (udev): a selector names what it matches");
	/* Without a netdev the label takes the PCI address. */
	pfs[0].ifname[0] = '\0';
	match_free(&m);
	tap_is_int(match_build(&m, &pol, &host), 0, "selectors: build again");
	tap_is_str(match_policy_of(&m, &pol, 0)->label, "ports/0000:01:00.0", "no netdev: LABEL/PCI");
	match_free(&m);
}

/* Two selector sections on one PF: ambiguous, named with both FILE:LINEs; the rest goes on. */
static void test_selector_conflicts(void)
{
	struct match m;
	char buf[200];

	host_reset();
	pf_add(1, 1);
	pf_add(2, 2);
	pf_add(3, 3);
	pf_add(4, 4);
	pf_ids(0, "igb", 0x8086, 0x10c9);
	pf_ids(1, "igb", 0x8086, 0x10c9);
	pf_ids(2, "igb", 0x8086, 0x10ca);
	pf_ids(3, "igb", 0, 0);
	pfs[3].ifname[0] = '\0';
	policy("[pf a]\ndriver = igb\nvfs = 1\n[pf b]\npci-id = 8086:10c9\nvfs = 1\n[pf c]\ndevice = eth1\nvfs = 0\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "conflicts: build");
	IS_ENTRY(m.by_pf[0], MATCH_ONE, 2, -1, 0, -1, "eth1: [pf c] by device, over both selectors");
	IS_ENTRY(m.by_pf[1], MATCH_AMBIGUOUS, 0, 1, 1, -1, "eth2: [pf a] and [pf b] both select it");
	tap_ok(m.by_pf[1].selected, "eth2: ambiguous between selectors");
	tap_ok(match_policy_of(&m, &pol, 1) == NULL, "eth2: no policy");
	IS_ENTRY(m.by_pf[2], MATCH_ONE, 0, -1, 2, -1, "eth3: only driver = igb matches 8086:10ca");
	IS_ENTRY(m.by_pf[3], MATCH_ONE, 0, -1, 3, -1, "no PCI IDs (netdevsim): pci-id never matches");
	tap_is_str(match_policy_of(&m, &pol, 3)->label, "a/0000:04:00.0", "no netdev: LABEL/PCI");
	IS_ENTRY(m.by_sec[0], MATCH_AMBIGUOUS, 0, 1, 1, -1, "[pf a]: ambiguous on eth2");
	tap_is_int((int)m.by_sec[0].n, 2, "[pf a] still governs two PFs");
	IS_ENTRY(m.by_sec[1], MATCH_AMBIGUOUS, 1, 0, 1, -1, "[pf b]: ambiguous on eth2");
	tap_is_int((int)m.by_sec[1].n, 0, "[pf b] governs none");
	IS_ENTRY(m.by_sec[2], MATCH_ONE, 2, -1, 0, -1, "[pf c] governs eth1");
	tap_is_str(match_why_pf(&m.by_pf[1], &pol, &host, buf, sizeof(buf)),
		   "[pf a] (t.conf:2) and [pf b] (t.conf:5) both select 0000:02:00.0", "why of eth2");
	tap_is_str(match_why_section(&m.by_sec[1], &pol, &host, buf, sizeof(buf)),
		   "0000:02:00.0 is also selected by [pf a] (t.conf:2)", "why of [pf b]");
	tap_ok(match_involves(&m, 0, 1) && match_involves(&m, 1, 1) && !match_involves(&m, 1, 0),
	       "involves: both sections on eth2, neither on eth1");
	match_free(&m);

	policy("[pf a]\ndriver = igb\nvfs = 1\n[pf b]\ndriver = igb\nvfs = 1\n[pf c]\ndriver = igb\nvfs = 1\n");
	tap_is_int(match_build(&m, &pol, &host), 0, "three on one: build");
	IS_ENTRY(m.by_pf[0], MATCH_AMBIGUOUS, 0, 1, 0, -1, "three on one: the first two are named");
	IS_ENTRY(m.by_sec[2], MATCH_AMBIGUOUS, 2, 0, 0, -1, "three on one: the third is ambiguous too");
	tap_ok(match_involves(&m, 0, 0) && match_involves(&m, 1, 0) && match_involves(&m, 2, 0),
	       "three on one: involves all three, not only the two the entry names");
	match_free(&m);
}

int main(void)
{
	test_one_none_absent();
	test_two_sections();
	test_two_pfs();
	test_both();
	test_edges();
	test_unmanaged();
	test_selectors();
	test_selector_conflicts();
	policy_free(&pol);
	return tap_done();
}
