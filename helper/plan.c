/* SPDX-License-Identifier: MIT */
/*
 * The planner: a pure function from (policy, live state) to the list of
 * changes that make the live state match. No I/O here, so the unit tests can
 * feed it any state and --dry-run is the same code as apply.
 */
#include <errno.h>
#include <string.h>

#include "plan.h"

void plan_free(struct plan *pl)
{
	free(pl->a);
	memset(pl, 0, sizeof(*pl));
}

static struct action *plan_add(struct plan *pl, enum act_type t, unsigned vf)
{
	struct action *a;

	if (pl->n == pl->cap) {
		unsigned cap = pl->cap ? pl->cap * 2 : 16;
		struct action *n = realloc(pl->a, cap * sizeof(*n));

		if (!n)
			return NULL;
		pl->a = n;
		pl->cap = cap;
	}
	a = &pl->a[pl->n++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	a->vf = vf;
	return a;
}

const char *action_key_name(const struct action *a)
{
	switch (a->type) {
	case ACT_PF_UP: return "pf-up";
	case ACT_AUTOPROBE: return "sriov_drivers_autoprobe";
	case ACT_NUMVFS: return "vfs";
	case ACT_VF_DRIVER: return "vf-driver";
	case ACT_VF_REBIND: return "rebind";
	case ACT_ESWITCH: return "eswitch-mode";
	case ACT_PF_MTU:
	case ACT_VF_MTU: return "mtu";
	case ACT_VF_ATTR:
		/* A refused 802.1ad tag is the protocol's fault, not the VLAN's. */
		if (a->key == KEY_VLAN && a->u.attr.vlan_proto == ETH_P_8021AD_)
			return "vlan-proto";
		return vf_key_name(a->key);
	}
	return "?";
}

static bool all_kernel(const struct pf_policy *pol)
{
	for (unsigned i = 0; i < pol->vfs; i++)
		if (pol->vf[i].driver != VF_DRIVER_KERNEL)
			return false;
	return true;
}

/* Refuses pl when change (which destroys every VF) would destroy a VF in use. */
static bool refuse_in_use(const struct pf_live *live, const struct plan_opts *o, const char *change,
			  struct plan *pl)
{
	for (unsigned i = 0; i < live->n_vf; i++) {
		const struct vf_live *vf = &live->vf[i];

		if ((!vf->in_use && !vf->host_use[0]) || (o && o->force))
			continue;
		pl->refused = -EBUSY;
		if (vf->in_use)
			snprintf(pl->why, sizeof(pl->why),
				 "vf%u (%s) is in use by %s; changing %s would destroy it (--force to do it anyway)",
				 i, vf->pci, vf->owner[0] ? vf->owner : "a running VM", change);
		else
			snprintf(pl->why, sizeof(pl->why),
				 "vf%u (%s) is in use: %s; changing %s would destroy it (--force to do it anyway)",
				 i, vf->pci, vf->host_use, change);
		pl->n = 0;
		return true;
	}
	return false;
}

static struct action *plan_numvfs(struct plan *pl, unsigned from, unsigned to)
{
	struct action *a = plan_add(pl, ACT_NUMVFS, 0);

