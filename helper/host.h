/* SPDX-License-Identifier: MIT */
#pragma once

#include <limits.h>

#include "backend.h"
#include "policy.h"

/* A netdev's MTU and the range its driver takes (IFLA_MTU, IFLA_MIN_MTU, IFLA_MAX_MTU). */
struct link_mtu {
	unsigned mtu; /* 0: not read */
	unsigned min, max; /* max 0: the driver sets no maximum */
};

struct vf_live {
	unsigned idx;
	char pci[PCI_ADDR_LEN];
	char driver[32];   /* "" when unbound */
	char override[32]; /* driver_override, "" when none */
	char netdev[16];
	int iommu_group;   /* -1 when none */
	char vfio_dev[16]; /* its VFIO device cdev, "vfio3" for /dev/vfio/devices/vfio3; "" none */
	bool no_device;    /* netdevsim: a VF with no device of its own, nothing to bind */
	bool stale_record; /* a hook record of a domain that is gone (records.c) */
	bool reset_pending; /* that record says its release left the reset to the next apply */
	long record_age;   /* seconds */
	/* From netlink; nl_valid false means not known (VF not created yet). */
	bool nl_valid;
	VF_ATTRS;
	/* Who uses it: an open vfio group, or a domain the hook recorded. */
	bool in_use;
	char owner[96];
	/* "pid N (comm)" of a process holding the VF's /dev/vfio group or cdev open, "" none. */
	char holder[48];
	/* Why the host itself uses the VF's netdev ("enp1s0v1 is a port of br0"), "" not. */
	char host_use[80];
	/* Its representor netdev (eswitch in switchdev mode), "" none or not read. */
	char rep[16];
	/* Of its netdev; read only where the policy sets mtu, or by status. */
	struct link_mtu mtu;
};

struct pf_live {
	char pci[PCI_ADDR_LEN];
	char ifname[16];
	int ifindex;
	char driver[32];
	/* sysfs vendor and device; a netdevsim device has none (have_ids false). */
	uint16_t vendor, device_id;
	bool have_ids;
	uint8_t perm_mac[MAC_LEN];
	bool have_perm_mac;
	unsigned totalvfs, numvfs;
	int autoprobe;
	bool up, carrier;
	char speed[16];
	/* Read through devlink only where needed; ESWITCH_UNSET: not read or none. */
	enum eswitch_mode eswitch_mode;
	struct link_mtu mtu; /* read with its VFs (nlh_read_pf) */
	unsigned n_vf;
	struct vf_live *vf;
};

struct host {
	struct pf_live *pf;
	unsigned n_pf;
};

int host_scan(struct host *h);
void host_free(struct host *h);
int pf_scan(struct pf_live *pf);
/* Index of the PF that spec names (ifname, PCI address, sysfs path, MAC), or -ENOENT. */
int host_find(const struct host *h, const char *spec);
/* Whether pol's device names pf, or pf matches all of a selector pol's selectors. */
int pf_match_policy(const struct pf_live *pf, const struct pf_policy *pol);
bool pf_match_select(const struct pf_live *pf, const struct pf_select *sel);
/* Only what a policy's device = names: pf->ifname and the permanent MAC (pf->pci set). */
void pf_read_names(struct pf_live *pf);
/* Only what a selector [pf] asks: pf->driver and the PCI IDs (pf->pci set). */
void pf_read_select(struct pf_live *pf);
/* The PF of a VF given by netdev name or PCI address, from its physfn link. */
int vf_read_physfn(const char *vf, char pf_pci[PCI_ADDR_LEN]);

int pf_write_numvfs(const struct pf_live *pf, unsigned n);
int pf_write_autoprobe(const struct pf_live *pf, bool on);
/* The driver_override that keeps a VF on vf-driver = none unbound: no driver has this name. */
#define VF_OVERRIDE_NONE "none"
int vf_bind(const struct vf_live *vf, const char *driver);
int vf_unbind(const struct vf_live *vf);
int vf_keep_unbound(const struct vf_live *vf);
/* For the backends' probe(): write vf to drivers_probe; check where it ended. */
int vf_probe(const struct vf_live *vf);
int vf_probe_check(const struct vf_live *vf, const char *driver, int probe_r);
/* driver "" or NULL clears it. */
int vf_set_override(const struct vf_live *vf, const char *driver);
void vf_read_driver(const struct vf_live *vf, char *buf, size_t size);
int vfio_pci_load(void);
bool vfio_pci_loaded(void);
int pf_read_carrier(const struct pf_live *pf, bool *carrier);
/* Marks in_use/owner on every VF of pf from open vfio fds and /run records. */
int pf_scan_users(struct pf_live *pf);
/* Its two halves: the /run records alone (cheap), then the processes that hold a VF open. */
void pf_scan_records(struct pf_live *pf);
int pf_scan_holders(struct pf_live *pf);
/* A VF netdev's master (bridge, bond, team, OVS) into buf: 0, -ENOENT when it has none. */
int netdev_read_master(const char *ifname, char *buf, size_t size);
/* Whether a netdev is administratively up (IFF_UP): 1, 0, or -errno. */
int netdev_is_up(const char *ifname);
