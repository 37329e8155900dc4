/* SPDX-License-Identifier: MIT */
#pragma once
/* The kernel's side of the backend (backend-host.c): build/vfwarden only. */
#include "host.h"
#include "netlink.h"

int ethtool_perm_mac(const char *ifname, uint8_t mac[MAC_LEN]);
int kmod_load(const char *name);
/* rtnetlink (netlink.c): the calls netlink.h's nlh_*() reach on the host. */
int rtnetlink_open(struct nlh **ret);
void rtnetlink_close(struct nlh *h);
int rtnetlink_read_pf(struct nlh *h, struct pf_live *pf);
int rtnetlink_set_vfs(struct nlh *h, const struct pf_live *pf, const struct action *a, unsigned n);
int rtnetlink_global_addr(struct nlh *h, const char *ifname, char *buf, size_t size);
int rtnetlink_set_up(struct nlh *h, const struct pf_live *pf);
int rtnetlink_read_mtu(struct nlh *h, const char *ifname, struct link_mtu *m);
int rtnetlink_set_mtu(struct nlh *h, const char *ifname, unsigned mtu);