	if (a) {
		a->u.numvfs.from = from;
		a->u.numvfs.to = to;
		snprintf(a->from, sizeof(a->from), "%u", from);
		snprintf(a->to, sizeof(a->to), "%u", to);
	}
	return a;
}

/* Whether the PF's driver takes a mode change only without VFs, now (eswitch.c). */
static bool eswitch_needs_no_vfs(const struct pf_live *live)
{
	switch (eswitch_order_of(live->driver)) {
	case ESWITCH_ANY_TIME:
		return false;
	case ESWITCH_VFS_UNBOUND:
		for (unsigned i = 0; i < live->n_vf; i++)
			if (live->vf[i].driver[0])
				return true;
		return false;
	case ESWITCH_NO_VFS:
		return live->numvfs > 0;
	}
	return true;
}

/*
 * eswitch-mode, before the VF count: 0 when the mode holds or is set in
 * place (the count follows as usual), 1 when the count is planned here
 * (VFs to 0, the mode, VFs back) or the PF is refused, -ENOMEM.
 */
static int plan_eswitch(const struct pf_policy *pol, const struct pf_live *live,
			const struct plan_opts *o, struct plan *pl)
{
	char change[64];
	struct action *a;
	bool no_vfs;

	if (pol->eswitch_mode == ESWITCH_UNSET || live->eswitch_mode == pol->eswitch_mode)
		return 0;
	if (live->eswitch_mode == ESWITCH_UNSET) {
		pl->refused = -EOPNOTSUPP;
		snprintf(pl->why, sizeof(pl->why), "the eswitch mode of %s is not known (devlink)", live->pci);
		pl->n = 0;
		return 1;
	}
	no_vfs = eswitch_needs_no_vfs(live);
	snprintf(change, sizeof(change), "eswitch-mode %s -> %s", eswitch_mode_name(live->eswitch_mode),
		 eswitch_mode_name(pol->eswitch_mode));
	if (no_vfs && refuse_in_use(live, o, change, pl))
		return 1;
	if (no_vfs && !plan_numvfs(pl, live->numvfs, 0))
		return -ENOMEM;
	if (!(a = plan_add(pl, ACT_ESWITCH, 0)))
		return -ENOMEM;
	a->u.eswitch = pol->eswitch_mode;
	snprintf(a->from, sizeof(a->from), "%s", eswitch_mode_name(live->eswitch_mode));
	snprintf(a->to, sizeof(a->to), "%s", eswitch_mode_name(pol->eswitch_mode));
	if (!no_vfs)
		return 0;
	if (pol->vfs && !plan_numvfs(pl, 0, pol->vfs))
		return -ENOMEM;
	return 1;
}

bool vf_takes_mtu(const struct pf_policy *pol, const struct pf_live *live, unsigned idx)
{
	const struct vf_live *l = &live->vf[idx];

	return pol->mtu && idx < pol->vfs && idx < live->n_vf && pol->vf[idx].driver == VF_DRIVER_KERNEL &&
	       l->netdev[0] && l->driver[0] && !streq(l->driver, "vfio-pci");
}

/* Refuses pl when netdev's range (read, m->mtu set) does not take mtu. */
static bool mtu_out_of_range(unsigned mtu, const char *netdev, const struct link_mtu *m, struct plan *pl)
{
	if (!m->mtu || (mtu >= m->min && (!m->max || mtu <= m->max)))
		return false;
	pl->refused = -ERANGE;
	if (mtu < m->min)
		snprintf(pl->why, sizeof(pl->why), "mtu %u is below the minimum %u of %s", mtu, m->min, netdev);
	else
		snprintf(pl->why, sizeof(pl->why), "mtu %u is above the maximum %u of %s", mtu, m->max, netdev);
	pl->n = 0;
	return true;
}

/* The policy's mtu against the kernel's range of every netdev it would go to. */
static bool mtu_refused(const struct pf_policy *pol, const struct pf_live *live, struct plan *pl)
{
	if (!pol->mtu)
		return false;
	if (!live->ifname[0]) {
		pl->refused = -ENODEV;
		snprintf(pl->why, sizeof(pl->why), "%s has no network interface: mtu needs one", live->pci);
		pl->n = 0;
		return true;
	}
	if (mtu_out_of_range(pol->mtu, live->ifname, &live->mtu, pl))
		return true;
	for (unsigned i = 0; i < live->n_vf; i++)
		if (vf_takes_mtu(pol, live, i) && mtu_out_of_range(pol->mtu, live->vf[i].netdev, &live->vf[i].mtu, pl))
			return true;
	return false;
}

static bool plan_mtu(struct plan *pl, enum act_type t, unsigned vf, unsigned from, unsigned to)
{
	struct action *a = plan_add(pl, t, vf);

	if (a) {
		a->u.mtu = to;
		snprintf(a->from, sizeof(a->from), "%u", from);
		snprintf(a->to, sizeof(a->to), "%u", to);
	}
	return a;
}

int plan_pf_mtu(const struct pf_policy *pol, const struct pf_live *live, const struct plan_opts *o,
		struct plan *pl)
{
	unsigned pf_mtu = live->mtu.mtu;
	/*
	 * Many drivers cap a VF's MTU at its PF's (ixgbe checks a VF's
	 * frame size against the PF's; iavf's limit comes from its PF):
	 * the PF's MTU goes up before its VFs' and comes down after them,
	 * so that no VF is ever asked for more than its PF has. igb does
	 * not need it; the order costs it nothing.
	 */
	bool raise = pf_mtu && pol->mtu > pf_mtu;

