/* SPDX-License-Identifier: MIT */
/*
 * Carry a plan out: VF count first, then each VF's attributes and driver,
 * then the MTUs, re-reading the kernel in between because the VFs only
 * exist after the count is written and a VF's netdev only once its driver
 * is bound.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "converge.h"
#include "devlink.h"
#include "netlink.h"
#include "records.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Drivers answer EBUSY/EAGAIN while a VF is "still in reset": retry, bounded. */
static bool transient(int r)
{
	return r == -EBUSY || r == -EAGAIN;
}

#define RETRY_MS 5000
#define STEP_MS 100

static int write_numvfs(const struct pf_live *pf, unsigned n)
{
	int r;

	for (unsigned t = 0;; t += STEP_MS) {
		r = pf_write_numvfs(pf, n);
		if (!transient(r) || t >= RETRY_MS)
			return r;
		sleep_ms(STEP_MS);
	}
}

/* What this run did to the PF so far, for the waits below. */
struct run_state {
	bool reset;  /* the PF was brought up or its VF count changed: it resets */
	bool waited; /* wait_carrier() ran since */
};

/*
 * Creating VFs resets the igb PF's link, and igb answers EINVAL to a rate
 * until the link is back at 1000 Mb/s: wait for carrier first, bounded.
 * igbvf probed during that reset finds no PF ("PF still in reset state"),
 * takes a random MAC and never gets carrier: a VF driver is (re)bound only
 * once the PF's link is back too.
 */
static void wait_carrier(struct pf_live *pf)
{
	for (unsigned t = 0; t < 10000; t += STEP_MS) {
		if (pf_read_carrier(pf, &pf->carrier) == 0 && pf->carrier)
			return;
		sleep_ms(STEP_MS);
	}
}

static void settle(struct pf_live *pf, struct run_state *st, bool always)
{
	if (st->waited || (!always && !st->reset))
		return;
	wait_carrier(pf);
	st->waited = true;
}

static int set_attr(struct nlh *nl, struct pf_live *pf, const struct action *a, struct run_state *st)
{
	bool rate = a->key == KEY_MAX_TX_RATE || a->key == KEY_MIN_TX_RATE;
	int r;

	if (rate)
		settle(pf, st, true);
	for (unsigned t = 0;; t += STEP_MS) {
		r = nlh_set_vf(nl, pf, a);
		if (!(transient(r) || (rate && r == -EINVAL && t < 3000)) || t >= RETRY_MS)
			return r;
		sleep_ms(STEP_MS);
	}
}

/*
 * vf-driver = kernel, or a rebind. The kernel probes a VF only when its
 * PF's autoprobe is on or its driver_override names a driver, and then only
 * the driver named (drivers/pci/pci-driver.c): with autoprobe on, clearing
 * the override lets the kernel pick the VF's driver by its IDs. With
 * autoprobe off (VFs of the policy on vfio-pci or none) the driver has to
 * be named: the one the VF is bound to (a rebind), else the one the kernel
 * picks in one probe with autoprobe on for a moment. That probe is of this
 * VF only, and the others are kept by their overrides (vfio-pci, none).
 * The name is left in driver_override so that a later probe (igbvf
 * reloaded) binds it again while autoprobe is off.
 */
static int bind_kernel(struct pf_live *pf, const struct vf_live *vf)
{
	char now[32];
	int r, off;

	if (pf->autoprobe != 0)
		return vf_bind(vf, "");
	if (vf->driver[0] && !streq(vf->driver, "vfio-pci"))
		return vf_bind(vf, vf->driver);
	if ((r = pf_write_autoprobe(pf, true)) < 0)
		return r;
	r = vf_bind(vf, "");
	off = pf_write_autoprobe(pf, false);
	if (r < 0 || off < 0)
		return r < 0 ? r : off;
	vf_read_driver(vf, now, sizeof(now));
	/* (A fake tree under test binds nothing: its VF keeps the old link.) */
	return now[0] && !streq(now, "vfio-pci") ? vf_set_override(vf, now) : 0;
}

static int bind_driver(struct pf_live *pf, const struct action *a, struct run_state *st)
{
	const struct vf_live *vf = &pf->vf[a->vf];
	int r;

	if (a->type == ACT_VF_REBIND) {
		settle(pf, st, false);
		return bind_kernel(pf, vf);
	}
	switch (a->u.driver) {
	case VF_DRIVER_VFIO:
		if ((r = vfio_pci_load()) < 0)
			return r;
		return vf_bind(vf, "vfio-pci");
	case VF_DRIVER_KERNEL:
		settle(pf, st, false);
		return bind_kernel(pf, vf);
	case VF_DRIVER_NONE:
		return vf_keep_unbound(vf);
	}
	return -EINVAL;
}

