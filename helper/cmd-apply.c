/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lock.h"
#include "pfwait.h"
#include "state.h"

static void help(void)
{
	printf("Usage: vfwarden [-c FILE] apply [--dry-run] [--force] [--lock-timeout SEC] [--wait-pfs SEC] [PF...]\n\n"
	       "Converge every PF the policy names, or only the PFs given (interface name,\n"
	       "PCI address, sysfs path or permanent MAC), and print one line per change.\n\n"
	       "  -n, --dry-run          print the plan, change nothing\n"
	       "  -f, --force            change the VF count even if a VM uses one of the VFs\n"
	       "      --lock-timeout SEC wait at most SEC seconds for another vfwarden (default 60)\n"
	       "      --wait-pfs SEC     first wait at most SEC seconds for the drivers of the PFs\n"
	       "                         the policy may name (boot; default 0)\n\n"
	       "Exit status: 0 the host matches the policy; 1 the policy is invalid (nothing\n"
	       "changed); 2 usage; 3 some of the policy could not be applied; 4 system error.\n");
}

/* The run's record and the record of the PF being converged (state.h). */
struct apply_log {
	struct last_apply all, pf;
};

static void report(void *ud, const struct pf_policy *pol, const struct pf_live *pf,
		   const struct action *a, int err)
{
	struct apply_log *log = ud;
	char who[64], e[128];

	if (a->type == ACT_PF_UP || a->type == ACT_AUTOPROBE || a->type == ACT_NUMVFS || a->type == ACT_ESWITCH)
		snprintf(who, sizeof(who), "%s", pol->label);
	else
		snprintf(who, sizeof(who), "%s vf%u", pol->label, a->vf);
	if (err < 0) {
		log_err("%s %s: %s", who, action_key_name(a), cli_strerror(err, pf, e, sizeof(e)));
		last_apply_count_failure(&log->all, action_key_name(a));
		last_apply_count_failure(&log->pf, action_key_name(a));
		return;
	}
	if (a->type == ACT_PF_UP)
		printf("%s: link %s -> %s\n", who, a->from, a->to);
	else if (a->type == ACT_VF_REBIND)
		printf("%s: rebind %s to pick up the new mac\n", who, a->to);
	else
		printf("%s: %s %s -> %s\n", who, action_key_name(a), a->from, a->to);
	fflush(stdout);
}

/* Boot: the PFs' drivers may still be loading. Best effort: apply goes on after. */
static void wait_pfs(const struct policy *p, unsigned long sec)
{
	struct host h = { 0 };
	unsigned ms = 0;
	int r = pfs_wait(p, (unsigned)sec * 1000, &h, &ms);

	if (r == -ETIMEDOUT) {
		for (unsigned k = 0; k < h.n_pf; k++)
			if (pf_awaited(p, &h, k))
				log_warn("vfwarden: %s: %s after %lus, going on without it", h.pf[k].pci,
					 h.pf[k].driver[0] ? "netdev not set up by udev" : "no driver bound", sec);
	} else if (r < 0) {
		log_warn("vfwarden: cannot wait for the PFs: %s", strerror(-r));
	} else if (ms >= 100) {
		log_notice("vfwarden: waited %u.%us for the PFs' drivers", ms / 1000, ms % 1000 / 100);
	}
	host_free(&h);
}

/*
 * The live PF that policy PF i names, in *found: 0; -ENOENT when it is absent
 * (a notice when every PF is wanted) or not wanted; -EEXIST, logged, when
 * it cannot be told apart from another.
 */
