/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "dl.h"
#include "udev.h"
#include "util.h"

static void udev_unrefp(struct udev **u)
{
	if (*u)
		sym_udev_unref(*u);
}

static void udev_device_unrefp(struct udev_device **d)
{
	if (*d)
		sym_udev_device_unref(*d);
}

int udev_running(void)
{
	_cleanup_(udev_unrefp) struct udev *u = NULL;
	struct udev_queue *q;
	int on;

	if (dlopen_libudev() < 0)
		return -EOPNOTSUPP;
	if (!(u = sym_udev_new()) || !(q = sym_udev_queue_new(u)))
		return -ENOMEM;
	on = sym_udev_queue_get_udev_is_active(q);
	sym_udev_queue_unref(q);
	return on > 0;
}

static int netdev_open(const char *ifname, struct udev **u, struct udev_device **d)
{
	if (dlopen_libudev() < 0)
		return -EOPNOTSUPP;
	if (!(*u = sym_udev_new()))
		return -ENOMEM;
	*d = sym_udev_device_new_from_subsystem_sysname(*u, "net", ifname);
	return *d ? 0 : -ENODEV;
}

int udev_netdev_initialized(const char *ifname)
{
	_cleanup_(udev_unrefp) struct udev *u = NULL;
	_cleanup_(udev_device_unrefp) struct udev_device *d = NULL;
	int r = netdev_open(ifname, &u, &d);

	return r < 0 ? r : sym_udev_device_get_is_initialized(d) > 0;
}

int udev_netdev_property(const char *ifname, const char *key, char *buf, size_t size)
{
	_cleanup_(udev_unrefp) struct udev *u = NULL;
	_cleanup_(udev_device_unrefp) struct udev_device *d = NULL;
	const char *v;
	int r = netdev_open(ifname, &u, &d);

	if (r < 0)
		return r;
	if (!(v = sym_udev_device_get_property_value(d, key)))
		return -ENOENT;
	return (size_t)snprintf(buf, size, "%s", v) < size ? 0 : -ENOBUFS;
}
