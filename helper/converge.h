/* SPDX-License-Identifier: MIT */
#pragma once

#include "netlink.h"

struct converge_opts {
	bool dry_run;
	bool force;
	/* Only VF vf, with conf in place of the policy's (libvirt hook); no count change. */
	bool one_vf;
	unsigned vf;
	const struct vf_conf *conf;
	/* Called after each change (err 0) or failed change (err < 0). */
	void (*report)(void *ud, const struct pf_policy *pol, const struct pf_live *pf,
		       const struct action *a, int err);
	void *ud;
};

struct converge_result {
	unsigned changes, failures;
	int refused; /* -errno when the PF was left alone, why says why */
	char why[256];
	unsigned skipped_in_use;
	unsigned skipped_mtu; /* VF netdevs carrying host traffic that keep their MTU */
};

/* Make pf match pol. Returns 0 when done (see res for what held), -errno otherwise. */
int pf_converge(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf,
		const struct converge_opts *o, struct converge_result *res);
