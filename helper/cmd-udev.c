/* SPDX-License-Identifier: MIT */
/*
 * udev (hidden): for the IMPORT{program} of 70-vfwarden.rules, on every
 * event of a VF netdev. Prints NM_UNMANAGED=1 when the VF's PF is one that
 * a [pf] section of the policy names, nothing otherwise (also when that
 * section has manage = no: the PF is another tool's), and exits 0
 * whatever happens: a uevent must never fail or wait because of vfwarden.
 *
 * It reads the VF's physfn link, the policy files (parsed, not validated:
 * a section still being written names its PF all the same) and, only when
 * a section names a PF by interface or MAC, the PF's netdev and permanent
 * MAC. No VF scan, no lock, no netlink.
 */
#include <string.h>

#include "cli.h"
#include "match.h"

static int run(const struct cli *cli, int argc, char **argv)
{
	struct pf_live pf = { 0 };
	struct policy p;
	bool named;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "Usage: vfwarden [-c FILE] udev VF\n\n"
				"For udev: print NM_UNMANAGED=1 when the PF of VF (a netdev name or a PCI\n"
				"address) is named by the policy, nothing otherwise. Always exits 0.\n");
		return EXIT_OK;
	}
	/* Not a VF, or gone already: nothing to say. */
	if (vf_read_physfn(argv[1], pf.pci) < 0)
		return EXIT_OK;
	policy_init(&p);
	if (cli->config)
		(void)policy_parse_file(&p, cli->config);
	else
		(void)policy_parse_default(&p, POLICY_FILE, POLICY_DIR);
	named = match_names_pf_managed(&p, &pf, false);
	policy_free(&p);
	if (named)
		printf("NM_UNMANAGED=1\n");
	return EXIT_OK;
}

/* No summary: not listed in vfwarden --help, as only udev runs it. */
const struct command cmd_udev = { "udev", NULL, run };
