/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* eswitch-mode; ESWITCH_UNSET: not in the policy, or not known on the host. */
enum eswitch_mode { ESWITCH_UNSET, ESWITCH_LEGACY, ESWITCH_SWITCHDEV };

/* When a PF's driver lets its eswitch mode change (see the table in eswitch.c). */
enum eswitch_order {
	ESWITCH_ANY_TIME,   /* with or without VFs, bound or not */
	ESWITCH_VFS_UNBOUND, /* VFs may exist, but none bound to a driver */
	ESWITCH_NO_VFS,     /* only with 0 VFs: remove them, set the mode, create them */
};

const char *eswitch_mode_name(enum eswitch_mode m);
/* "legacy" or "switchdev": the mode, or ESWITCH_UNSET for anything else. */
enum eswitch_mode eswitch_mode_parse(const char *s);
enum eswitch_order eswitch_order_of(const char *pf_driver);