	if (!pol->mtu || mtu_refused(pol, live, pl))
		return 0;
	if (raise && !plan_mtu(pl, ACT_PF_MTU, 0, pf_mtu, pol->mtu))
		return -ENOMEM;
	for (unsigned i = 0; i < live->n_vf; i++) {
		const struct vf_live *l = &live->vf[i];

		if (!vf_takes_mtu(pol, live, i) || !l->mtu.mtu || l->mtu.mtu == pol->mtu)
			continue;
		/*
		 * A VF netdev carrying host traffic (up with a global address, or
		 * a port of a bridge or bond: the in-use rules of a count change)
		 * keeps its MTU unless --force: igbvf and iavf reset the VF to
		 * change it, which drops its link, and a smaller MTU breaks the
		 * host's traffic through it. The PF's own MTU is the admin's
		 * setting of the PF and is written (its VFs see a link reset).
		 */
		if ((l->in_use || l->host_use[0]) && !(o && o->force)) {
			pl->skipped_mtu++;
			continue;
		}
		if (!plan_mtu(pl, ACT_VF_MTU, i, l->mtu.mtu, pol->mtu))
			return -ENOMEM;
	}
	if (!raise && pf_mtu && pf_mtu != pol->mtu && !plan_mtu(pl, ACT_PF_MTU, 0, pf_mtu, pol->mtu))
		return -ENOMEM;
	return 0;
}

int plan_pf_count(const struct pf_policy *pol, const struct pf_live *live,
		  const struct plan_opts *o, struct plan *pl)
{
	char change[64];
	struct action *a;
	int r;

	/* Before any write: an mtu no netdev takes refuses the PF. */
	if (mtu_refused(pol, live, pl))
		return 0;

	if (pol->vfs > live->totalvfs) {
		pl->refused = -ERANGE;
		snprintf(pl->why, sizeof(pl->why), "vfs %u is above sriov_totalvfs %u of %s", pol->vfs,
			 live->totalvfs, live->pci);
		return 0;
	}
	if (!live->driver[0] && (pol->vfs || live->numvfs)) {
		pl->refused = -ENODEV;
		snprintf(pl->why, sizeof(pl->why), "no driver is bound to %s", live->pci);
		return 0;
	}
	if (pol->pf_up && pol->vfs && live->ifname[0] && !live->up) {
		if (!(a = plan_add(pl, ACT_PF_UP, 0)))
			return -ENOMEM;
		strcpy(a->from, "down");
		strcpy(a->to, "up");
	}
	/*
	 * With autoprobe 0 the kernel binds no VF by itself (none are created
	 * with a host netdev for a moment before they go to vfio-pci, and a VF
	 * on none stays unbound); 1 only when every VF is on the kernel driver.
	 * Set whether or not the count changes: a vf-driver change alone
	 * needs it too.
	 */
	if (pol->vfs && live->autoprobe >= 0 && live->autoprobe != (int)all_kernel(pol)) {
		if (!(a = plan_add(pl, ACT_AUTOPROBE, 0)))
			return -ENOMEM;
		a->u.autoprobe = all_kernel(pol);
		snprintf(a->from, sizeof(a->from), "%d", live->autoprobe);
		snprintf(a->to, sizeof(a->to), "%d", a->u.autoprobe);
	}
	if ((r = plan_eswitch(pol, live, o, pl)) != 0)
		return r < 0 ? r : 0;
	if (live->numvfs == pol->vfs)
		return 0;
	/* Any change of count goes through 0 and so destroys every VF. */
	snprintf(change, sizeof(change), "vfs %u -> %u", live->numvfs, pol->vfs);
	if (refuse_in_use(live, o, change, pl))
		return 0;
	return plan_numvfs(pl, live->numvfs, pol->vfs) ? 0 : -ENOMEM;
}

void vf_wanted(const struct pf_policy *pol, const struct pf_live *live, unsigned idx,
	       struct vf_live *want)
{
	const struct vf_conf *c = &pol->vf[idx];
	const struct vf_live *l = idx < live->n_vf ? &live->vf[idx] : NULL;

