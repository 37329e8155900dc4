/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lock.h"
#include "match.h"
#include "pfwait.h"
#include "state.h"
#include "virt.h"

#define APPLY_SCHEMA "vfwarden-apply/1"

static void help(void)
{
	printf("Usage: vfwarden [-c FILE] apply [--dry-run] [--force] [--json] [--lock-timeout SEC] [--wait-pfs SEC] [PF...]\n\n"
	       "Converge every PF the policy names, or only the PFs given (interface name,\n"
	       "PCI address, sysfs path or permanent MAC), and print one line per change.\n\n"
	       "  -n, --dry-run          print the plan, change nothing\n"
	       "  -f, --force            change the VF count even if a VM uses one of the VFs\n"
	       "      --json             print the result as one JSON document (" APPLY_SCHEMA ")\n"
	       "                         instead of lines; messages stay on stderr\n"
	       "      --lock-timeout SEC wait at most SEC seconds for another vfwarden (default 60)\n"
	       "      --wait-pfs SEC     first wait at most SEC seconds for the drivers of the PFs\n"
	       "                         the policy may name (boot; default 0)\n\n"
	       "Exit status: 0 the host matches the policy; 1 the policy is invalid (nothing\n"
	       "changed); 2 usage; 3 some of the policy could not be applied; 4 system error.\n");
}

/*
 * The run's record and the record of the PF being converged (state.h);
 * with --json, the document the run fills (the lines are not printed).
 */
struct apply_log {
	struct last_apply all, pf;
	json_object *doc, *changes, *failures, *skipped;
	unsigned vfs_kept;
};

static json_object *json_str(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

/* "EOPNOTSUPP" for -EOPNOTSUPP. */
static json_object *json_errno(int err)
{
	const char *n = err < 0 ? strerrorname_np(-err) : NULL;

	return n ? json_object_new_string(n) : err < 0 ? json_object_new_int(-err) : NULL;
}

/* The PF as {label, interface, pci}; pf NULL when it is not on the host. */
static json_object *pf_ref(const char *label, const struct pf_live *pf)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "label", json_str(label));
	json_object_object_add(o, "interface", json_str(pf ? pf->ifname : NULL));
	json_object_object_add(o, "pci", json_str(pf ? pf->pci : NULL));
	return o;
}

static bool pf_level(const struct action *a)
{
	return a->type == ACT_PF_UP || a->type == ACT_AUTOPROBE || a->type == ACT_NUMVFS || a->type == ACT_ESWITCH ||
	       a->type == ACT_PF_MTU;
}

static void step_json(struct apply_log *log, const struct pf_policy *pol, const struct pf_live *pf,
		      const struct converge_step *s, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pf", pf_ref(pol->label, pf));
	json_object_object_add(o, "vf", pf_level(&s->a) ? NULL : json_object_new_int((int)s->a.vf));
	json_object_object_add(o, "key", json_object_new_string(action_key_name(&s->a)));
	if (s->err < 0) {
		json_object_object_add(o, "errno", json_errno(s->err));
		json_object_object_add(o, "message", json_object_new_string(msg));
		json_object_array_add(log->failures, o);
		return;
	}
	json_object_object_add(o, "old", json_object_new_string(s->a.from));
	json_object_object_add(o, "new", json_object_new_string(s->a.to));
	json_object_array_add(log->changes, o);
}

/* One change or failure of pf_converge(): a line (failures on stderr), or into the document. */
static void report(struct apply_log *log, const struct pf_policy *pol, const struct pf_live *pf,
		   const struct converge_step *s)
{
	const struct action *a = &s->a;
	char who[96], e[128];

	if (pf_level(a))
		snprintf(who, sizeof(who), "%s", pol->label);
	else
		snprintf(who, sizeof(who), "%s vf%u", pol->label, a->vf);
	if (s->err < 0) {
		log_err("%s %s: %s", who, action_key_name(a), cli_strerror(s->err, pf, e, sizeof(e)));
		last_apply_count_failure(&log->all, action_key_name(a));
		last_apply_count_failure(&log->pf, action_key_name(a));
	}
	if (log->doc) {
		step_json(log, pol, pf, s, e);
		return;
	}
	if (s->err < 0)
		return;
	if (a->type == ACT_PF_UP)
		printf("%s: link %s -> %s\n", who, a->from, a->to);
	else if (a->type == ACT_VF_REBIND)
		printf("%s: rebind %s to pick up the new mac\n", who, a->to);
	else
		printf("%s: %s %s -> %s\n", who, action_key_name(a), a->from, a->to);
	fflush(stdout);
}

/*
 * A PF (or a section without one on the host) left alone, into the
 * document: why as a word, err and the message as logged. Text mode has
 * logged it already.
 */
