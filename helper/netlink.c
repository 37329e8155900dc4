/* SPDX-License-Identifier: MIT */
/*
 * VF attributes over rtnetlink through libnl-route-3's SR-IOV API.
 *
 * Under VFWARDEN_TEST_ROOT the same calls read and write a plain-text
 * stand-in for the PF's VF table instead ($ROOT/netlink/<ifname>), and append
 * every write to $ROOT/netlink/log, so the CLI tests can see exactly what
 * would reach the kernel. $ROOT/netlink/<ifname>.reject lists keys the fake
 * driver refuses with EOPNOTSUPP, as igb refuses link-state.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdarg.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/msg.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "netlink.h"

struct nlh {
	struct nl_sock *sk;
};

static int nle_to_errno(int e)
{
	static const int map[][2] = {
		{ NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_INVAL, EINVAL },	{ NLE_BUSY, EBUSY },
		{ NLE_AGAIN, EAGAIN },	       { NLE_RANGE, ERANGE },	{ NLE_PERM, EPERM },
		{ NLE_NODEV, ENODEV },	       { NLE_NOMEM, ENOMEM },	{ NLE_EXIST, EEXIST },
		{ NLE_OBJ_NOTFOUND, ENOENT },  { NLE_NOACCESS, EACCES }, { NLE_PROTO_MISMATCH, EPROTONOSUPPORT },
		{ NLE_INTR, EINTR },	       { NLE_MSGSIZE, EMSGSIZE }, { NLE_NOADDR, EADDRNOTAVAIL },
	};

	if (e < 0)
		e = -e;
	for (size_t i = 0; i < ELEMENTSOF(map); i++)
		if (map[i][0] == e)
			return -map[i][1];
	return -EIO;
}

/* ---- the test stand-in ---- */

static int fake_path(char *buf, size_t size, const char *ifname, const char *suffix)
{
	return path_join(buf, size, "%s/%s%s", roots.fake_nl, ifname, suffix);
}

static void fake_parse_vf(char *line, struct vf_live *vf)
{
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(t, '=');
		long v;

		if (!eq)
			continue;
		*eq++ = '\0';
		v = strtol(eq, NULL, 0);
		if (streq(t, "mac"))
			parse_mac(eq, vf->mac);
		else if (streq(t, "vlan"))
			vf->vlan = (unsigned)v;
		else if (streq(t, "qos"))
			vf->qos = (unsigned)v;
		else if (streq(t, "proto"))
			vf->vlan_proto = streq(eq, "802.1ad") ? ETH_P_8021AD_ : ETH_P_8021Q_;
		else if (streq(t, "spoofchk"))
			vf->spoofchk = (int)v;
		else if (streq(t, "trust"))
			vf->trust = (int)v;
		else if (streq(t, "link"))
			vf->link_state = (int)v;
		else if (streq(t, "max"))
			vf->max_tx_rate = (unsigned)v;
		else if (streq(t, "min"))
			vf->min_tx_rate = (unsigned)v;
		else if (streq(t, "rss"))
			vf->query_rss = (int)v;
	}
}

static int fake_read_pf(struct pf_live *pf)
{
	char p[PATH_MAX], line[512];
	_cleanup_fclose_ FILE *f = NULL;
	int r = fake_path(p, sizeof(p), pf->ifname, "");

	if (r < 0)
		return r;
	pf->ifindex = 1;
	f = fopen(p, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long idx;
		char *sp = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "vf", 2) != 0 || !sp)
			continue;
		*sp = '\0';
		if (parse_uint(line + 2, VFS_MAX, &idx) < 0 || idx >= pf->n_vf)
			continue;
		pf->vf[idx].nl_valid = true;
		pf->vf[idx].vlan_proto = ETH_P_8021Q_;
		fake_parse_vf(sp + 1, &pf->vf[idx]);
	}
	return 0;
}

static void fake_format_vf(const struct vf_live *vf, char *buf, size_t size)
{
	char m[MAC_STR_LEN];

	snprintf(buf, size, "vf%u mac=%s vlan=%u qos=%u proto=%s spoofchk=%d trust=%d link=%d max=%u min=%u rss=%d\n",
		 vf->idx, format_mac(vf->mac, m), vf->vlan, vf->qos, vlan_proto_name(vf->vlan_proto),
		 vf->spoofchk, vf->trust, vf->link_state, vf->max_tx_rate, vf->min_tx_rate,
		 vf->query_rss);
}