static int run_action(struct nlh *nl, struct pf_live *pf, const struct action *a, struct run_state *st)
{
	int r;

	switch (a->type) {
	case ACT_PF_UP:
		st->reset = true;
		st->waited = false;
		return nlh_set_up(nl, pf);
	case ACT_AUTOPROBE:
		if ((r = pf_write_autoprobe(pf, a->u.autoprobe)) == 0)
			pf->autoprobe = a->u.autoprobe;
		return r;
	case ACT_NUMVFS:
		st->reset = true;
		st->waited = false;
		/* The kernel refuses N -> M with EBUSY: go through 0. */
		if (a->u.numvfs.from && (r = write_numvfs(pf, 0)) < 0)
			return r;
		return a->u.numvfs.to ? write_numvfs(pf, a->u.numvfs.to) : 0;
	case ACT_VF_ATTR:
		return set_attr(nl, pf, a, st);
	case ACT_VF_DRIVER:
	case ACT_VF_REBIND:
		return bind_driver(pf, a, st);
	case ACT_ESWITCH:
		if ((r = devlink_eswitch_set(pf->pci, a->u.eswitch)) == 0)
			pf->eswitch_mode = a->u.eswitch;
		return r;
	case ACT_PF_MTU:
		if ((r = nlh_set_mtu(nl, pf->ifname, a->u.mtu)) < 0)
			return r;
		pf->mtu.mtu = a->u.mtu;
		/*
		 * igb takes a running PF down and up to change its MTU: until
		 * its link is back, igbvf's reset of a VF (which an MTU change
		 * makes) ends in "PF still in reset state". VF writes wait.
		 */
		if (pf->up) {
			st->reset = true;
			st->waited = false;
		}
		return 0;
	case ACT_VF_MTU:
		settle(pf, st, false);
		if ((r = nlh_set_mtu(nl, pf->vf[a->vf].netdev, a->u.mtu)) == 0)
			pf->vf[a->vf].mtu.mtu = a->u.mtu;
		return r;
	}
	return -EINVAL;
}

/* Rates wait for the PF's link and retry EINVAL: they go one by one. */
static bool batchable(const struct action *a)
{
	return a->type == ACT_VF_ATTR && a->key != KEY_MAX_TX_RATE && a->key != KEY_MIN_TX_RATE;
}

/*
 * A run of attribute writes in one request: at thousands of VFs each
 * request costs more than the work in the driver. Returns the length of the
 * run at pl->a[i] (0: nothing to batch) and marks in done[] what took. The
 * kernel applies a batch in order and stops at the first refusal without
 * naming it: then the PF is read again, what took is marked, and the rest
 * goes one by one, so that a refusal names its attribute and nothing is
 * written twice.
 */
static unsigned run_batch(struct nlh *nl, struct pf_live *pf, const struct plan *pl, unsigned i,
			  bool *done)
{
	unsigned n = 0;

	while (i + n < pl->n && n < NLH_BATCH_MAX && batchable(&pl->a[i + n]))
		n++;
	if (n < 2)
		return 0;
	if (nlh_set_vfs(nl, pf, &pl->a[i], n) == 0) {
		for (unsigned k = 0; k < n; k++)
			done[i + k] = true;
		return n;
	}
	if (nlh_read_pf(nl, pf) == 0)
		for (unsigned k = 0; k < n; k++) {
			const struct action *a = &pl->a[i + k];

			done[i + k] = a->vf < pf->n_vf && action_holds(a, &pf->vf[a->vf]);
		}
	return n;
}

/* Room in res->steps for n more, taken before anything is written: no outcome is lost. */
static int reserve_steps(struct converge_result *res, unsigned n)
{
	struct converge_step *s;
	unsigned cap;

	if (res->cap_steps - res->n_steps >= n)
		return 0;
	cap = res->n_steps + n;
	if (!(s = reallocarray(res->steps, cap, sizeof(*s))))
		return -ENOMEM;
	res->steps = s;
	res->cap_steps = cap;
	return 0;
}

void converge_result_free(struct converge_result *res)
{
	free(res->steps);
	res->steps = NULL;
	res->n_steps = res->cap_steps = 0;
}

