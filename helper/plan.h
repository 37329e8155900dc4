/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"

enum act_type {
	ACT_PF_UP,
	ACT_AUTOPROBE,
	ACT_NUMVFS,
	ACT_VF_ATTR,
	ACT_VF_DRIVER,
	ACT_VF_REBIND,
	ACT_ESWITCH,
};

/*
 * One change. For ACT_VF_ATTR the value fields are:
 * mac: mac; vlan: v1 vlan, v2 qos, v3 proto; max-tx-rate and min-tx-rate:
 * v1 max, v2 min (the kernel sets both at once); others: v1.
 * ACT_NUMVFS: v1 from, v2 to. ACT_AUTOPROBE: v1. ACT_VF_DRIVER: to.
 * ACT_ESWITCH: v1 the enum eswitch_mode to set.
 */
struct action {
	enum act_type type;
	unsigned vf;
	enum vf_key key;
	uint8_t mac[MAC_LEN];
	unsigned v1, v2, v3;
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
};

struct plan_opts {
	bool force;
};

void plan_free(struct plan *pl);
/* Phase 1: link up, autoprobe, eswitch mode and VF count, in the order the driver needs. */
int plan_pf_count(const struct pf_policy *pol, const struct pf_live *live,
		  const struct plan_opts *o, struct plan *pl);
/* Phase 2: attributes and drivers of each VF, against live (after phase 1). */
int plan_pf_vfs(const struct pf_policy *pol, const struct pf_live *live, struct plan *pl);
/* The VF as the policy wants it, as a vf_live, for drift and status. */
void vf_wanted(const struct pf_policy *pol, const struct pf_live *live, unsigned idx,
	       struct vf_live *want);
/* Bit per enum vf_key where live differs from want. */
uint32_t vf_drift(const struct pf_policy *pol, const struct vf_live *want,
		  const struct vf_live *live);
const char *action_key_name(const struct action *a);
/* Whether the VF as read from the kernel already has what ACT_VF_ATTR a sets. */
bool action_holds(const struct action *a, const struct vf_live *l);