static int fake_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fake_log(const char *fmt, ...)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	va_list ap;

	if (path_join(p, sizeof(p), "%s/log", roots.fake_nl) < 0 || !(f = fopen(p, "ae")))
		return -errno;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	return 0;
}

static int fake_set_vf(const struct pf_live *pf, const struct action *a)
{
	char p[PATH_MAX], line[512];
	struct vf_live *vfs;
	_cleanup_fclose_ FILE *f = NULL;
	const char *key = action_key_name(a);
	struct pf_live copy = *pf;
	int r;

	if (fake_path(p, sizeof(p), pf->ifname, ".reject") == 0 && (f = fopen(p, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (streq(line, key))
				return -EOPNOTSUPP;
		}
		fclose(f);
		f = NULL;
	}

	vfs = calloc(pf->n_vf, sizeof(*vfs));
	if (!vfs)
		return -ENOMEM;
	for (unsigned i = 0; i < pf->n_vf; i++) {
		vfs[i] = pf->vf[i];
		if (!vfs[i].nl_valid) {
			memset(vfs[i].mac, 0, MAC_LEN);
			vfs[i].vlan = vfs[i].qos = vfs[i].max_tx_rate = vfs[i].min_tx_rate = 0;
			vfs[i].vlan_proto = ETH_P_8021Q_;
			vfs[i].spoofchk = 1;
			vfs[i].trust = vfs[i].link_state = vfs[i].query_rss = 0;
		}
	}
	copy.vf = vfs;
	if ((r = fake_read_pf(&copy)) < 0)
		goto out;
	switch (a->key) {
	case KEY_MAC: memcpy(vfs[a->vf].mac, a->mac, MAC_LEN); break;
	case KEY_VLAN:
		vfs[a->vf].vlan = a->v1;
		vfs[a->vf].qos = a->v2;
		vfs[a->vf].vlan_proto = (uint16_t)a->v3;
		break;
	case KEY_SPOOFCHK: vfs[a->vf].spoofchk = (int)a->v1; break;
	case KEY_TRUST: vfs[a->vf].trust = (int)a->v1; break;
	case KEY_LINK_STATE: vfs[a->vf].link_state = (int)a->v1; break;
	case KEY_QUERY_RSS: vfs[a->vf].query_rss = (int)a->v1; break;
	case KEY_MAX_TX_RATE:
	case KEY_MIN_TX_RATE:
		vfs[a->vf].max_tx_rate = a->v1;
		vfs[a->vf].min_tx_rate = a->v2;
		break;
	default: r = -EINVAL; goto out;
	}
	if ((r = fake_path(p, sizeof(p), pf->ifname, "")) < 0)
		goto out;
	f = fopen(p, "we");
	if (!f) {
		r = -errno;
		goto out;
	}
	for (unsigned i = 0; i < pf->n_vf; i++) {
		fake_format_vf(&vfs[i], line, sizeof(line));
		fputs(line, f);
	}
	fake_log("%s vf%u %s %s\n", pf->ifname, a->vf, key, a->to);
out:
	free(vfs);
	return r;
}

/* ---- libnl ---- */

int nlh_open(struct nlh **ret)
{
	struct nlh *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	if (roots.test) {
		*ret = h;
		return 0;
	}
	h->sk = nl_socket_alloc();
	if (!h->sk) {
		free(h);
		return -ENOMEM;
	}
	r = nl_connect(h->sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(h->sk);
		free(h);
		return nle_to_errno(r);
	}
	/* A PF with many VFs answers RTM_GETLINK with a large message. */
	nl_socket_set_msg_buf_size(h->sk, 1024 * 1024);
	nl_socket_set_buffer_size(h->sk, 1024 * 1024, 1024 * 1024);
	*ret = h;
	return 0;
}

void nlh_close(struct nlh *h)
{
	if (!h)
		return;
	if (h->sk)
		nl_socket_free(h->sk);
	free(h);
}

static void vf_from_nl(struct rtnl_link_vf *v, struct vf_live *vf)
{
	struct nl_addr *addr = NULL;
	nl_vf_vlans_t *vlans = NULL;
	struct nl_vf_rate rate;
	uint32_t u;

	vf->nl_valid = true;
	memset(vf->mac, 0, MAC_LEN);
	/* libnl 3.7: get_addr lends the VF's own reference (no put), get_vlans takes one. */
	if (rtnl_link_vf_get_addr(v, &addr) == 0 && addr && nl_addr_get_len(addr) >= MAC_LEN)
		memcpy(vf->mac, nl_addr_get_binary_addr(addr), MAC_LEN);
	vf->vlan = vf->qos = 0;
	vf->vlan_proto = ETH_P_8021Q_;
	if (rtnl_link_vf_get_vlans(v, &vlans) == 0 && vlans) {
		if (vlans->size > 0) {
			vf->vlan = vlans->vlans[0].vf_vlan;
			vf->qos = vlans->vlans[0].vf_vlan_qos;
			if (vlans->vlans[0].vf_vlan_proto)
				vf->vlan_proto = vlans->vlans[0].vf_vlan_proto;
		}
		rtnl_link_vf_vlan_put(vlans);
	}
	vf->spoofchk = rtnl_link_vf_get_spoofchk(v, &u) == 0 ? (int)u : -1;
	vf->trust = rtnl_link_vf_get_trust(v, &u) == 0 ? (int)u : -1;
	vf->link_state = rtnl_link_vf_get_linkstate(v, &u) == 0 ? (int)u : -1;
	vf->query_rss = rtnl_link_vf_get_rss_query_en(v, &u) == 0 ? (int)u : -1;
	vf->max_tx_rate = vf->min_tx_rate = 0;
	if (rtnl_link_vf_get_rate(v, &rate) == 0) {
		if (rate.api == RTNL_LINK_VF_RATE_API_OLD)
			vf->max_tx_rate = rate.rate;
		else {
			vf->max_tx_rate = rate.max_tx_rate;
			vf->min_tx_rate = rate.min_tx_rate;
		}
	}
}

static void got_link(struct nl_object *o, void *arg)
{
	struct rtnl_link **link = arg;

	if (!*link) {
		nl_object_get(o);
		*link = (struct rtnl_link *)o;
	}
}

static int on_link_msg(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, got_link, arg);
	return NL_OK;
}