static void skip_json(struct apply_log *log, const char *label, const struct pf_live *pf,
		      const char *reason, int err, const char *msg)
{
	json_object *o;

	if (!log->doc)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "pf", pf_ref(label, pf));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "errno", json_errno(err));
	json_object_object_add(o, "message", json_str(msg));
	json_object_array_add(log->skipped, o);
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
static void record_refused(const struct converge_opts *co, const char *label, const struct pf_live *pf,
			   const char *why)
{
	struct apply_log *log = co->ud;
	int r;

	skip_json(log, label, pf, "ambiguous", 0, why);
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
static bool virt_refuses(const struct pf_policy *pol, const struct pf_live *pf, bool force,
			 struct apply_log *log)
{
	struct virt_domains v;
	char why[768], msg[1024];
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
		snprintf(msg, sizeof(msg), "libvirt %s%s; cannot tell which domains use its VFs: changing vfs %u -> %u may remove one (--force to do it anyway); PF left alone",
			 r == -EIO ? "failed: " : "", v.err, pf->numvfs, pol->vfs);
		log_err("%s: %s", pol->label, msg);
		skip_json(log, pol->label, pf, "libvirt", r, msg);
		return true;
	}
	n = r < 0 ? 0 : virt_victims(&v, pf, pol->vfs, why, sizeof(why));
	virt_free(&v);
	if (n) {
		snprintf(msg, sizeof(msg), "%s; changing vfs %u -> %u would %s (--force to do it anyway); PF left alone",
			 why, pf->numvfs, pol->vfs, n == 1 ? "remove it" : "remove them");
		log_err("%s: %s", pol->label, msg);
		skip_json(log, pol->label, pf, "in-use", -EBUSY, msg);
	}
	return n != 0;
}

/* pf_converge()'s outcome for pol's PF, into the log and the run's record: EXIT_OK or EXIT_PARTIAL. */
static int converged(struct apply_log *log, const struct pf_policy *pol, const struct pf_live *pf,
		     struct converge_result *res, unsigned *changes)
{
	int ret = res->failures ? EXIT_PARTIAL : EXIT_OK;

	for (unsigned k = 0; k < res->n_steps; k++)
		report(log, pol, pf, &res->steps[k]);
	if (res->refused) {
		log_err("%s: %s; PF left alone", pol->label, res->why);
		skip_json(log, pol->label, pf, res->refused == -EBUSY ? "in-use" : "refused", res->refused, res->why);
		ret = EXIT_PARTIAL;
		last_apply_count_failure(&log->all, "refused");
		last_apply_count_failure(&log->pf, "refused");
	}
	if (res->skipped_in_use)
		log_notice("%s: %u VF%s in use by a VM keep their driver, mac and vlan until released",
			   pol->label, res->skipped_in_use, res->skipped_in_use == 1 ? "" : "s");
	if (res->skipped_mtu)
		log_notice("%s: %u VF netdev%s carrying host traffic keep%s mtu (--force to change it)",
			   pol->label, res->skipped_mtu, res->skipped_mtu == 1 ? "" : "s",
			   res->skipped_mtu == 1 ? "s its" : " their");
	log->vfs_kept += res->skipped_in_use;
	*changes += res->changes;
	log->all.failures += res->failures + (res->refused != 0);
	log->pf.failures = res->failures + (res->refused != 0);
	log->pf.changes = res->changes;
	return ret;
}

/* Converge one PF and record the outcome in last-apply.d/<PCI>: EXIT_OK or EXIT_PARTIAL. */
static int apply_pf(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf,
		    const struct converge_opts *co, unsigned *changes)
{
	struct apply_log *log = co->ud;
	struct converge_result res = { 0 };
	int r, ret = EXIT_OK;

	if (!pol->manage) {
		/* Set aside by the admin: no write, no last-apply record, no failure. */
		log_notice("%s: manage = no at %s:%u, %s left alone", pol->label, pol->manage_at.file,
			   pol->manage_at.line, pf->pci);
		skip_json(log, pol->label, pf, "unmanaged", 0, "manage = no");
		return EXIT_OK;
	}
	/* At boot the PF may not be bound yet: udev's bind event brings vfwarden@ back. */
	if (!pf->driver[0]) {
		log_notice("%s: %s has no driver bound yet, skipped", pol->label, pf->pci);
		skip_json(log, pol->label, pf, "no-driver", 0, "no driver bound yet");
		return EXIT_OK;
	}
	log->pf = (struct last_apply){ .time = log->all.time };
	if (virt_refuses(pol, pf, co->force, log)) {
		ret = EXIT_PARTIAL;
		last_apply_count_failure(&log->all, "refused");
		last_apply_count_failure(&log->pf, "refused");
		log->all.failures++;
		log->pf.failures = 1;
	} else if ((r = pf_converge(nl, pol, pf, co, &res)) < 0) {
		/* What was done before the error is reported all the same. */
		for (unsigned k = 0; k < res.n_steps; k++)
			report(log, pol, pf, &res.steps[k]);
		log_err("%s: %s", pol->label, strerror(-r));
		skip_json(log, pol->label, pf, "error", r, strerror(-r));
		last_apply_count_failure(&log->pf, "error");
		log->pf.failures++;
		ret = EXIT_PARTIAL;
	} else {
		ret = converged(log, pol, pf, &res, changes);
	}
	converge_result_free(&res);
	log->pf.status = ret;
	if (!co->dry_run && (r = last_apply_write_pf(pf->pci, &log->pf)) < 0)
		log_warn("vfwarden: cannot write %s/last-apply.d/%s: %s", roots.run, pf->pci, strerror(-r));
	return ret;
}

