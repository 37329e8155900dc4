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
	void *ud; /* the caller's */
};

/* One change made (err 0; planned, in a dry run) or refused (err -errno). */
struct converge_step {
	struct action a;
	int err;
};

struct converge_result {
	unsigned changes, failures;
	int refused; /* -errno when the PF was left alone, why says why */
	char why[256];
	unsigned skipped_in_use;
	/*
	 * Every change and failure, in the order they happened, for the
	 * caller to report (as text or JSON); it outlives the plan.
	 */
	struct converge_step *steps;
	unsigned n_steps, cap_steps;
	unsigned skipped_mtu; /* VF netdevs carrying host traffic that keep their MTU */
};

/*
 * Make pf match pol. Returns 0 when done (see res for what held), -errno
 * otherwise; res->steps holds what was done either way, until
 * converge_result_free().
 */
int pf_converge(struct nlh *nl, const struct pf_policy *pol, struct pf_live *pf,
		const struct converge_opts *o, struct converge_result *res);
void converge_result_free(struct converge_result *res);
