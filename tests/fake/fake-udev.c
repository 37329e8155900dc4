/* SPDX-License-Identifier: MIT */
/*
 * The bats tier's udev, linked into the test build in place of
 * helper/udev.c (libudev reads the real /sys and /run/udev, not a fake
 * tree). Under $VFWARDEN_TEST_ROOT:
 *
 *   udev/           exists: udevd runs
 *   udev/net/NAME   udev has handled netdev NAME; its lines are the
 *                   properties udev gave it, KEY=VALUE (udevadm info -q property)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udev.h"

static int fake_path(char *buf, size_t size, const char *rel)
{
	const char *root = getenv("VFWARDEN_TEST_ROOT");

	if (!root || !*root)
		return -ENOENT;
	return (size_t)snprintf(buf, size, "%s/udev%s", root, rel) < size ? 0 : -ENAMETOOLONG;
}

int udev_running(void)
{
	char p[PATH_MAX];

	return fake_path(p, sizeof(p), "") == 0 && access(p, F_OK) == 0;
}

static FILE *netdev_open(const char *ifname)
{
	char rel[64], p[PATH_MAX];

	snprintf(rel, sizeof(rel), "/net/%s", ifname);
	return fake_path(p, sizeof(p), rel) == 0 ? fopen(p, "re") : NULL;
}

int udev_netdev_initialized(const char *ifname)
{
	FILE *f = netdev_open(ifname);

	if (!f)
		return 0;
	fclose(f);
	return 1;
}

int udev_netdev_property(const char *ifname, const char *key, char *buf, size_t size)
{
	FILE *f = netdev_open(ifname);
	char line[512];
	size_t n = strlen(key);
	int r = -ENOENT;

	if (!f)
		return -ENOENT;
	while (r == -ENOENT && fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == '=') {
			line[strcspn(line, "\n")] = '\0';
			r = (size_t)snprintf(buf, size, "%s", line + n + 1) < size ? 0 : -ENOBUFS;
		}
	fclose(f);
	return r;
}