/* apply's options: -1 to go on, else the exit status to return at once. */
static int parse_opts(int argc, char **argv, struct cli_operands *ops, struct converge_opts *co,
		      unsigned long *lock_timeout, unsigned long *wait_sec, bool *json)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
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
		case 'j':
			*json = true;
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
			 bool *wanted, struct apply_log *log)
{
	int ret = EXIT_OK;
	char why[300];

	for (int i = 0; i < ops->n; i++) {
		int k = host_find(h, ops->v[i]);

		if (k < 0) {
			log_err("vfwarden: no SR-IOV PF '%s' on this host", ops->v[i]);
			snprintf(why, sizeof(why), "no SR-IOV PF '%s' on this host", ops->v[i]);
			skip_json(log, NULL, NULL, "not-found", -ENODEV, why);
			ret = EXIT_PARTIAL;
			continue;
		}
		wanted[k] = true;
		if (m->by_pf[k].state == MATCH_NONE) {
			log_notice("%s (%s): not in the policy, left alone", h->pf[k].ifname[0] ? h->pf[k].ifname : "-",
				   h->pf[k].pci);
			skip_json(log, NULL, &h->pf[k], "not-governed", 0, "not in the policy");
		}
	}
	return ret;
}

/*
 * A selector section: converge each PF it governs (wanted, unless all); a
 * PF it and another selector section both select is left alone, recorded
 * as failed, and logged once, at the first of the two.
 */
