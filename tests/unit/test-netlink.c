/* SPDX-License-Identifier: MIT */
/*
 * nl_parse_link() on RTM_NEWLINK messages laid out as the kernel's
 * rtnl_fill_ifinfo() writes them (6.1, RTEXT_FILTER_VF|SKIP_STATS):
 * IFLA_MTU, IFLA_MIN_MTU, IFLA_MAX_MTU, IFLA_NUM_VF, then IFLA_VFINFO_LIST, then IFLA_XDP, with the list's 16-bit
 * length truncated the way nla_nest_end() truncates it; and
 * nl_link_reply() on the datagrams of the answer to an RTM_GETLINK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "netlink.h"
#include "tap.h"

struct buf {
	char *p;
	size_t len, cap;
};

static void *grow(struct buf *b, size_t n)
{
	void *at;

	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			exit(99);
	}
	at = b->p + b->len;
	memset(at, 0, n);
	b->len += n;
	return at;
}

static size_t put(struct buf *b, unsigned type, const void *data, size_t n)
{
	size_t at = b->len;
	struct nlattr *a;
	void *to;

	grow(b, NLA_HDRLEN);
	to = grow(b, NLA_ALIGN(n));
	if (n)
		memcpy(to, data, n);
	/* grow() may have moved the buffer: the header is found again by offset. */
	a = (struct nlattr *)(b->p + at);
	a->nla_type = (uint16_t)type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	return at;
}

static size_t nest(struct buf *b, unsigned type)
{
	return put(b, type, NULL, 0);
}

/* nla_nest_end(): the length as the kernel stores it, truncated to 16 bits. */
static void nest_end(struct buf *b, size_t at)
{
	((struct nlattr *)(b->p + at))->nla_len = (uint16_t)(b->len - at);
}

static void vf_mac(unsigned i, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0x00, 0x00, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

	memcpy(mac, m, 6);
}

static void put_vf(struct buf *b, unsigned i, bool ad)
{
	size_t info = nest(b, IFLA_VF_INFO), list;
	struct ifla_vf_mac mac = { .vf = i };
	struct ifla_vf_vlan vlan = { .vf = i, .vlan = i % 4095 + 1, .qos = i % 8 };
	struct ifla_vf_vlan_info vi = { .vf = i, .vlan = vlan.vlan, .qos = vlan.qos,
					.vlan_proto = htons(ad ? 0x88a8 : 0x8100) };
	struct ifla_vf_rate rate = { .vf = i, .min_tx_rate = 10, .max_tx_rate = i };
	struct ifla_vf_spoofchk sc = { .vf = i, .setting = i % 2 };
	struct ifla_vf_trust tr = { .vf = i, .setting = UINT32_MAX };
	struct ifla_vf_link_state ls = { .vf = i, .link_state = 2 };
	struct ifla_vf_rss_query_en rss = { .vf = i, .setting = 1 };

	vf_mac(i, mac.mac);
	put(b, IFLA_VF_MAC, &mac, sizeof(mac));
	put(b, IFLA_VF_VLAN, &vlan, sizeof(vlan));
	list = nest(b, IFLA_VF_VLAN_LIST);
	put(b, IFLA_VF_VLAN_INFO, &vi, sizeof(vi));
	nest_end(b, list);
	put(b, IFLA_VF_RATE, &rate, sizeof(rate));
	put(b, IFLA_VF_SPOOFCHK, &sc, sizeof(sc));
	put(b, IFLA_VF_LINK_STATE, &ls, sizeof(ls));
	put(b, IFLA_VF_RSS_QUERY_EN, &rss, sizeof(rss));
	put(b, IFLA_VF_TRUST, &tr, sizeof(tr));
	/* What 6.1 adds and nl_parse_link() has no use for. */
	put(b, IFLA_VF_BROADCAST, mac.mac, 32);
	nest_end(b, info);
}

/* A PF with n VFs listed (of num_vf announced); every 7th dropped when gaps. */
static struct buf link_msg(unsigned num_vf, unsigned n, bool gaps)
{
	struct buf b = { 0 };
	struct nlmsghdr *h = grow(&b, NLMSG_HDRLEN);
	struct ifinfomsg *ifi = grow(&b, NLMSG_ALIGN(sizeof(*ifi)));
	uint32_t mtu = 1500, min_mtu = 68, max_mtu = 9216, xdp_attached = 0;
	size_t list, xdp;

	(void)h;
	ifi->ifi_index = 7;
	ifi->ifi_flags = IFF_UP | IFF_BROADCAST;
	put(&b, IFLA_IFNAME, "eth0", 5);
	put(&b, IFLA_MTU, &mtu, sizeof(mtu));
	put(&b, IFLA_MIN_MTU, &min_mtu, sizeof(min_mtu));
	put(&b, IFLA_MAX_MTU, &max_mtu, sizeof(max_mtu));
	put(&b, IFLA_NUM_VF, &num_vf, sizeof(num_vf));
	list = nest(&b, IFLA_VFINFO_LIST);
	for (unsigned i = 0; i < n; i++)
		if (!gaps || i % 7 != 3)
			put_vf(&b, i, i % 5 == 0);
	nest_end(&b, list);
	xdp = nest(&b, IFLA_XDP);
	put(&b, IFLA_XDP_ATTACHED, &xdp_attached, 1);
	nest_end(&b, xdp);
	h = (struct nlmsghdr *)b.p;
	h->nlmsg_len = (uint32_t)b.len;
	h->nlmsg_type = RTM_NEWLINK;
	return b;
}

