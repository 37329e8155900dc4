/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const struct command *const commands[] = {
	&cmd_check,
	&cmd_apply,
	&cmd_status,
	&cmd_show,
	&cmd_hook,
	&cmd_doctor,
	&cmd_udev,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vfwarden [-c FILE] COMMAND [ARGS...]\n\n"
		   "Converge SR-IOV virtual functions to the policy in " POLICY_FILE "\n"
		   "and " POLICY_DIR "/*.conf.\n\nCommands:\n");
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (commands[i]->summary)
			fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nOptions:\n"
		   "  -c, --config FILE  read this policy file alone\n"
		   "  -h, --help         show this help\n"
		   "  -V, --version      show the version\n\n"
		   "'vfwarden COMMAND --help' describes a command.\n");
}

static void add_operand(struct cli_operands *ops, char *arg)
{
	if (!ops->n)
		ops->first = arg;
	if (ops->v)
		ops->v[ops->n] = arg;
	ops->n++;
}

static char prog_name[] = "vfwarden";

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       struct cli_operands *ops)
{
	char spec[32], *cmd;
	int c;

	/*
	 * optind 0 makes glibc start afresh (main() parsed in '+' mode); a
	 * leading '-' hands each operand back in place as option 1, so that
	 * 'apply enp1s0 --dry-run' is a dry run whatever POSIXLY_CORRECT says.
	 */
	if (!ops->begun) {
		optind = 0;
		ops->begun = true;
	}
	if (snprintf(spec, sizeof(spec), "-%s", shortopts) >= (int)sizeof(spec))
		return '?';
	/* getopt's own messages start with argv[0]: 'vfwarden: ', as ours do. */
	cmd = argv[0];
	argv[0] = prog_name;
	c = getopt_long(argc, argv, spec, longopts, NULL);
	argv[0] = cmd;
	if (c == 1)
		add_operand(ops, optarg);
	else if (c == -1)
		while (optind < argc)
			add_operand(ops, argv[optind++]);
	return c;
}

int cli_load_policy(const struct cli *cli, struct policy *p, bool quiet)
{
	int r;

	policy_init(p);
	if (cli->config)
		r = policy_parse_file(p, cli->config);
	else {
		char file[PATH_MAX], dir[PATH_MAX];

		snprintf(file, sizeof(file), "%s%s", roots.etc, POLICY_FILE);
		snprintf(dir, sizeof(dir), "%s%s", roots.etc, POLICY_DIR);
		r = policy_parse_default(p, file, dir);
	}
	if (r == -ENOMEM)
		return r;
	r = policy_validate(p);
	if (!quiet)
		for (unsigned i = 0; i < p->n_errors; i++)
			log_err("%s:%u: %s", p->errors[i].at.file, p->errors[i].at.line,
				p->errors[i].msg);
	return p->n_errors ? -EINVAL : r;
}

const char *cli_strerror(int err, const struct pf_live *pf, char *buf, size_t size)
{
	if (err == -EOPNOTSUPP)
		snprintf(buf, size, "not supported by %s", pf->driver[0] ? pf->driver : "the driver");
	else
		snprintf(buf, size, "%s", strerror(-err));
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct cli cli = { 0 };
	int c;

	log_open();
	if ((c = backend_init()) < 0) {
		log_err("vfwarden: cannot start the %s: %s", backend->name, strerror(-c));
		return EXIT_SYSTEM;
	}
	/*
	 * Installed as a symlink in /etc/libvirt/hooks/{qemu,network}.d/: no
	 * shell shim in between, as libvirt runs the hook several times per start.
	 */
	if (strstr(argv[0], "/qemu.d/") || strstr(argv[0], "/network.d/")) {
		static char hook[] = "hook", qemu[] = "qemu", network[] = "network";
		char *hook_argv[8] = { hook, strstr(argv[0], "/qemu.d/") ? qemu : network };
		int n = 2;

		for (int i = 1; i < argc && n < 7; i++)
			hook_argv[n++] = argv[i];
		return cmd_hook.run(&cli, n, hook_argv);
	}
	argv[0] = prog_name;
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.config = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vfwarden %s\n", VFWARDEN_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(argv[optind], commands[i]->name)) {
			/* Each command parses its own options from its own argv[0]. */
			optind++;
			return commands[i]->run(&cli, argc - optind + 1, argv + optind - 1);
		}
	log_err("vfwarden: unknown command '%s'", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