static int run_plan(struct nlh *nl, struct pf_live *pf, const struct plan *pl,
		    const struct converge_opts *o, struct converge_result *res, bool *count_failed)
{
	struct run_state st = { 0 };
	unsigned batch_end = 0;
	bool *done = NULL;

	if (reserve_steps(res, pl->n) < 0)
		return -ENOMEM;
	/* Without memory for done[], every action simply goes on its own. */
	if (!o->dry_run && pl->n > 1)
		done = calloc(pl->n, sizeof(*done));
	for (unsigned i = 0; i < pl->n; i++) {
		const struct action *a = &pl->a[i];
		int r;

		if (done && i >= batch_end)
			batch_end = i + run_batch(nl, pf, pl, i, done);
		if (o->dry_run || (done && done[i]))
			r = 0;
		else
			r = run_action(nl, pf, a, &st);

		/*
		 * A refused eswitch-mode does not stop the PF: its VFs are
		 * created again as they were, in the mode it kept.
		 */
		if (r < 0) {
			res->failures++;
			if (a->type == ACT_NUMVFS || a->type == ACT_AUTOPROBE || a->type == ACT_PF_UP)
				*count_failed = a->type == ACT_NUMVFS;
		} else
			res->changes++;
		res->steps[res->n_steps++] = (struct converge_step){ .a = *a, .err = r };
		if (*count_failed)
			break;
	}
	free(done);
	return 0;
}

/* What a dry run assumes the VFs look like right after they are created. */
static int simulate_new_vfs(struct pf_live *pf, unsigned n)
{
	free(pf->vf);
	pf->vf = NULL;
	pf->n_vf = pf->numvfs = n;
	if (!n)
		return 0;
	pf->vf = calloc(n, sizeof(*pf->vf));
	if (!pf->vf)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		pf->vf[i].idx = i;
		pf->vf[i].iommu_group = -1;
		pf->vf[i].spoofchk = pf->vf[i].trust = pf->vf[i].query_rss = pf->vf[i].link_state = -1;
		snprintf(pf->vf[i].pci, sizeof(pf->vf[i].pci), "new");
	}
	return 0;
}

/*
 * One VF for a VM: the caller has read users and decided the VF is free or
 * its domain's; the domain's own settings (or at release the policy's)
 * replace the policy's for this VF, and its being in use does not hold
 * them back (plan_opts.for_domain).
 */
static int vf_converge(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf,
		       const struct converge_opts *o, struct converge_result *res)
{
	struct pf_policy one = *pol;
	struct plan_opts po = { .for_domain = true, .domain_vf = o->vf };
	struct plan pl = { 0 }, mine = { 0 };
	bool count_failed = false;
	int r;

	if (o->vf >= pol->vfs || o->vf >= pf->n_vf)
		return -ENOENT;
	if (pf->ifname[0] && (r = nlh_read_pf(nl, pf)) < 0)
		return r;
	one.vf = calloc(pol->vfs, sizeof(*one.vf));
	if (!one.vf)
		return -ENOMEM;
	memcpy(one.vf, pol->vf, pol->vfs * sizeof(*one.vf));
	if (o->conf)
		one.vf[o->vf] = *o->conf;
	r = plan_pf_vfs_opts(&one, pf, &po, &pl);
	if (r == 0) {
		mine.a = pl.a;
		for (unsigned i = 0; i < pl.n; i++)
			if (pl.a[i].vf == o->vf)
				pl.a[mine.n++] = pl.a[i];
		r = run_plan(nl, pf, &mine, o, res, &count_failed);
	}
	plan_free(&pl);
	free(one.vf);
	return r;
}

/*
 * A VF on its kernel driver (igbvf, iavf, ...) that carries host traffic:
 * its netdev is a port of a bridge, bond, team or OVS, or is up with an
 * address of global scope. Read only before a count change, which would
 * destroy it; the address dump is made once per handle.
 */
static int scan_host_use(struct nlh *nl, struct pf_live *pf)
{
	for (unsigned i = 0; i < pf->n_vf; i++) {
		struct vf_live *vf = &pf->vf[i];
		char what[64];
		int r;

		vf->host_use[0] = '\0';
		if (!vf->netdev[0])
			continue;
		if (netdev_read_master(vf->netdev, what, sizeof(what)) == 0) {
			snprintf(vf->host_use, sizeof(vf->host_use), "%.15s is a port of %.40s",
				 vf->netdev, what);
			continue;
		}
		/* Flags that cannot be read count as up: the address decides. */
		if (netdev_is_up(vf->netdev) == 0)
			continue;
		if ((r = nlh_global_addr(nl, vf->netdev, what, sizeof(what))) < 0)
			return r;
		if (r)
			snprintf(vf->host_use, sizeof(vf->host_use), "%.15s has address %.50s",
				 vf->netdev, what);
	}
	return 0;
}