static struct pf_live *pf_new(unsigned n)
{
	struct pf_live *pf = calloc(1, sizeof(*pf));

	if (!pf || !(pf->vf = calloc(n, sizeof(*pf->vf))))
		exit(99);
	pf->n_vf = n;
	return pf;
}

static void pf_free(struct pf_live *pf)
{
	free(pf->vf);
	free(pf);
}

/* How many VFs came back valid and exactly as put_vf() wrote them. */
static unsigned count_right(const struct pf_live *pf, bool gaps)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < pf->n_vf; i++) {
		const struct vf_live *v = &pf->vf[i];
		uint8_t mac[6];

		if (gaps && i % 7 == 3) {
			ok += !v->nl_valid;
			continue;
		}
		vf_mac(i, mac);
		ok += v->nl_valid && memcmp(v->mac, mac, 6) == 0 && v->vlan == i % 4095 + 1 &&
		      v->qos == i % 8 && v->vlan_proto == (i % 5 == 0 ? 0x88a8 : 0x8100) &&
		      v->max_tx_rate == i && v->min_tx_rate == 10 && v->spoofchk == (int)(i % 2) &&
		      v->trust == -1 && v->link_state == 2 && v->query_rss == 1;
	}
	return ok;
}

static void test_small(void)
{
	struct buf b = link_msg(7, 7, false);
	struct pf_live *pf = pf_new(7);

	tap_is_int(nl_parse_link(b.p, b.len, pf), 0, "7 VFs: parses");
	tap_is_int(pf->ifindex, 7, "7 VFs: ifindex");
	tap_ok(pf->up, "7 VFs: IFF_UP");
	tap_ok(pf->mtu.mtu == 1500 && pf->mtu.min == 68 && pf->mtu.max == 9216, "7 VFs: MTU %u, range %u-%u",
	       pf->mtu.mtu, pf->mtu.min, pf->mtu.max);
	tap_is_int(count_right(pf, false), 7, "7 VFs: every attribute of every VF");
	pf_free(pf);
	free(b.p);
}

static void test_wrapped(unsigned n)
{
	struct buf b = link_msg(n, n, false);
	struct pf_live *pf = pf_new(n);
	char name[64];

	tap_ok(b.len > 65536, "%u VFs: the list is past 64 KiB (%zu bytes)", n, b.len);
	snprintf(name, sizeof(name), "%u VFs: parses", n);
	tap_is_int(nl_parse_link(b.p, b.len, pf), 0, name);
	snprintf(name, sizeof(name), "%u VFs with a wrapped list length: all read", n);
	tap_is_int(count_right(pf, false), n, name);
	pf_free(pf);
	free(b.p);
}

static void test_gaps(void)
{
	/* ndo_get_vf_config() failing for a VF leaves it out of the list. */
	struct buf b = link_msg(700, 700, true);
	struct pf_live *pf = pf_new(700);

	tap_is_int(nl_parse_link(b.p, b.len, pf), 0, "gaps: parses");
	tap_is_int(count_right(pf, true), 700, "gaps: the listed VFs read, the missing ones not valid");
	pf_free(pf);
	free(b.p);
}

static void test_more_than_pf(void)
{
	/* The kernel lists more VFs than the PF had when sysfs was read. */
	struct buf b = link_msg(9, 9, false);
	struct pf_live *pf = pf_new(4);

	tap_is_int(nl_parse_link(b.p, b.len, pf), 0, "more VFs than slots: parses");
	tap_is_int(count_right(pf, false), 4, "more VFs than slots: the first 4 read, no overflow");
	pf_free(pf);
	free(b.p);
}

static void test_bad(void)
{
	struct buf b = link_msg(400, 400, false);
	struct pf_live *pf = pf_new(400);
	struct nlmsghdr *h = (struct nlmsghdr *)b.p;
	unsigned got;

	tap_is_int(nl_parse_link(b.p, 8, pf), -EBADMSG, "shorter than a header: EBADMSG");
	h->nlmsg_type = RTM_NEWADDR;
	tap_is_int(nl_parse_link(b.p, b.len, pf), -EBADMSG, "not RTM_NEWLINK: EBADMSG");
	h->nlmsg_type = RTM_NEWLINK;

	/* Cut in the middle of the list: what is whole is read, nothing past the end. */
	h->nlmsg_len = (uint32_t)(b.len / 2);
	tap_is_int(nl_parse_link(b.p, b.len / 2, pf), 0, "truncated list: no error");
	got = 0;
	for (unsigned i = 0; i < 400; i++)
		got += pf->vf[i].nl_valid;
	tap_ok(got < 400, "truncated list: fewer than all VFs valid (%u)", got);

	/* NUM_VF lying low: the walk does not agree with the header, so only the header's length counts. */
	free(b.p);
	b = link_msg(100, 400, false);
	pf_free(pf);
	pf = pf_new(400);
	tap_is_int(nl_parse_link(b.p, b.len, pf), 0, "NUM_VF too low: no error");
	got = 0;
	for (unsigned i = 0; i < 400; i++)
		got += pf->vf[i].nl_valid;
	tap_ok(got > 0 && got < 400, "NUM_VF too low: only what the (wrapped) header covers (%u)", got);
	pf_free(pf);
	free(b.p);
}