	memset(want, 0, sizeof(*want));
	want->idx = idx;
	want->iommu_group = -1;
	want->attrs = c->attrs;
	if (!vf_conf_mac(c, live->perm_mac, idx, want->mac))
		memcpy(want->mac, l ? l->mac : (const uint8_t[MAC_LEN]){ 0 }, MAC_LEN);
	/* The kernel takes a priority only with a VLAN. */
	if (!want->vlan)
		want->qos = 0;
	/* Not snprintf(): this runs for every VF, 4096 on a PF (issue 18 item 7). */
	memcpy(want->driver, vf_driver_name(c->driver),
	       strnlen(vf_driver_name(c->driver), sizeof(want->driver) - 1));
}

static bool driver_ok(enum vf_driver d, const struct vf_live *l)
{
	if (l->no_device)
		return true;
	switch (d) {
	case VF_DRIVER_VFIO:
		return streq(l->driver, "vfio-pci");
	case VF_DRIVER_KERNEL:
		/* An override naming another driver would take the VF at its next probe. */
		return l->driver[0] && !streq(l->driver, "vfio-pci") &&
		       (!l->override[0] || streq(l->override, l->driver));
	case VF_DRIVER_NONE:
		/* Without an override, autoprobe 0 (which none implies) keeps it unbound. */
		return !l->driver[0] && (!l->override[0] || streq(l->override, VF_OVERRIDE_NONE));
	}
	return false;
}

/* Whether key k of live differs from want; an optional one the driver does not report (-1) only when asked for non-default. */
static bool attr_differs(enum vf_key k, const struct vf_live *want, const struct vf_live *live)
{
	const struct vf_key_info *ki = &vf_keys[k];

	if (ki->kind == VK_MAC || !ki->optional || vf_attr_get(k, &live->attrs) >= 0)
		return !vf_attr_eq(k, &want->attrs, &live->attrs);
	return vf_attr_get(k, &want->attrs) != ki->dflt;
}

uint32_t vf_drift(const struct pf_policy *pol, const struct vf_live *want,
		  const struct vf_live *live)
{
	const struct vf_conf *c = &pol->vf[want->idx];
	uint32_t d = 0;

	if (!driver_ok(c->driver, live))
		d |= 1u << KEY_VF_DRIVER;
	/* Unknown attributes all count; the driver is known from sysfs, and mac = none leaves it. */
	if (!live->nl_valid) {
		d |= ((1u << _KEY_VF_MAX) - 1) & ~(1u << KEY_VF_DRIVER);
		if (c->mac_mode == MAC_NONE)
			d &= ~(1u << KEY_MAC);
		return d;
	}
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		const struct vf_key_info *ki = &vf_keys[k];

		if (!ki->ifla || (ki->needs_vlan && !want->vlan) || (ki->kind == VK_MAC && c->mac_mode == MAC_NONE))
			continue;
		if (attr_differs((enum vf_key)k, want, live))
			d |= 1u << ki->drift_as;
	}
	return d;
}

static int plan_attr(struct plan *pl, const struct vf_live *want, const struct vf_live *l,
		     enum vf_key key)
{
	const struct vf_key_info *ki = &vf_keys[key];
	struct action *a;
	struct vf_attrs none = { 0 };

	if (!ki->ifla || ki->written_by != key)
		return -EINVAL;
	if (!(a = plan_add(pl, ACT_VF_ATTR, want->idx)))
		return -ENOMEM;
	a->key = key;
	a->u.attr = want->attrs;
	if (ki->others_live)
		for (int k = 0; k < _KEY_VF_MAX; k++)
			if (k != (int)key && vf_key_same_ifla(key, (enum vf_key)k))
				vf_attr_copy((enum vf_key)k, &a->u.attr, l->nl_valid ? &l->attrs : &none);
	if (ki->format) {
		ki->format(&l->attrs, a->from, sizeof(a->from));
		ki->format(&want->attrs, a->to, sizeof(a->to));
	} else {
		vf_attr_str(key, &l->attrs, a->from, sizeof(a->from));
		vf_attr_str(key, &want->attrs, a->to, sizeof(a->to));
	}
	if (!l->nl_valid)
		strcpy(a->from, "-");
	return 0;
}

