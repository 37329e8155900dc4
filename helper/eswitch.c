/* SPDX-License-Identifier: MIT */
/*
 * eswitch-mode: the names, and when each PF driver lets the mode change
 * relative to creating its VFs and binding them. The planner (plan.c)
 * orders the mode change and the VF count by this table.
 */
#include <string.h>

#include "eswitch.h"
#include "util.h"

static const char *const mode_names[] = {
	[ESWITCH_LEGACY] = "legacy",
	[ESWITCH_SWITCHDEV] = "switchdev",
};

const char *eswitch_mode_name(enum eswitch_mode m)
{
	return m == ESWITCH_LEGACY || m == ESWITCH_SWITCHDEV ? mode_names[m] : "-";
}

enum eswitch_mode eswitch_mode_parse(const char *s)
{
	if (streq(s, mode_names[ESWITCH_LEGACY]))
		return ESWITCH_LEGACY;
	if (streq(s, mode_names[ESWITCH_SWITCHDEV]))
		return ESWITCH_SWITCHDEV;
	return ESWITCH_UNSET;
}

/*
 * From each driver's devlink eswitch_mode_set (Linux 6.1 and later):
 *
 * - netdevsim (drivers/net/netdevsim/dev.c, nsim_devlink_eswitch_mode_set):
 *   changes at any time; with VFs present it creates or removes one
 *   pcivf port and representor per VF, and the VFs stay.
 * - ice (drivers/net/ethernet/intel/ice/ice_eswitch.c, ice_eswitch_mode_set):
 *   refuses with EOPNOTSUPP while VFs exist ("Changing eswitch mode is
 *   allowed only if there is no VFs created"): VFs to 0, mode, VFs again.
 * - mlx5_core (drivers/net/ethernet/mellanox/mlx5/core/eswitch_offloads.c,
 *   mlx5_devlink_eswitch_mode_set): accepts the change with VFs, but
 *   disables and re-enables the whole eswitch with every VF vport, and
 *   clears each VF's settings; NVIDIA has VFs unbound from mlx5_core
 *   first. Here: in place while no VF is bound to a driver, else as ice.
 *
 * A driver not listed is taken as ice: the order every driver accepts.
 */
static const struct {
	const char *driver;
	enum eswitch_order order;
} eswitch_drivers[] = {
	{ "netdevsim", ESWITCH_ANY_TIME },
	{ "ice", ESWITCH_NO_VFS },
	{ "mlx5_core", ESWITCH_VFS_UNBOUND },
};

enum eswitch_order eswitch_order_of(const char *pf_driver)
{
	for (size_t i = 0; i < ELEMENTSOF(eswitch_drivers); i++)
		if (streq(pf_driver, eswitch_drivers[i].driver))
			return eswitch_drivers[i].order;
	return ESWITCH_NO_VFS;
}
