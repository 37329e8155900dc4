/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lock.h"
#include "match.h"
#include "pfwait.h"
#include "state.h"
#include "virt.h"

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

	if (a->type == ACT_PF_UP || a->type == ACT_AUTOPROBE || a->type == ACT_NUMVFS || a->type == ACT_ESWITCH ||
	    a->type == ACT_PF_MTU)
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

/* Each VF of pf a count change to vfs would take from a domain, into why: how many. */
static unsigned virt_victims(const struct virt_domains *v, const struct pf_live *pf, unsigned vfs,
			     char *why, size_t size)
{
	unsigned n = 0;
	size_t len = 0;

	why[0] = '\0';
	for (unsigned i = 0; i < pf->n_vf && len < size; i++) {
		char doms[256];
		unsigned k;
		int w;

		/* Every VF is destroyed (the count goes through 0); those from vfs on stay away. */
		if ((k = virt_describe(v, pf->vf[i].pci, VIRT_LIVE, false, doms, sizeof(doms))))
			w = snprintf(why + len, size - len, "%svf%u (%s) is in use by domain%s %s", n ? "; " : "",
				     i, pf->vf[i].pci, k == 1 ? "" : "s", doms);
		else if (i >= vfs && (k = virt_describe(v, pf->vf[i].pci, VIRT_DEFINED, false, doms, sizeof(doms))))
			w = snprintf(why + len, size - len, "%svf%u (%s) is referenced by domain%s %s", n ? "; " : "",
				     i, pf->vf[i].pci, k == 1 ? "" : "s", doms);
		else
			continue;
		n++;
		len = w < 0 || (size_t)w >= size - len ? size : len + (size_t)w;
	}
	return n;
}

/*
 * A count change that would take a VF from a domain libvirt knows (running,
 * or defined and needing it at its next start) is refused unless --force,
 * as one that would destroy a VF in use (plan.c). libvirt not running is
 * no refusal; libvirt running but not answering is (fail closed).
 */