bool action_holds(const struct action *a, const struct vf_live *l)
{
	if (a->type != ACT_VF_ATTR || !l->nl_valid || !vf_keys[a->key].ifla)
		return false;
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (vf_key_same_ifla(a->key, (enum vf_key)k) && !vf_attr_eq((enum vf_key)k, &a->u.attr, &l->attrs))
			return false;
	return true;
}

/* The VF's driver when it drifted, or a rebind that shows a new MAC. */
static int plan_driver(struct plan *pl, const struct vf_conf *c, const struct vf_live *l,
		       const struct vf_live *want, uint32_t d)
{
	const char *drv = l->driver[0] ? l->driver : "none";
	struct action *a;

	if (d & (1u << KEY_VF_DRIVER)) {
		if (!(a = plan_add(pl, ACT_VF_DRIVER, want->idx)))
			return -ENOMEM;
		a->u.driver = c->driver;
		/* An override that decides the next probe is part of what is there now. */
		if (l->override[0] && !streq(l->override, l->driver) &&
		    !(!l->driver[0] && streq(l->override, VF_OVERRIDE_NONE)))
			snprintf(a->from, sizeof(a->from), "%.15s (override %.12s)", drv, l->override);
		else
			snprintf(a->from, sizeof(a->from), "%s", drv);
		snprintf(a->to, sizeof(a->to), "%s", want->driver);
	} else if ((d & (1u << KEY_MAC)) && c->driver == VF_DRIVER_KERNEL && l->driver[0]) {
		/* igbvf reads its MAC at probe only: rebind so the netdev shows the new one. */
		if (!(a = plan_add(pl, ACT_VF_REBIND, want->idx)))
			return -ENOMEM;
		snprintf(a->from, sizeof(a->from), "%s", l->driver);
		snprintf(a->to, sizeof(a->to), "%s", l->driver);
	}
	return 0;
}

int plan_pf_vfs(const struct pf_policy *pol, const struct pf_live *live, struct plan *pl)
{
	return plan_pf_vfs_opts(pol, live, NULL, pl);
}

int plan_pf_vfs_opts(const struct pf_policy *pol, const struct pf_live *live,
		     const struct plan_opts *o, struct plan *pl)
{
	unsigned n = pol->vfs < live->n_vf ? pol->vfs : live->n_vf;
	uint32_t vm_sets = 0;

	for (int k = 0; k < _KEY_VF_MAX; k++)
		vm_sets |= vf_keys[k].vm_sets ? 1u << k : 0;
	for (unsigned i = 0; i < n; i++) {
		const struct vf_live *l = &live->vf[i];
		struct vf_live want;
		uint32_t d;
		int r;

		if (!l->pci[0] && !l->no_device)
			continue;
		vf_wanted(pol, live, i, &want);
		if (!(d = vf_drift(pol, &want, l)))
			continue;
		/* A key another key's action writes (vlan-proto: vlan's) drifts as that one. */
		for (int k = 0; k < _KEY_VF_MAX; k++)
			if (d & (1u << k))
				d |= 1u << vf_keys[k].written_by;
		/* A VM holds it: what its XML may have set and its driver stay. */
		if (l->in_use && !(o && o->for_domain && o->domain_vf == i) && (d & vm_sets)) {
			d &= ~vm_sets;
			pl->skipped_in_use++;
		}
		for (int k = 0; k < _KEY_VF_MAX; k++)
			if ((d & (1u << k)) && vf_keys[k].ifla && (int)vf_keys[k].written_by == k &&
			    (r = plan_attr(pl, &want, l, (enum vf_key)k)) < 0)
				return r;
		if ((r = plan_driver(pl, &pol->vf[i], l, &want, d)) < 0)
			return r;
	}
	return 0;
}