/* The kernel's answer to an RTM_GETLINK's NLM_F_ACK: NLMSG_ERROR with error (0: the ACK). */
static void put_ack(struct buf *b, uint32_t seq, int error)
{
	struct nlmsghdr *h = grow(b, NLMSG_HDRLEN);
	size_t at = b->len - NLMSG_HDRLEN;
	struct nlmsgerr *e = grow(b, NLMSG_ALIGN(sizeof(*e)));

	(void)h;
	e->error = error;
	h = (struct nlmsghdr *)(b->p + at);
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_seq = seq;
}

/* A link message of n VFs with sequence number seq and ifindex, appended to b. */
static void put_link(struct buf *b, unsigned n, uint32_t seq, int ifindex)
{
	struct buf l = link_msg(n, n, false);
	struct nlmsghdr *h = (struct nlmsghdr *)l.p;

	h->nlmsg_seq = seq;
	((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = ifindex;
	memcpy(grow(b, NLMSG_ALIGN(l.len)), l.p, l.len);
	free(l.p);
}

/* nl_link_reply(): rtnetlink_read_pf()'s reading of the answer, datagram by datagram. */
static void test_reply(void)
{
	struct buf stale = { 0 }, link = { 0 }, ack = { 0 }, both = { 0 }, err = { 0 }, big = { 0 };
	struct pf_live *pf = pf_new(7);
	bool got = false;
	int e = 0;

	/* What an earlier request left on the socket is not this one's. */
	put_link(&stale, 3, 41, 9);
	put_ack(&stale, 41, 0);
	tap_is_int(nl_link_reply(stale.p, stale.len, 42, pf, &got, &e), 0, "reply: another request's link and ACK: more to come");
	tap_ok(!got && e == 0 && pf->ifindex == 0, "reply: ... and neither is taken (got %d, err %d, ifindex %d)", got, e, pf->ifindex);

	put_link(&link, 7, 42, 7);
	tap_is_int(nl_link_reply(link.p, link.len, 42, pf, &got, &e), 0, "reply: the link alone: the ACK is still to come");
	tap_ok(got && e == 0 && pf->ifindex == 7, "reply: the link is read (ifindex %d)", pf->ifindex);
	tap_is_int(count_right(pf, false), 7, "reply: every attribute of its 7 VFs");
	put_ack(&ack, 42, 0);
	tap_is_int(nl_link_reply(ack.p, ack.len, 42, pf, &got, &e), 1, "reply: then its ACK: done");
	tap_is_int(e, 0, "reply: ... without error");

	got = false;
	e = 0;
	tap_is_int(nl_link_reply(ack.p, ack.len, 42, pf, &got, &e), 1, "reply: an ACK without a link: done");
	tap_is_int(e, -ENODEV, "reply: ... ENODEV");

	got = false;
	e = 0;
	put_ack(&err, 42, -EPERM);
	tap_is_int(nl_link_reply(err.p, err.len, 42, pf, &got, &e), 1, "reply: the kernel's error: done");
	tap_is_int(e, -EPERM, "reply: ... with that error");

	got = false;
	e = 0;
	put_link(&both, 7, 43, 8);
	put_ack(&both, 43, 0);
	tap_is_int(nl_link_reply(both.p, both.len, 43, pf, &got, &e), 1, "reply: link and ACK in one datagram: done");
	tap_ok(got && e == 0 && pf->ifindex == 8, "reply: ... the link read (err %d, ifindex %d)", e, pf->ifindex);

	got = false;
	e = 0;
	tap_is_int(nl_link_reply(both.p, both.len - 1, 43, pf, &got, &e), 1, "reply: a message cut short: done");
	tap_is_int(e, -EBADMSG, "reply: ... EBADMSG");
	pf_free(pf);

	/* 4096 VFs, the list length wrapped, then the ACK: one message of about 800 KiB. */
	pf = pf_new(4096);
	got = false;
	e = 0;
	put_link(&big, 4096, 44, 7);
	tap_is_int(nl_link_reply(big.p, big.len, 44, pf, &got, &e), 0, "reply: 4096 VFs: the ACK is still to come");
	tap_is_int(count_right(pf, false), 4096, "reply: 4096 VFs all read");
	pf_free(pf);
	free(stale.p);
	free(link.p);
	free(ack.p);
	free(both.p);
	free(err.p);
	free(big.p);
}

int main(void)
{
	test_small();
	test_wrapped(400);
	test_wrapped(1024);
	test_wrapped(4096);
	test_gaps();
	test_more_than_pf();
	test_bad();
	test_reply();
	return tap_done();
}
