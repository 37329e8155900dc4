/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The host as the core sees it: where sysfs, /proc and /run are, and the
 * calls that reach the kernel by other means than a file under them. Two
 * implementations exist, chosen at link time: backend-host.c (the kernel,
 * in build/vfwarden) and tests/fake/backend-fake.c (a directory tree and
 * text files, in build/vfwarden-test only). The core reads and writes
 * sysfs and scans /proc through the roots; everything else goes through
 * the calls below.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct pf_live;
struct vf_live;
struct action;
struct nlh;
struct link_mtu;

struct roots {
	char sys[PATH_MAX];
	char proc[PATH_MAX];
	char run[PATH_MAX];
	char qemu_run[PATH_MAX]; /* libvirt's /run/libvirt/qemu: NAME.pid of each running domain */
	char etc[PATH_MAX - 64];  /* prefix of /etc/vfwarden: "" on the host; room for its files */
	/* libvirt's read-only socket: "" for qemu:///system's own choice (the host) */
	char libvirt_sock[PATH_MAX];
};
extern struct roots roots;

struct backend {
	const char *name;
	/* Fills every root; -errno when the backend cannot run. */
	int (*init)(struct roots *r);
	/* Whether log messages get a syslog copy when stderr is no terminal. */
	bool syslog;
	/* The permanent MAC of a netdev (ethtool): 0 or -errno. */
	int (*perm_mac)(const char *ifname, uint8_t mac[MAC_LEN]);
	/*
	 * After vf's driver_override is set: probe it (sysfs drivers_probe)
	 * and check that it ended on driver ("" or NULL: its own driver).
	 */
	int (*probe)(const struct vf_live *vf, const char *driver);
	/* Load a kernel module by name (kmod): 0 or -errno. */
	int (*module_load)(const char *name);
	/* rtnetlink; see netlink.h for each call's contract. */
	int (*nl_open)(struct nlh **ret);
	void (*nl_close)(struct nlh *h);
	int (*nl_read_pf)(struct nlh *h, struct pf_live *pf);
	int (*nl_set_vfs)(struct nlh *h, const struct pf_live *pf, const struct action *a, unsigned n);
	int (*nl_global_addr)(struct nlh *h, const char *ifname, char *buf, size_t size);
	int (*nl_set_up)(struct nlh *h, const struct pf_live *pf);
	int (*nl_read_mtu)(struct nlh *h, const char *ifname, struct link_mtu *m);
	int (*nl_set_mtu)(struct nlh *h, const char *ifname, unsigned mtu);
};

/* Defined by the one backend linked in. */
extern const struct backend *const backend;

/* Fills roots from the backend: 0 or -errno. */
int backend_init(void);
