/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"
#include "vfattr.h"

enum act_type {
	ACT_PF_UP,
	ACT_AUTOPROBE,
	ACT_NUMVFS,
	ACT_VF_ATTR,
	ACT_VF_DRIVER,
	ACT_VF_REBIND,
	ACT_ESWITCH,
	ACT_PF_MTU,
	ACT_VF_MTU,
};

/* One change; the value it sets is the member of u its type names. */
struct action {
	enum act_type type;
	unsigned vf;
	enum vf_key key; /* ACT_VF_ATTR */
	union {
		/*
		 * ACT_VF_ATTR: the values of every key of key's rtnetlink
		 * attribute (vf_keys[].ifla: vlan, qos and vlan-proto; both
		 * rates); the rest is unused.
		 */
		struct vf_attrs attr;
		enum vf_driver driver; /* ACT_VF_DRIVER */
		bool autoprobe;        /* ACT_AUTOPROBE */
		struct {
			unsigned from, to;
		} numvfs;              /* ACT_NUMVFS */
		enum eswitch_mode eswitch; /* ACT_ESWITCH */
		unsigned mtu;              /* ACT_PF_MTU, ACT_VF_MTU (of the VF's netdev) */
	} u;
	char from[40], to[40];
};

struct plan {
	struct action *a;
	unsigned n, cap;
	/* Set when the PF must not be touched, with the reason. */
	int refused;
	char why[256];
	/* VFs left alone because they are in use, for notices. */
	unsigned skipped_in_use;
	/* VF netdevs carrying host traffic whose MTU is left as it is (plan_pf_mtu). */
	unsigned skipped_mtu;
};

struct plan_opts {
	bool force;
	/*
	 * The libvirt hook gives VF domain_vf to its domain or takes it back
	 * (converge_opts.one_vf): being in use, by that domain's record or its
	 * QEMU, does not keep that VF's driver, mac and vlan as they are.
	 */
	bool for_domain;
	unsigned domain_vf;
};

void plan_free(struct plan *pl);
/* Phase 1: link up, autoprobe, eswitch mode and VF count, in the order the driver needs. */
int plan_pf_count(const struct pf_policy *pol, const struct pf_live *live,
		  const struct plan_opts *o, struct plan *pl);
/* Phase 2: attributes and drivers of each VF, against live (after phase 1). */
int plan_pf_vfs(const struct pf_policy *pol, const struct pf_live *live, struct plan *pl);
int plan_pf_vfs_opts(const struct pf_policy *pol, const struct pf_live *live,
		     const struct plan_opts *o, struct plan *pl);
/*
 * Phase 3: the MTU of the PF and of its VFs' netdevs on a kernel driver
 * (vf-driver = kernel; on vfio-pci a VF's MTU is its guest's), against
 * live with the netdevs' MTUs read. Refuses the PF when pol->mtu is outside
 * a netdev's range; plan_pf_count() makes the same check before any write.
 */
int plan_pf_mtu(const struct pf_policy *pol, const struct pf_live *live, const struct plan_opts *o,
		struct plan *pl);
/* Whether VF idx's netdev takes the policy's mtu (on a kernel driver, with a netdev). */
bool vf_takes_mtu(const struct pf_policy *pol, const struct pf_live *live, unsigned idx);
/* The VF as the policy wants it, as a vf_live, for drift and status. */
void vf_wanted(const struct pf_policy *pol, const struct pf_live *live, unsigned idx,
	       struct vf_live *want);
/* Bit per enum vf_key where live differs from want. */
uint32_t vf_drift(const struct pf_policy *pol, const struct vf_live *want,
		  const struct vf_live *live);
const char *action_key_name(const struct action *a);
/* Whether the VF as read from the kernel already has what ACT_VF_ATTR a sets. */
bool action_holds(const struct action *a, const struct vf_live *l);
