/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "util.h"

static void entry_init(struct match_entry *e)
{
	*e = (struct match_entry){ .state = MATCH_NONE, .sec = { -1, -1 }, .pf = { -1, -1 } };
}

/* Remember up to two indexes; count them all. */
static void note(int *slot, unsigned *count, int idx)
{
	if (*count < 2)
		slot[*count] = idx;
	(*count)++;
}

/* Settle a PF's entry from what names it, once every pair is known. */
static void settle_pf(struct match_entry *e, unsigned n_secs, const struct match_entry *sec,
		      const unsigned *sec_pfs)
{
	if (n_secs == 0)
		return;
	if (n_secs >= 2) {
		e->state = MATCH_AMBIGUOUS;
		return;
	}
	if (sec_pfs[e->sec[0]] >= 2) {
		const struct match_entry *s = &sec[e->sec[0]];

		e->state = MATCH_AMBIGUOUS;
		e->pf[1] = s->pf[0] == e->pf[0] ? s->pf[1] : s->pf[0];
		return;
	}
	e->state = MATCH_ONE;
}

/* Settle a section's entry: its PF is the section's alone, or not. */
static void settle_sec(struct match_entry *e, unsigned n_pfs, const struct match_entry *pf,
		       const unsigned *pf_secs, int self)
{
	if (n_pfs == 0)
		return;
	if (n_pfs >= 2) {
		e->state = MATCH_AMBIGUOUS;
		return;
	}
	if (pf_secs[e->pf[0]] >= 2) {
		const struct match_entry *k = &pf[e->pf[0]];

		e->state = MATCH_AMBIGUOUS;
		e->sec[0] = self;
		e->sec[1] = k->sec[0] == self ? k->sec[1] : k->sec[0];
		return;
	}
	e->state = MATCH_ONE;
}

/*
 * A PF no device section names, and n selector sections select (the first
 * two in sel): governed by the one, or ambiguous. The one's copy for it.
 */
static void settle_selected(struct match *m, const struct policy *p, const struct host *h, unsigned k,
			    unsigned n, const int *sel)
{
	struct match_entry *e = &m->by_pf[k];
	const struct pf_live *pf = &h->pf[k];
	struct pf_policy *inst = &m->inst[k];

	e->selected = true;
	e->sec[0] = sel[0];
	e->sec[1] = n >= 2 ? sel[1] : -1;
	if (n >= 2) {
		e->state = MATCH_AMBIGUOUS;
		return;
	}
	e->state = MATCH_ONE;
	*inst = p->pfs[sel[0]];
	snprintf(inst->label, sizeof(inst->label), "%s/%s", inst->section, pf->ifname[0] ? pf->ifname : pf->pci);
}

/* A selector section's entry, from the PFs it selects. */
static void settle_selector(struct match *m, const struct policy *p, const struct host *h, unsigned i)
{
	struct match_entry *s = &m->by_sec[i];

	for (unsigned k = 0; k < h->n_pf; k++) {
		const struct match_entry *e = &m->by_pf[k];

		if (!e->selected || !pf_match_policy(&h->pf[k], &p->pfs[i]))
			continue;
		if (e->state == MATCH_AMBIGUOUS && s->state != MATCH_AMBIGUOUS) {
			s->state = MATCH_AMBIGUOUS;
			s->pf[0] = (int)k;
			s->sec[1] = e->sec[0] == (int)i ? e->sec[1] : e->sec[0];
		} else if (e->state == MATCH_ONE) {
			if (s->state == MATCH_NONE) {
				s->state = MATCH_ONE;
				s->pf[0] = (int)k;
			}
			s->n++;
		}
	}
}

static int match_alloc(struct match *m, const struct policy *p, const struct host *h)
{
	memset(m, 0, sizeof(*m));
	m->by_pf = calloc(h->n_pf + 1, sizeof(*m->by_pf));
	m->by_sec = calloc(p->n_pfs + 1, sizeof(*m->by_sec));
	m->inst = calloc(h->n_pf + 1, sizeof(*m->inst));
	m->sel = calloc((size_t)h->n_pf * p->n_pfs + 1, sizeof(*m->sel));
	if (!m->by_pf || !m->by_sec || !m->inst || !m->sel) {
		match_free(m);
		return -ENOMEM;
	}
	return 0;
}

int match_build(struct match *m, const struct policy *p, const struct host *h)
{
	_cleanup_free_ unsigned *pf_secs = calloc(h->n_pf + 1, sizeof(unsigned));
	_cleanup_free_ unsigned *sec_pfs = calloc(p->n_pfs + 1, sizeof(unsigned));
	_cleanup_free_ unsigned *pf_sels = calloc(h->n_pf + 1, sizeof(unsigned));
	_cleanup_free_ int *sel = calloc(2 * h->n_pf + 1, sizeof(int));

	if (match_alloc(m, p, h) < 0)
		return -ENOMEM;
	if (!pf_secs || !sec_pfs || !pf_sels || !sel) {
		match_free(m);
		return -ENOMEM;
	}
	m->n_pf = h->n_pf;
	m->n_sec = p->n_pfs;
	for (unsigned k = 0; k < h->n_pf; k++) {
		entry_init(&m->by_pf[k]);
		m->by_pf[k].pf[0] = (int)k;
	}
	for (unsigned i = 0; i < p->n_pfs; i++) {
		entry_init(&m->by_sec[i]);
		m->by_sec[i].sec[0] = (int)i;
	}
	for (unsigned i = 0; i < p->n_pfs; i++)
		for (unsigned k = 0; k < h->n_pf; k++)
			if (!pf_match_policy(&h->pf[k], &p->pfs[i]))
				continue;
			else if (p->pfs[i].selector) {
				note(&sel[2 * k], &pf_sels[k], (int)i);
				m->sel[k * p->n_pfs + i] = true;
			} else {
				note(m->by_pf[k].sec, &pf_secs[k], (int)i);
				note(m->by_sec[i].pf, &sec_pfs[i], (int)k);
			}
	/* A device section wins: selectors count only for a PF none names. */
	for (unsigned k = 0; k < h->n_pf; k++)
		if (pf_secs[k])
			settle_pf(&m->by_pf[k], pf_secs[k], m->by_sec, sec_pfs);
		else if (pf_sels[k])
			settle_selected(m, p, h, k, pf_sels[k], &sel[2 * k]);
	for (unsigned i = 0; i < p->n_pfs; i++)
		if (p->pfs[i].selector)
			settle_selector(m, p, h, i);
		else
			settle_sec(&m->by_sec[i], sec_pfs[i], m->by_pf, pf_secs, (int)i);
	return 0;
}

