/* SPDX-License-Identifier: MIT */
/*
 * Which [pf] section governs which PF on this host: the one rule apply,
 * status, doctor, the hook and the metrics share.
 *
 * A section names a PF when its device (interface, PCI address, permanent
 * MAC) is that PF's. A PF is governed by a section only when that section
 * names it alone and no other section names it. Otherwise the PF and every
 * section naming it are ambiguous: two sections (one by name, one by PCI
 * address), or one section whose device is on two PFs (a permanent MAC two
 * ports share). Apply leaves an ambiguous PF alone, the hook refuses a VM's
 * start on its VFs, status shows it with no label.
 *
 * A section with manage = no governs its PF as any other (so no other
 * section can take it by accident, and ambiguity is the same); what
 * vfwarden then does with the PF is the callers' to check (pf_policy's
 * manage): they write nothing to it.
 * A selector section (driver =, pci-id =) selects every PF that matches
 * all its selectors, and governs those no device section names: a device
 * section wins. A PF that no device section names and two selector
 * sections select is ambiguous the same way. The policy a selector section
 * gives a PF is a copy (match.inst) labelled "LABEL/IFNAME" (or LABEL/PCI
 * when the PF has no netdev), valid while the match is.
 */
#pragma once

#include "host.h"

enum match_state {
	MATCH_NONE,      /* PF: no section names it; section: its device is absent */
	MATCH_ONE,       /* governed by exactly one section */
	MATCH_AMBIGUOUS, /* see above; sec[] and pf[] say why */
};

/*
 * One PF's or one section's answer. sec[0] and pf[0] are the entry's own
 * (its section, its PF) when it has one; sec[1] is a second section naming
 * the same PF, pf[1] a second PF the same section names; -1 when unused.
 */
struct match_entry {
	enum match_state state;
	int sec[2];
	int pf[2];
	/*
	 * A PF's entry: its sections are selector sections. A selector
	 * section's: the PFs it governs (pf[0] the first, or the first it is
	 * ambiguous on, with sec[1] the other section).
	 */
	bool selected;
	unsigned n;
};

struct match {
	struct match_entry *by_pf;  /* one per host PF, in host order */
	struct match_entry *by_sec; /* one per policy [pf] section, in policy order */
	struct pf_policy *inst;     /* per host PF: the copy of the selector section governing it */
	/*
	 * sel[k * n_sec + i]: selector section i selects host PF k. Entries
	 * keep the first two sections of a conflict; this keeps them all, so
	 * that a third section on an ambiguous PF is named too.
	 */
	bool *sel;
	unsigned n_pf, n_sec;
};

/* Pure: reads only p and h. 0, or -ENOMEM. */
int match_build(struct match *m, const struct policy *p, const struct host *h);
void match_free(struct match *m);
/* The section governing host PF k, NULL when none (unmanaged or ambiguous). */
const struct pf_policy *match_policy_of(const struct match *m, const struct policy *p, unsigned k);
/* Whether section i governs PF k, or is one of the sections that make it ambiguous. */
bool match_involves(const struct match *m, unsigned i, unsigned k);
/* Index of the host PF at PCI address pci, or -ENOENT. */
int match_pf_by_pci(const struct host *h, const char *pci);

/*
 * Whether any [pf] section names pf, also in a policy with errors (which
 * match_build() does not take): the udev rule and the hook's fail-closed
 * path ask it. Unless names_read, pf's netdev and permanent MAC are read
 * once a section names a PF by them (a PCI address needs neither), and its
 * driver and PCI IDs once a selector section asks.
 */
bool match_names_pf(const struct policy *p, struct pf_live *pf, bool names_read);
/* The same, leaving out sections with manage = no (the udev rule's NM_UNMANAGED mark). */
bool match_names_pf_managed(const struct policy *p, struct pf_live *pf, bool names_read);
/*
 * Why an entry is ambiguous, for one line. A PF's entry: "[pf a] and [pf b]
 * both name 0000:02:00.0", "[pf a] names 0000:02:00.0 and 0000:03:00.0",
 * "[pf a] (FILE:LINE) and [pf b] (FILE:LINE) both select 0000:02:00.0".
 * A section's entry, after its label: "0000:02:00.0 is also [pf b]",
 * "device 'X' matches both 0000:02:00.0 and 0000:03:00.0".
 */
const char *match_why_pf(const struct match_entry *e, const struct policy *p, const struct host *h,
			 char *buf, size_t size);
const char *match_why_section(const struct match_entry *e, const struct policy *p,
			      const struct host *h, char *buf, size_t size);