/* The MTU of each VF netdev that takes the policy's and was not read yet: only where the policy sets mtu. */
static int read_vf_mtus(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf)
{
	int r;

	for (unsigned i = 0; pol->mtu && i < pf->n_vf; i++)
		if (vf_takes_mtu(pol, pf, i) && !pf->vf[i].mtu.mtu &&
		    (r = nlh_read_mtu(nl, pf->vf[i].netdev, &pf->vf[i].mtu)) < 0)
			return r;
	return 0;
}

/*
 * Phase 3, the MTUs, after the VF drivers: a VF bound to its kernel driver
 * or rebound in phase 2 has a new netdev at its driver's default MTU, so
 * the VFs are read again then (rescan).
 */
static int converge_mtu(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf,
			const struct converge_opts *o, bool rescan, struct converge_result *res)
{
	struct plan_opts po = { .force = o->force };
	struct plan pl = { 0 };
	bool count_failed = false, differs = false;
	int r;

	if (!pol->mtu)
		return 0;
	if (rescan && !o->dry_run && ((r = pf_scan(pf)) < 0 || (r = nlh_read_pf(nl, pf)) < 0))
		return r;
	if ((r = read_vf_mtus(nl, pol, pf)) < 0)
		return r;
	for (unsigned i = 0; i < pf->n_vf; i++)
		differs |= vf_takes_mtu(pol, pf, i) && pf->vf[i].mtu.mtu != pol->mtu;
	if (differs && !o->force && (r = scan_host_use(nl, pf)) < 0)
		return r;
	if ((r = plan_pf_mtu(pol, pf, &po, &pl)) < 0)
		goto out;
	res->skipped_mtu = pl.skipped_mtu;
	if (pl.refused) {
		res->refused = pl.refused;
		memcpy(res->why, pl.why, sizeof(res->why));
	} else
		r = run_plan(nl, pf, &pl, o, res, &count_failed);
out:
	plan_free(&pl);
	return r;
}

/*
 * The live eswitch mode, read only where the policy sets one (an unset
 * eswitch-mode never reaches devlink): 1 with res->refused when it cannot
 * be read, as nothing can be planned around it.
 */
static int read_eswitch(const struct pf_policy *pol, struct pf_live *pf, struct converge_result *res)
{
	int r;

	pf->eswitch_mode = ESWITCH_UNSET;
	if (pol->eswitch_mode == ESWITCH_UNSET)
		return 0;
	if ((r = devlink_eswitch_get(pf->pci, &pf->eswitch_mode)) == 0)
		return 0;
	res->refused = r;
	snprintf(res->why, sizeof(res->why), "cannot read the eswitch mode of %s through devlink: %s%s",
		 pf->pci, strerror(-r), r == -EOPNOTSUPP ? " (its driver has no switchdev mode)" : "");
	return 1;
}

/*
 * The hook's records, and the processes that hold a VF open only where a
 * stale record is to go: a held VF keeps its record (pf_scan_holders()).
 * *holders says whether those processes were read.
 */
static int read_records(struct pf_live *pf, const struct converge_opts *o, bool *holders)
{
	bool stale = false;
	int r;

	pf_scan_records(pf);
	for (unsigned i = 0; i < pf->n_vf; i++)
		stale |= pf->vf[i].stale_record;
	if (stale && (r = pf_scan_holders(pf)) < 0)
		return r;
	*holders = stale;
	/* A stale or reset-pending record: the domain is gone, the VF gets the policy. */
	for (unsigned i = 0; i < pf->n_vf && !o->dry_run; i++)
		if (pf->vf[i].stale_record && record_remove(pf->vf[i].pci) == 0)
			pf->vf[i].owner[0] = '\0';
	return 0;
}

/*
 * Whether a process that holds a VF open could change pl: only a plan that
 * destroys VFs (a count change), refuses the PF for one in use, or changes
 * what a VM may have set (a VF's driver, mac, vlan) asks who holds a VF
 * (plan.c). Holders only take actions away, so a plan without any of these
 * is the same with them.
 */
