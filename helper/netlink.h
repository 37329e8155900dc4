/* SPDX-License-Identifier: MIT */
#pragma once

#include "plan.h"

struct nlh;

int nlh_open(struct nlh **ret);
void nlh_close(struct nlh *h);
/* ifindex, link flags, MTU and every VF's attributes of pf. */
int nlh_read_pf(struct nlh *h, struct pf_live *pf);
/* One attribute of one VF per request, so a driver's refusal names it. */
int nlh_set_vf(struct nlh *h, const struct pf_live *pf, const struct action *a);
/*
 * n ACT_VF_ATTR actions in one RTM_SETLINK. The kernel applies them in
 * order and stops at the first refusal, without saying which: on an error
 * the caller sets them again one by one.
 */
#define NLH_BATCH_MAX 1000
int nlh_set_vfs(struct nlh *h, const struct pf_live *pf, const struct action *a, unsigned n);
/* An RTM_NEWLINK message into pf: ifindex, IFF_UP and the VFs it lists. */
int nl_parse_link(const void *buf, size_t len, struct pf_live *pf);
/*
 * One datagram of the answer to RTM_GETLINK request seq: its RTM_NEWLINK
 * into pf (*got), then its ACK; other requests' messages are skipped. 1
 * once the ACK or an error is in, *err the outcome (0, -errno, -ENODEV when
 * no link came); 0 when more is to come.
 */
int nl_link_reply(const void *buf, size_t len, uint32_t seq, struct pf_live *pf, bool *got, int *err);
/*
 * The first address of global scope (IPv4 or IPv6) on netdev ifname, as
 * "192.0.2.5/24": 1, 0 when it has none, -errno. The first call dumps
 * every address of the host (RTM_GETADDR) once for the handle.
 */
int nlh_global_addr(struct nlh *h, const char *ifname, char *buf, size_t size);
int nlh_set_up(struct nlh *h, const struct pf_live *pf);
/*
 * The MTU of any netdev (a VF's) and its range: 0 or -errno. The PF's comes
 * with nlh_read_pf().
 */
int nlh_read_mtu(struct nlh *h, const char *ifname, struct link_mtu *m);
/*
 * Set a netdev's MTU (RTM_SETLINK IFLA_MTU). The MTU is no IFLA_VF_*
 * attribute of the PF but a link attribute of each netdev itself, the PF's
 * and each VF's own, so it has no row in vf_keys[].
 */
int nlh_set_mtu(struct nlh *h, const char *ifname, unsigned mtu);