static int policy_pf_find(const struct policy *p, unsigned i, const struct host *h, const bool *wanted,
			  bool all, int *found)
{
	const struct pf_policy *pol = &p->pfs[i];
	int dup = -1;

	*found = -1;
	for (unsigned k = 0; k < h->n_pf; k++)
		if (pf_match_policy(&h->pf[k], pol)) {
			if (*found < 0)
				*found = (int)k;
			else
				dup = (int)k;
		}
	if (*found < 0) {
		if (all)
			log_notice("%s: device '%s' not present, skipped", pol->label, pol->device);
		return -ENOENT;
	}
	if (!all && !wanted[*found])
		return -ENOENT;
	if (dup >= 0) {
		log_err("%s: device '%s' matches both %s and %s, left alone", pol->label, pol->device,
			h->pf[*found].pci, h->pf[dup].pci);
		return -EEXIST;
	}
	/* Two [pf] sections naming one PF in different ways. */
	for (unsigned j = 0; j < p->n_pfs; j++)
		if (j != i && pf_match_policy(&h->pf[*found], &p->pfs[j])) {
			log_err("%s: %s is also [pf %s], left alone", pol->label, h->pf[*found].pci,
				p->pfs[j].label);
			return -EEXIST;
		}
	return 0;
}

/* A PF left alone because the policy is ambiguous about it failed too. */
static void record_refused(const struct converge_opts *co, const struct pf_live *pf)
{
	struct apply_log *log = co->ud;
	int r;

	log->pf = (struct last_apply){ .time = log->all.time, .status = EXIT_PARTIAL, .failures = 1 };
	last_apply_count_failure(&log->pf, "ambiguous");
	if (!co->dry_run && (r = last_apply_write_pf(pf->pci, &log->pf)) < 0)
		log_warn("vfwarden: cannot write %s/last-apply.d/%s: %s", roots.run, pf->pci, strerror(-r));
}

/* Converge one PF and record the outcome in last-apply.d/<PCI>: EXIT_OK or EXIT_PARTIAL. */
static int apply_pf(struct nlh *nl, const struct policy *p, unsigned i, struct pf_live *pf,
		    const struct converge_opts *co, unsigned *changes)
{
	const struct pf_policy *pol = &p->pfs[i];
	struct apply_log *log = co->ud;
	struct converge_result res;
	int r, ret = EXIT_OK;

	/* At boot the PF may not be bound yet: udev's bind event brings vfwarden@ back. */
	if (!pf->driver[0]) {
		log_notice("%s: %s has no driver bound yet, skipped", pol->label, pf->pci);
		return EXIT_OK;
	}
	log->pf = (struct last_apply){ .time = log->all.time };
	r = pf_converge(nl, pol, pf, co, &res);
	if (r < 0) {
		log_err("%s: %s", pol->label, strerror(-r));
		last_apply_count_failure(&log->pf, "error");
		log->pf.failures++;
		ret = EXIT_PARTIAL;
	} else {
		if (res.refused) {
			log_err("%s: %s; PF left alone", pol->label, res.why);
			ret = EXIT_PARTIAL;
			last_apply_count_failure(&log->all, "refused");
			last_apply_count_failure(&log->pf, "refused");
		}
		if (res.skipped_in_use)
			log_notice("%s: %u VF%s in use by a VM keep their driver, mac and vlan until released",
				   pol->label, res.skipped_in_use, res.skipped_in_use == 1 ? "" : "s");
		if (res.failures)
			ret = EXIT_PARTIAL;
		*changes += res.changes;
		log->all.failures += res.failures + (res.refused != 0);
		log->pf.failures = res.failures + (res.refused != 0);
		log->pf.changes = res.changes;
	}
	log->pf.status = ret;
	if (!co->dry_run && (r = last_apply_write_pf(pf->pci, &log->pf)) < 0)
		log_warn("vfwarden: cannot write %s/last-apply.d/%s: %s", roots.run, pf->pci, strerror(-r));
	return ret;
}

