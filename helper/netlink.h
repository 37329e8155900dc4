/* SPDX-License-Identifier: MIT */
#pragma once

#include "plan.h"

struct nlh;

int nlh_open(struct nlh **ret);
void nlh_close(struct nlh *h);
/* ifindex, link flags and every VF's attributes of pf. */
int nlh_read_pf(struct nlh *h, struct pf_live *pf);
/* One attribute of one VF per request, so a driver's refusal names it. */
int nlh_set_vf(struct nlh *h, const struct pf_live *pf, const struct action *a);
int nlh_set_up(struct nlh *h, const struct pf_live *pf);
