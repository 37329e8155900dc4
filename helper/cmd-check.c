/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>

#include "cli.h"
#include "match.h"

static const char *netdev_of(const struct pf_live *pf)
{
	return pf->ifname[0] ? pf->ifname : "no netdev";
}

/* Selector sections: each one after the first that selects PF k. */
static int check_selected(const struct policy *p, const struct host *h, const struct match *m, unsigned k)
{
	const struct match_entry *e = &m->by_pf[k];
	const struct pf_policy *a = &p->pfs[e->sec[0]];
	int ret = 0;

	for (unsigned i = 0; i < p->n_pfs; i++) {
		const struct pf_policy *b = &p->pfs[i];

		if ((int)i == e->sec[0] || !match_involves(m, i, k))
			continue;
		log_err("%s:%u: [pf %s] selects %s (%s) on this host, and so does [pf %s] (%s:%u): give each PF one section",
			b->at.file, b->at.line, b->label, h->pf[k].pci, netdev_of(&h->pf[k]), a->label, a->at.file,
			a->at.line);
		ret = -EINVAL;
	}
	return ret;
}

/*
 * Device sections: one that names a PF another section named first, or
 * whose device is on two PFs (a permanent MAC two ports share). Each
 * conflict once, at the later section's line.
 */
static int check_named(const struct policy *p, const struct host *h, const struct match *m, unsigned i)
{
	const struct match_entry *s = &m->by_sec[i];
	const struct pf_policy *b = &p->pfs[i];

	if (b->selector || s->state != MATCH_AMBIGUOUS)
		return 0;
	if (s->sec[1] >= 0) {
		const struct pf_policy *a = &p->pfs[s->sec[1]];
		const struct pf_live *pf = &h->pf[s->pf[0]];

		if (s->sec[1] > (int)i)
			return 0;
		log_err("%s:%u: [pf %s] names %s (%s) on this host, and so does [pf %s] (%s:%u): give each PF one section",
			b->at.file, b->at.line, b->label, pf->pci, netdev_of(pf), a->label, a->at.file, a->at.line);
	} else
		log_err("%s:%u: [pf %s] device '%s' matches both %s (%s) and %s (%s) on this host: name each PF by its PCI address",
			b->at.file, b->at.line, b->label, b->device, h->pf[s->pf[0]].pci, netdev_of(&h->pf[s->pf[0]]),
			h->pf[s->pf[1]].pci, netdev_of(&h->pf[s->pf[1]]));
	return -EINVAL;
}

/*
 * What only this host can tell: two sections that govern one of its PFs
 * (device sections, or selector sections where no device section names
 * it), or a device on two PFs. A host whose PCI bus cannot be read (a build
 * machine, a container) has nothing to add. 0, or -EINVAL with each
 * conflict printed as FILE:LINE: message.
 */
static int check_host(const struct policy *p)
{
	struct host h = { 0 };
	struct match m;
	int ret = 0;

	if (host_scan(&h) < 0 || match_build(&m, p, &h) < 0) {
		host_free(&h);
		return 0;
	}
	for (unsigned i = 0; i < p->n_pfs; i++)
		if (check_named(p, &h, &m, i) < 0)
			ret = -EINVAL;
	for (unsigned k = 0; k < h.n_pf; k++)
		if (m.by_pf[k].selected && m.by_pf[k].state == MATCH_AMBIGUOUS && check_selected(p, &h, &m, k) < 0)
			ret = -EINVAL;
	match_free(&m);
	host_free(&h);
	return ret;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
	struct cli_operands ops = { 0 };
	struct policy p;
	int c, r;

	while ((c = cli_getopt(argc, argv, "h", opts, &ops)) != -1) {
		if (c == 1)
			continue;
		if (c == 'h') {
			printf("Usage: vfwarden [-c FILE] check\n\n"
			       "Parse and validate the whole policy, then match its sections to this\n"
			       "host's PFs. Prints nothing and exits 0 when it is valid; otherwise\n"
			       "prints every error as FILE:LINE: message and exits 1.\n");
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (ops.n) {
		log_err("vfwarden: unexpected argument '%s'", ops.first);
		return EXIT_USAGE;
	}
	r = cli_load_policy(cli, &p, false);
	if (r >= 0)
		r = check_host(&p);
	policy_free(&p);
	return r < 0 ? EXIT_POLICY : EXIT_OK;
}

const struct command cmd_check = { "check", "validate the policy and print every error", run };