/* apply's options: -1 to go on, else the exit status to return at once. */
static int parse_opts(int argc, char **argv, struct cli_operands *ops, struct converge_opts *co,
		      unsigned long *lock_timeout, unsigned long *wait_sec)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "lock-timeout", required_argument, NULL, 'L' },
		{ "wait-pfs", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = cli_getopt(argc, argv, "nfh", opts, ops)) != -1) {
		switch (c) {
		case 1:
			break;
		case 'n':
			co->dry_run = true;
			break;
		case 'f':
			co->force = true;
			break;
		case 'L':
			if (parse_uint(optarg, 86400, lock_timeout) < 0) {
				log_err("vfwarden: invalid --lock-timeout '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'W':
			if (parse_uint(optarg, 3600, wait_sec) < 0) {
				log_err("vfwarden: invalid --wait-pfs '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	return -1;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	struct apply_log log = { .all.time = time(NULL) };
	struct last_apply *last = &log.all;
	struct converge_opts co = { .report = report, .ud = &log };
	struct policy p;
	struct host h = { 0 };
	struct nlh *nl = NULL;
	unsigned long lock_timeout = 60, wait_sec = 0;
	unsigned changes = 0;
	struct cli_operands ops = { .v = calloc((size_t)argc + 1, sizeof(char *)) };
	bool *wanted = NULL;
	int r, ret = EXIT_OK, lock_fd = -1;

	if (!ops.v)
		return EXIT_SYSTEM;
	if ((r = parse_opts(argc, argv, &ops, &co, &lock_timeout, &wait_sec)) >= 0) {
		free(ops.v);
		return r;
	}

	/* Validate everything before touching anything. */
	if (cli_load_policy(cli, &p, false) < 0) {
		policy_free(&p);
		free(ops.v);
		log_err("vfwarden: policy invalid, nothing changed");
		last->status = EXIT_POLICY;
		if (!co.dry_run)
			last_apply_write(last);
		return EXIT_POLICY;
	}
	if (wait_sec)
		wait_pfs(&p, wait_sec);
	if (!co.dry_run) {
		r = lock_take(roots.run, (unsigned)lock_timeout * 1000, &lock_fd);
		if (r < 0) {
			if (r == -ETIMEDOUT)
				log_err("vfwarden: another vfwarden holds %s/lock for over %lus, nothing changed",
					roots.run, lock_timeout);
			else
				log_err("vfwarden: cannot take %s/lock: %s", roots.run, strerror(-r));
			ret = EXIT_SYSTEM;
			goto out;
		}
	}
	if ((r = host_scan(&h)) < 0) {
		log_err("vfwarden: cannot read %s/bus/pci/devices: %s", roots.sys, strerror(-r));
		ret = EXIT_SYSTEM;
		goto out;
	}
	if ((r = nlh_open(&nl)) < 0) {
		log_err("vfwarden: cannot open rtnetlink: %s", strerror(-r));
		ret = EXIT_SYSTEM;
		goto out;
	}

	wanted = calloc(h.n_pf + 1, sizeof(*wanted));
	if (!wanted) {
		ret = EXIT_SYSTEM;
		goto out;
	}
	for (int i = 0; i < ops.n; i++) {
		int k = host_find(&h, ops.v[i]);

		if (k < 0) {
			log_err("vfwarden: no SR-IOV PF '%s' on this host", ops.v[i]);
			ret = EXIT_PARTIAL;
			continue;
		}
		wanted[k] = true;
		if (cli_policy_for(&p, &h.pf[k]) < 0)
			log_notice("%s (%s): not in the policy, left alone", h.pf[k].ifname[0] ? h.pf[k].ifname : "-",
				   h.pf[k].pci);
	}

	for (unsigned i = 0; i < p.n_pfs; i++) {
		int found;

		r = policy_pf_find(&p, i, &h, wanted, ops.n == 0, &found);
		if (r == -EEXIST) {
			record_refused(&co, &h.pf[found]);
			ret = EXIT_PARTIAL;
		} else if (r == 0 && apply_pf(nl, &p, i, &h.pf[found], &co, &changes) != EXIT_OK)
			ret = EXIT_PARTIAL;
	}

	if (co.dry_run)
		printf("dry run: %u change%s planned, nothing written\n", changes, changes == 1 ? "" : "s");
	else if (changes == 0 && ret == EXIT_OK)
		printf("no changes: the host matches the policy\n");
	else
		printf("%u change%s made\n", changes, changes == 1 ? "" : "s");
	if (!co.dry_run) {
		last->status = ret;
		last->changes = changes;
		if ((r = last_apply_write(last)) < 0)
			log_warn("vfwarden: cannot write %s/last-apply: %s", roots.run, strerror(-r));
	}
out:
	free(ops.v);
	free(wanted);
	nlh_close(nl);
	host_free(&h);
	policy_free(&p);
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

const struct command cmd_apply = { "apply", "converge the host to the policy", run };
