/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>

#include "cli.h"
#include "match.h"

/*
 * What only this host can tell: two selector sections that both select one
 * of its PFs (no [pf] with device names it). A host whose PCI bus cannot be
 * read (a build machine, a container) has nothing to add. 0, or -EINVAL
 * with each conflict printed as FILE:LINE: message.
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
	for (unsigned k = 0; k < h.n_pf; k++) {
		const struct match_entry *e = &m.by_pf[k];
		const struct pf_policy *a, *b;

		if (!e->selected || e->state != MATCH_AMBIGUOUS)
			continue;
		a = &p->pfs[e->sec[0]];
		b = &p->pfs[e->sec[1]];
		log_err("%s:%u: [pf %s] selects %s (%s) on this host, and so does [pf %s] (%s:%u): give each PF one section",
			b->at.file, b->at.line, b->label, h.pf[k].pci, h.pf[k].ifname[0] ? h.pf[k].ifname : "no netdev",
			a->label, a->at.file, a->at.line);
		ret = -EINVAL;
	}
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
			       "Parse and validate the whole policy, then match its selector sections\n"
			       "to this host's PFs. Prints nothing and exits 0 when it is valid; otherwise\n"
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
