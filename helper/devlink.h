/* SPDX-License-Identifier: MIT */
#pragma once

#include "eswitch.h"
#include "host.h"

/*
 * devlink over generic netlink, for the PF's eswitch. dev is the PF as
 * sysfs names it (a PCI address, or netdevsimN on the netdevsim bus);
 * all return 0 or -errno (EOPNOTSUPP: the driver has no eswitch).
 */
int devlink_eswitch_get(const char *dev, enum eswitch_mode *mode);
int devlink_eswitch_set(const char *dev, enum eswitch_mode mode);
/* Each VF's representor netdev (port flavour pcivf) into pf->vf[n].rep. */
int devlink_read_reps(struct pf_live *pf);