/*
 * RTM_GETLINK of one PF with its VF list, as rtnl_link_get_kernel() asks,
 * but with RTEXT_FILTER_SKIP_STATS: the kernel nests every VF in one
 * IFLA_VFINFO_LIST whose 16-bit length wraps past 64 KiB. With the per-VF
 * counters (what iproute2 gets) that happens after about 222 VFs (netdevsim,
 * 6.1), without them after about 330 (300 read back whole here). VFs past
 * that come back unreadable and are written blind on every run.
 * The reply is parsed by libnl's own route/link parser.
 */
static int get_link(struct nl_sock *sk, const char *ifname, struct rtnl_link **ret)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtnl_link *link = NULL;
	struct nl_msg *msg;
	struct nl_cb *cb = NULL;
	int r;

	msg = nlmsg_alloc_simple(RTM_GETLINK, 0);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, ifname) < 0 ||
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS) < 0) {
		r = -EMSGSIZE;
		goto out;
	}
	if ((r = nl_send_auto(sk, msg)) < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	cb = nl_cb_clone(nl_socket_get_cb(sk));
	if (!cb) {
		r = -ENOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_link_msg, &link);
	if ((r = nl_recvmsgs(sk, cb)) < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	if (!link) {
		r = -ENODEV;
		goto out;
	}
	/* The request asked for an ACK (libnl's default): take it off the socket. */
	if ((r = nl_wait_for_ack(sk)) < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	*ret = link;
	link = NULL;
	r = 0;
out:
	if (link)
		rtnl_link_put(link);
	nl_cb_put(cb);
	nlmsg_free(msg);
	return r;
}

int nlh_read_pf(struct nlh *h, struct pf_live *pf)
{
	struct rtnl_link *link = NULL;
	uint32_t num = 0;
	int r;

	if (!pf->ifname[0])
		return -ENODEV;
	if (roots.test)
		return fake_read_pf(pf);
	r = get_link(h->sk, pf->ifname, &link);
	if (r < 0)
		return r;
	pf->ifindex = rtnl_link_get_ifindex(link);
	pf->up = rtnl_link_get_flags(link) & IFF_UP;
	/* rtnl_link_vf_get() dereferences the VF list: only ask when there is one. */
	if (rtnl_link_get_num_vf(link, &num) == 0 && num > 0) {
		for (unsigned i = 0; i < pf->n_vf; i++) {
			struct rtnl_link_vf *v = rtnl_link_vf_get(link, i);

			if (!v)
				continue;
			vf_from_nl(v, &pf->vf[i]);
			rtnl_link_vf_put(v);
		}
	}
	rtnl_link_put(link);
	return 0;
}

static int vf_fill(struct rtnl_link_vf *v, const struct action *a)
{
	switch (a->key) {
	case KEY_MAC: {
		struct nl_addr *addr = nl_addr_build(AF_LLC, a->mac, MAC_LEN);

		if (!addr)
			return -ENOMEM;
		rtnl_link_vf_set_addr(v, addr);
		nl_addr_put(addr);
		return 0;
	}
	case KEY_VLAN: {
		nl_vf_vlans_t *vlans = NULL;

		if (rtnl_link_vf_vlan_alloc(&vlans, 1) < 0)
			return -ENOMEM;
		vlans->vlans[0].vf_vlan = a->v1;
		vlans->vlans[0].vf_vlan_qos = a->v2;
		/*
		 * libnl 3.7 reads vlan_proto with ntohs() but writes it as given:
		 * pass 802.1ad in network order. 802.1Q stays in host order, so
		 * libnl sends the plain IFLA_VF_VLAN that every driver knows.
		 */
		vlans->vlans[0].vf_vlan_proto = a->v3 == ETH_P_8021Q_ ? ETH_P_8021Q_ : htons((uint16_t)a->v3);
		rtnl_link_vf_set_vlans(v, vlans);
		rtnl_link_vf_vlan_put(vlans);
		return 0;
	}
	case KEY_SPOOFCHK: rtnl_link_vf_set_spoofchk(v, a->v1); return 0;
	case KEY_TRUST: rtnl_link_vf_set_trust(v, a->v1); return 0;
	case KEY_LINK_STATE: rtnl_link_vf_set_linkstate(v, a->v1); return 0;
	case KEY_QUERY_RSS: rtnl_link_vf_set_rss_query_en(v, a->v1); return 0;
	case KEY_MAX_TX_RATE:
	case KEY_MIN_TX_RATE: {
		/* IFLA_VF_RATE always carries both: the other keeps its value. */
		struct nl_vf_rate rate = { .api = RTNL_LINK_VF_RATE_API_NEW,
					   .max_tx_rate = a->v1, .min_tx_rate = a->v2 };

		rtnl_link_vf_set_rate(v, &rate);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int nlh_set_vf(struct nlh *h, const struct pf_live *pf, const struct action *a)
{
	struct rtnl_link *orig = NULL, *change = NULL;
	struct rtnl_link_vf *v = NULL;
	int r;

	if (roots.test)
		return fake_set_vf(pf, a);
	orig = rtnl_link_alloc();
	change = rtnl_link_alloc();
	v = rtnl_link_vf_alloc();
	if (!orig || !change || !v) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_link_set_ifindex(orig, pf->ifindex);
	rtnl_link_vf_set_index(v, a->vf);
	if ((r = vf_fill(v, a)) < 0)
		goto out;
	if ((r = rtnl_link_vf_add(change, v)) < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	r = rtnl_link_change(h->sk, orig, change, 0);
	if (r < 0)
		r = nle_to_errno(r);
out:
	if (v)
		rtnl_link_vf_put(v);
	if (change)
		rtnl_link_put(change);
	if (orig)
		rtnl_link_put(orig);
	return r;
}

int nlh_set_up(struct nlh *h, const struct pf_live *pf)
{
	struct rtnl_link *orig = NULL, *change = NULL;
	int r;

	if (roots.test) {
		char p[PATH_MAX];

		if ((r = path_join(p, sizeof(p), "%s/class/net/%s/flags", roots.sys, pf->ifname)) < 0 ||
		    (r = write_string_file(p, "0x1003\n")) < 0)
			return r;
		return fake_log("%s up\n", pf->ifname);
	}
	orig = rtnl_link_alloc();
	change = rtnl_link_alloc();
	if (!orig || !change) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_link_set_ifindex(orig, pf->ifindex);
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(h->sk, orig, change, 0);
	if (r < 0)
		r = nle_to_errno(r);
out:
	if (change)
		rtnl_link_put(change);
	if (orig)
		rtnl_link_put(orig);
	return r;
}
