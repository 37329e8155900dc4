/* SPDX-License-Identifier: MIT */
#include <getopt.h>

#include "cli.h"

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
			       "Parse and validate the whole policy. Prints nothing and exits 0 when it is\n"
			       "valid; otherwise prints every error as FILE:LINE: message and exits 1.\n");
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (ops.n) {
		log_err("vfwarden: unexpected argument '%s'", ops.first);
		return EXIT_USAGE;
	}
	r = cli_load_policy(cli, &p, false);
	policy_free(&p);
	return r < 0 ? EXIT_POLICY : EXIT_OK;
}

const struct command cmd_check = { "check", "validate the policy and print every error", run };