void match_free(struct match *m)
{
	free(m->by_pf);
	free(m->by_sec);
	free(m->inst);
	free(m->sel);
	memset(m, 0, sizeof(*m));
}

const struct pf_policy *match_policy_of(const struct match *m, const struct policy *p, unsigned k)
{
	if (k >= m->n_pf || m->by_pf[k].state != MATCH_ONE)
		return NULL;
	return m->by_pf[k].selected ? &m->inst[k] : &p->pfs[m->by_pf[k].sec[0]];
}

bool match_involves(const struct match *m, unsigned i, unsigned k)
{
	const struct match_entry *e = &m->by_pf[k];

	if (e->selected && e->state == MATCH_AMBIGUOUS)
		return m->sel[k * m->n_sec + i];
	return e->state != MATCH_NONE && (e->sec[0] == (int)i || e->sec[1] == (int)i);
}

int match_pf_by_pci(const struct host *h, const char *pci)
{
	for (unsigned k = 0; k < h->n_pf; k++)
		if (streq(h->pf[k].pci, pci))
			return (int)k;
	return -ENOENT;
}

const char *match_why_pf(const struct match_entry *e, const struct policy *p, const struct host *h,
			 char *buf, size_t size)
{
	const char *pci = h->pf[e->pf[0]].pci;

	if (e->state != MATCH_AMBIGUOUS)
		snprintf(buf, size, "%s is not ambiguous", pci);
	else if (e->selected) {
		const struct pf_policy *a = &p->pfs[e->sec[0]], *b = &p->pfs[e->sec[1]];

		snprintf(buf, size, "[pf %s] (%s:%u) and [pf %s] (%s:%u) both select %s", a->label, a->at.file,
			 a->at.line, b->label, b->at.file, b->at.line, pci);
	} else if (e->sec[1] >= 0)
		snprintf(buf, size, "[pf %s] and [pf %s] both name %s", p->pfs[e->sec[0]].label,
			 p->pfs[e->sec[1]].label, pci);
	else
		snprintf(buf, size, "[pf %s] names %s and %s", p->pfs[e->sec[0]].label, pci,
			 h->pf[e->pf[1]].pci);
	return buf;
}

const char *match_why_section(const struct match_entry *e, const struct policy *p,
			      const struct host *h, char *buf, size_t size)
{
	const struct pf_policy *pol = &p->pfs[e->sec[0]];

	if (e->state != MATCH_AMBIGUOUS)
		snprintf(buf, size, "[pf %s] is not ambiguous", pol->label);
	else if (pol->selector)
		snprintf(buf, size, "%s is also selected by [pf %s] (%s:%u)", h->pf[e->pf[0]].pci,
			 p->pfs[e->sec[1]].label, p->pfs[e->sec[1]].at.file, p->pfs[e->sec[1]].at.line);
	else if (e->sec[1] >= 0)
		snprintf(buf, size, "%s is also [pf %s]", h->pf[e->pf[0]].pci, p->pfs[e->sec[1]].label);
	else
		snprintf(buf, size, "device '%s' matches both %s and %s", pol->device,
			 h->pf[e->pf[0]].pci, h->pf[e->pf[1]].pci);
	return buf;
}

/* A section with manage = no names its PF all the same, unless managed_only. */
static bool names_pf(const struct policy *p, struct pf_live *pf, bool names_read, bool managed_only)
{
	bool select_read = names_read;

	for (unsigned i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		struct pf_policy pol = { 0 };

		if (s->kind != SECTION_PF)
			continue;
		if (managed_only && (s->set & (1u << KEY_MANAGE)) && !s->manage)
			continue;
		if (!(s->set & (1u << KEY_DEVICE))) {
			if (!(s->set & ((1u << KEY_DRIVER) | (1u << KEY_PCI_ID))))
				continue;
			if (!select_read) {
				pf_read_select(pf);
				select_read = true;
			}
			if (pf_match_select(pf, &s->sel))
				return true;
			continue;
		}
		snprintf(pol.device, sizeof(pol.device), "%s", s->device);
		pol.device_kind = policy_device_kind(pol.device, pol.device_mac);
		if (pol.device_kind != DEVICE_PCI && !names_read) {
			pf_read_names(pf);
			names_read = true;
		}
		if (pf_match_policy(pf, &pol))
			return true;
	}
	return false;
}

bool match_names_pf(const struct policy *p, struct pf_live *pf, bool names_read)
{
	return names_pf(p, pf, names_read, false);
}

bool match_names_pf_managed(const struct policy *p, struct pf_live *pf, bool names_read)
{
	return names_pf(p, pf, names_read, true);
}