static int apply_selected(struct nlh *nl, const struct policy *p, struct host *h, const struct match *m,
			  unsigned i, const bool *wanted, const struct converge_opts *co, unsigned *changes)
{
	const struct pf_policy *sec = &p->pfs[i];
	bool all = !wanted;
	char why[256], sel[96];
	int ret = EXIT_OK;

	if (all && m->by_sec[i].state == MATCH_NONE) {
		log_notice("%s: %s matches no PF here that a [pf] with device does not name, skipped", sec->section,
			   pf_select_str(&sec->sel, sel, sizeof(sel)));
		snprintf(why, sizeof(why), "%s matches no PF here", sel);
		skip_json(co->ud, sec->section, NULL, "absent", 0, why);
	}
	for (unsigned k = 0; k < h->n_pf; k++) {
		const struct match_entry *e = &m->by_pf[k];

		if (!e->selected || !match_involves(m, i, k) || !(all || wanted[k]))
			continue;
		if (e->state == MATCH_AMBIGUOUS) {
			if (e->sec[0] != (int)i)
				continue;
			log_err("%s: %s, left alone", sec->section, match_why_pf(e, p, h, why, sizeof(why)));
			record_refused(co, sec->section, &h->pf[k], why);
			ret = EXIT_PARTIAL;
		} else if (apply_pf(nl, match_policy_of(m, p, k), &h->pf[k], co, changes) != EXIT_OK)
			ret = EXIT_PARTIAL;
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
	ret = want_operands(ops, h, &m, wanted, co->ud);
	for (unsigned i = 0; i < p->n_pfs; i++) {
		const struct match_entry *e = &m.by_sec[i];

		if (p->pfs[i].selector) {
			if (apply_selected(nl, p, h, &m, i, all ? NULL : wanted, co, changes) != EXIT_OK && ret == EXIT_OK)
				ret = EXIT_PARTIAL;
			continue;
		}
		if (e->state == MATCH_NONE) {
			if (all) {
				log_notice("%s: device '%s' not present, skipped", p->pfs[i].label, p->pfs[i].device);
				snprintf(why, sizeof(why), "device '%s' not present", p->pfs[i].device);
				skip_json(co->ud, p->pfs[i].label, NULL, "absent", 0, why);
			}
			continue;
		}
		if (!all && !wanted[e->pf[0]] && !(e->pf[1] >= 0 && wanted[e->pf[1]]))
			continue;
		if (e->state == MATCH_AMBIGUOUS) {
			log_err("%s: %s, left alone", p->pfs[i].label, match_why_section(e, p, h, why, sizeof(why)));
			for (unsigned j = 0; j < 2; j++)
				if (e->pf[j] >= 0 && (all || wanted[e->pf[j]]))
					record_refused(co, p->pfs[i].label, &h->pf[e->pf[j]], why);
			ret = EXIT_PARTIAL;
		} else if (apply_pf(nl, &p->pfs[i], &h->pf[e->pf[0]], co, changes) != EXIT_OK && ret == EXIT_OK)
			ret = EXIT_PARTIAL;
	}
	match_free(&m);
	return ret;
}

/* The closing line (text) and the run's record. */
static void finish(const struct converge_opts *co, struct last_apply *last, int ret, unsigned changes)
{
	const struct apply_log *log = co->ud;
	int r;

	if (log->doc)
		; /* the document says it all */
	else if (co->dry_run)
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

static void json_begin(struct apply_log *log)
{
	log->doc = json_object_new_object();
	log->changes = json_object_new_array();
	log->failures = json_object_new_array();
	log->skipped = json_object_new_array();
}

/* The document, whatever the exit status past the options (README, "apply --json"). */
static void json_end(struct apply_log *log, bool dry_run, int ret)
{
	json_object *root = log->doc, *counts = json_object_new_object();

	json_object_object_add(root, "schema", json_object_new_string(APPLY_SCHEMA));
	json_object_object_add(root, "dry_run", json_object_new_boolean(dry_run));
	json_object_object_add(root, "status", json_object_new_int(ret));
	json_object_object_add(root, "policy_valid", json_object_new_boolean(ret != EXIT_POLICY));
	json_object_object_add(root, "changes", log->changes);
	json_object_object_add(root, "failures", log->failures);
	json_object_object_add(root, "skipped", log->skipped);
	json_object_object_add(counts, "changes", json_object_new_int((int)json_object_array_length(log->changes)));
	json_object_object_add(counts, "failures", json_object_new_int((int)json_object_array_length(log->failures)));
	json_object_object_add(counts, "skipped", json_object_new_int((int)json_object_array_length(log->skipped)));
	json_object_object_add(counts, "vfs_kept_in_use", json_object_new_int((int)log->vfs_kept));
	json_object_object_add(root, "counts", counts);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(root);
}

/* Validate the policy, then converge: the exit status. */
static int apply(const struct cli *cli, const struct cli_operands *ops, struct converge_opts *co,
		 unsigned long lock_timeout, unsigned long wait_sec)
{
	struct apply_log *log = co->ud;
	struct policy p;
	struct host h = { 0 };
	struct nlh *nl = NULL;
	unsigned changes = 0;
	int ret, lock_fd = -1;

	/* Validate everything before touching anything. */
	if (cli_load_policy(cli, &p, false) < 0) {
		policy_free(&p);
		log_err("vfwarden: policy invalid, nothing changed");
		log->all.status = EXIT_POLICY;
		if (!co->dry_run)
			last_apply_write(&log->all);
		return EXIT_POLICY;
	}
	if (wait_sec)
		wait_pfs(&p, wait_sec);
	ret = take_host(co->dry_run, lock_timeout, &lock_fd, &h, &nl);
	if (ret == EXIT_OK) {
		ret = apply_sections(nl, &p, &h, ops, co, &changes);
		if (ret != EXIT_SYSTEM)
			finish(co, &log->all, ret, changes);
	}
	nlh_close(nl);
	host_free(&h);
	policy_free(&p);
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	struct apply_log log = { .all.time = time(NULL) };
	struct converge_opts co = { .ud = &log };
	unsigned long lock_timeout = 60, wait_sec = 0;
	_cleanup_free_ char **opv = calloc((size_t)argc + 1, sizeof(char *));
	struct cli_operands ops = { .v = opv };
	bool json = false;
	int ret;

	if (!ops.v)
		return EXIT_SYSTEM;
	if ((ret = parse_opts(argc, argv, &ops, &co, &lock_timeout, &wait_sec, &json)) >= 0)
		return ret;
	if (json)
		json_begin(&log);
	ret = apply(cli, &ops, &co, lock_timeout, wait_sec);
	if (json)
		json_end(&log, co.dry_run, ret);
	return ret;
}

const struct command cmd_apply = { "apply", "converge the host to the policy", run };