static bool virt_refuses(const struct pf_policy *pol, const struct pf_live *pf, bool force)
{
	struct virt_domains v;
	char why[768];
	unsigned n;
	int r;

	if (force || !pf->numvfs || pf->numvfs == pol->vfs)
		return false;
	r = virt_query(&v);
	if (r == -EOPNOTSUPP)
		log_warn("%s: libvirt runs but its library cannot be loaded: domains not checked", pol->label);
	if (r == -ETIMEDOUT || r == -EIO) {
		if (r == -ETIMEDOUT)
			snprintf(v.err, sizeof(v.err), "did not answer within %us", VIRT_TIMEOUT_MS / 1000);
		log_err("%s: libvirt %s%s; cannot tell which domains use its VFs: changing vfs %u -> %u may remove one (--force to do it anyway); PF left alone",
			pol->label, r == -EIO ? "failed: " : "", v.err, pf->numvfs, pol->vfs);
		return true;
	}
	n = r < 0 ? 0 : virt_victims(&v, pf, pol->vfs, why, sizeof(why));
	virt_free(&v);
	if (n)
		log_err("%s: %s; changing vfs %u -> %u would %s (--force to do it anyway); PF left alone",
			pol->label, why, pf->numvfs, pol->vfs, n == 1 ? "remove it" : "remove them");
	return n != 0;
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
	if (virt_refuses(pol, pf, co->force)) {
		ret = EXIT_PARTIAL;
		last_apply_count_failure(&log->all, "refused");
		last_apply_count_failure(&log->pf, "refused");
		log->all.failures++;
		log->pf.failures = 1;
	} else if ((r = pf_converge(nl, pol, pf, co, &res)) < 0) {
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
		if (res.skipped_mtu)
			log_notice("%s: %u VF netdev%s carrying host traffic keep%s mtu (--force to change it)",
				   pol->label, res.skipped_mtu, res.skipped_mtu == 1 ? "" : "s",
				   res.skipped_mtu == 1 ? "s its" : " their");
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

/* Lock, host and rtnetlink: EXIT_OK, or EXIT_SYSTEM (logged) with nothing changed. */
static int take_host(bool dry_run, unsigned long lock_timeout, int *lock_fd, struct host *h, struct nlh **nl)
{
	int r;

	if (!dry_run && (r = lock_take(roots.run, (unsigned)lock_timeout * 1000, lock_fd)) < 0) {
		if (r == -ETIMEDOUT)
			log_err("vfwarden: another vfwarden holds %s/lock for over %lus, nothing changed",
				roots.run, lock_timeout);
		else
			log_err("vfwarden: cannot take %s/lock: %s", roots.run, strerror(-r));
		return EXIT_SYSTEM;
	}
	if ((r = host_scan(h)) < 0) {
		log_err("vfwarden: cannot read %s/bus/pci/devices: %s", roots.sys, strerror(-r));
		return EXIT_SYSTEM;
	}
	if ((r = nlh_open(nl)) < 0) {
		log_err("vfwarden: cannot open rtnetlink: %s", strerror(-r));
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/* The PFs the operands name, in wanted[]: EXIT_OK, or EXIT_PARTIAL when one names none. */
static int want_operands(const struct cli_operands *ops, const struct host *h, const struct match *m,
			 bool *wanted)
{
	int ret = EXIT_OK;

	for (int i = 0; i < ops->n; i++) {
		int k = host_find(h, ops->v[i]);

		if (k < 0) {
			log_err("vfwarden: no SR-IOV PF '%s' on this host", ops->v[i]);
			ret = EXIT_PARTIAL;
			continue;
		}
		wanted[k] = true;
		if (m->by_pf[k].state == MATCH_NONE)
			log_notice("%s (%s): not in the policy, left alone", h->pf[k].ifname[0] ? h->pf[k].ifname : "-",
				   h->pf[k].pci);
	}
	return ret;
}

/*
 * Converge what each [pf] section governs (match.h), or only the PFs the
 * operands name. An ambiguous section's PFs are left alone and recorded as
 * failed. EXIT_OK, EXIT_PARTIAL or EXIT_SYSTEM.
 */
static int apply_sections(struct nlh *nl, const struct policy *p, struct host *h,
			  const struct cli_operands *ops, const struct converge_opts *co, unsigned *changes)
{
	_cleanup_free_ bool *wanted = calloc(h->n_pf + 1, sizeof(bool));
	bool all = ops->n == 0;
	struct match m;
	char why[256];
	int ret;

	if (!wanted || match_build(&m, p, h) < 0)
		return EXIT_SYSTEM;
	ret = want_operands(ops, h, &m, wanted);
	for (unsigned i = 0; i < p->n_pfs; i++) {
		const struct match_entry *e = &m.by_sec[i];

		if (e->state == MATCH_NONE) {
			if (all)
				log_notice("%s: device '%s' not present, skipped", p->pfs[i].label, p->pfs[i].device);
			continue;
		}
		if (!all && !wanted[e->pf[0]] && !(e->pf[1] >= 0 && wanted[e->pf[1]]))
			continue;
		if (e->state == MATCH_AMBIGUOUS) {
			log_err("%s: %s, left alone", p->pfs[i].label, match_why_section(e, p, h, why, sizeof(why)));
			for (unsigned j = 0; j < 2; j++)
				if (e->pf[j] >= 0 && (all || wanted[e->pf[j]]))
					record_refused(co, &h->pf[e->pf[j]]);
			ret = EXIT_PARTIAL;
		} else if (apply_pf(nl, p, i, &h->pf[e->pf[0]], co, changes) != EXIT_OK && ret == EXIT_OK)
			ret = EXIT_PARTIAL;
	}
	match_free(&m);
	return ret;
}

/* The closing line and the run's record. */
static void finish(const struct converge_opts *co, struct last_apply *last, int ret, unsigned changes)
{
	int r;

	if (co->dry_run)
		printf("dry run: %u change%s planned, nothing written\n", changes, changes == 1 ? "" : "s");
	else if (changes == 0 && ret == EXIT_OK)
		printf("no changes: the host matches the policy\n");
	else
		printf("%u change%s made\n", changes, changes == 1 ? "" : "s");
	if (!co->dry_run) {
		last->status = ret;
		last->changes = changes;
		if ((r = last_apply_write(last)) < 0)
			log_warn("vfwarden: cannot write %s/last-apply: %s", roots.run, strerror(-r));
	}
}

static int run(const struct cli *cli, int argc, char **argv)
{
	struct apply_log log = { .all.time = time(NULL) };
	struct converge_opts co = { .report = report, .ud = &log };
	struct policy p;
	struct host h = { 0 };
	struct nlh *nl = NULL;
	unsigned long lock_timeout = 60, wait_sec = 0;
	unsigned changes = 0;
	_cleanup_free_ char **opv = calloc((size_t)argc + 1, sizeof(char *));
	struct cli_operands ops = { .v = opv };
	int ret, lock_fd = -1;

	if (!ops.v)
		return EXIT_SYSTEM;
	if ((ret = parse_opts(argc, argv, &ops, &co, &lock_timeout, &wait_sec)) >= 0)
		return ret;

	/* Validate everything before touching anything. */
	if (cli_load_policy(cli, &p, false) < 0) {
		policy_free(&p);
		log_err("vfwarden: policy invalid, nothing changed");
		log.all.status = EXIT_POLICY;
		if (!co.dry_run)
			last_apply_write(&log.all);
		return EXIT_POLICY;
	}
	if (wait_sec)
		wait_pfs(&p, wait_sec);
	ret = take_host(co.dry_run, lock_timeout, &lock_fd, &h, &nl);
	if (ret == EXIT_OK) {
		ret = apply_sections(nl, &p, &h, &ops, &co, &changes);
		if (ret != EXIT_SYSTEM)
			finish(&co, &log.all, ret, changes);
	}
	nlh_close(nl);
	host_free(&h);
	policy_free(&p);
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

const struct command cmd_apply = { "apply", "converge the host to the policy", run };
