/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * What udev knows about a netdev, asked through libudev (dlopen()ed on first
 * use, dl.c), never read from udev's private database files. Sysfs stays
 * the source for what the kernel knows. The bats tier's build links
 * tests/fake/fake-udev.c in place of this file.
 */

/* udevd runs on this host: 1, 0, or -EOPNOTSUPP when libudev is missing. */
int udev_running(void);
/* udev has handled netdev ifname (its rules ran, a rename is done): 1, 0,
 * -ENODEV when there is no such netdev, -EOPNOTSUPP without libudev. */
int udev_netdev_initialized(const char *ifname);
/* udev property key of netdev ifname into buf: 0; -ENOENT when udev did not
 * set it; -ENODEV, -EOPNOTSUPP as above; -ENOBUFS when it does not fit. */
int udev_netdev_property(const char *ifname, const char *key, char *buf, size_t size);