static bool plan_needs_holders(const struct plan *pl)
{
	if (pl->refused == -EBUSY)
		return true;
	for (unsigned i = 0; i < pl->n; i++) {
		const struct action *a = &pl->a[i];

		if (a->type == ACT_NUMVFS || a->type == ACT_VF_DRIVER || a->type == ACT_VF_REBIND ||
		    (a->type == ACT_VF_ATTR && vf_keys[a->key].vm_sets))
			return true;
	}
	return false;
}

/*
 * Phase 1 (count) or 2 (VFs) of pol into pl. The walk of /proc/PID/fd for
 * VF holders costs more than the rest of a no-op apply: it is made only
 * when the plan needs it, and the plan is then made again with it. It is
 * read right before the plan's writes, later than it used to be (before
 * the PF was read), never earlier.
 */
static int plan_phase(int phase, const struct pf_policy *pol, struct pf_live *pf,
		      const struct plan_opts *po, bool *holders, struct plan *pl)
{
	int r;

	for (;;) {
		r = phase == 1 ? plan_pf_count(pol, pf, po, pl) : plan_pf_vfs(pol, pf, pl);
		if (r < 0 || *holders || !plan_needs_holders(pl))
			return r;
		plan_free(pl);
		if ((r = pf_scan_holders(pf)) < 0)
			return r;
		*holders = true;
	}
}

int pf_converge(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf,
		const struct converge_opts *o, struct converge_result *res)
{
	struct plan_opts po = { .force = o->force };
	struct plan pl = { 0 };
	struct pf_policy eff = *pol;
	bool count_failed = false, count_changed = false, holders, rebound = false;
	int r;

	memset(res, 0, sizeof(*res));
	/* manage = no: callers skip the PF with their own message; never write to it. */
	if (!pol->manage)
		return -EPERM;
	if (o->one_vf)
		return vf_converge(nl, pol, pf, o, res);
	if ((r = read_records(pf, o, &holders)) < 0)
		return r;
	if ((pf->ifname[0] && (r = nlh_read_pf(nl, pf)) < 0) || (r = read_vf_mtus(nl, pol, pf)) < 0)
		return r;
	if ((r = read_eswitch(pol, pf, res)) != 0)
		return r < 0 ? r : 0;
	if ((pf->numvfs != pol->vfs || pf->eswitch_mode != pol->eswitch_mode) && !o->force &&
	    (r = scan_host_use(nl, pf)) < 0)
		return r;

	if ((r = plan_phase(1, pol, pf, &po, &holders, &pl)) < 0)
		goto out;
	if (pl.refused) {
		res->refused = pl.refused;
		memcpy(res->why, pl.why, sizeof(res->why));
		goto out;
	}
	for (unsigned i = 0; i < pl.n; i++)
		count_changed |= pl.a[i].type == ACT_NUMVFS;
	if ((r = run_plan(nl, pf, &pl, o, res, &count_failed)) < 0 || count_failed)
		goto out;

	if (count_changed) {
		/* New VFs: no record names them and no VM has had them yet. */
		holders = true;
		if (o->dry_run)
			r = simulate_new_vfs(pf, pol->vfs);
		else if ((r = pf_scan(pf)) == 0 && pf->ifname[0])
			r = nlh_read_pf(nl, pf);
		if (r < 0)
			goto out;
	}
	if (!pf->ifname[0] && pol->vfs) {
		res->refused = -ENODEV;
		snprintf(res->why, sizeof(res->why), "%s has no network interface: VF settings need one",
			 pf->pci);
		goto out;
	}

	plan_free(&pl);
	/* A running domain's settings are its VFs' wanted state (records.h). */
	if ((r = records_overlay(pol, pf, &eff)) < 0)
		goto out;
	if ((r = plan_phase(2, &eff, pf, NULL, &holders, &pl)) < 0)
		goto out;
	res->skipped_in_use = pl.skipped_in_use;
	r = run_plan(nl, pf, &pl, o, res, &count_failed);
	for (unsigned i = 0; i < pl.n; i++)
		rebound |= pl.a[i].type == ACT_VF_DRIVER || pl.a[i].type == ACT_VF_REBIND;
	if (r == 0)
		r = converge_mtu(nl, pol, pf, o, rebound, res);
out:
	records_overlay_free(pol, &eff);
	plan_free(&pl);
	return r;
}
