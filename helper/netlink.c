/* SPDX-License-Identifier: MIT */
/*
 * VF attributes over rtnetlink: libnl-3 for the socket and the messages,
 * libnl-route-3 for the link itself; the VF list is read and written here
 * (see nl_parse_link() for why), and the answer to a PF's RTM_GETLINK is
 * received here too (rtnetlink_read_pf()).
 * These are the host backend's calls (kernel.h); the core reaches them
 * through netlink.h's nlh_*() (backend.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/msg.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "kernel.h"
#include "vfattr.h"

struct nlh {
	struct nl_sock *sk;
	struct nl_cache *addrs; /* every address of the host, dumped on first use */
	/* rtnetlink_read_pf()'s: its own sequence numbers and receive buffer */
	uint32_t seq;
	void *rx;
	size_t rx_cap;
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

/* ---- libnl ---- */

int rtnetlink_open(struct nlh **ret)
{
	struct nlh *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
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
	/*
	 * A PF with many VFs answers RTM_GETLINK with one large message, about
	 * 200 bytes a VF (4096: about 800 KiB). The kernel queues its ACK
	 * behind it; when the two exceed the receive buffer (SO_RCVBUF stops
	 * at rmem_max, 208 KiB) it drops the ACK and the socket reads ENOBUFS
	 * (seen at 4096 netdevsim VFs). As root, force a buffer that holds both.
	 * That reply is read by rtnetlink_read_pf(), not libnl, which reads
	 * the rest (ACKs, the address dump) peeking at each message's size.
	 */
	nl_socket_set_buffer_size(h->sk, 1024 * 1024, 1024 * 1024);
	(void)setsockopt(nl_socket_get_fd(h->sk), SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 8 << 20 }, sizeof(int));
	*ret = h;
	return 0;
}

void rtnetlink_close(struct nlh *h)
{
	if (h->addrs)
		nl_cache_free(h->addrs);
	if (h->sk)
		nl_socket_free(h->sk);
	if (h->rx)
		munmap(h->rx, h->rx_cap);
	free(h);
}

/* ---- addresses: RTM_GETADDR, one dump per handle ---- */

static void format_addr(struct rtnl_addr *a, char *buf, size_t size)
{
	struct nl_addr *l = rtnl_addr_get_local(a);
	char s[INET6_ADDRSTRLEN] = "?";

	if (l)
		inet_ntop(rtnl_addr_get_family(a), nl_addr_get_binary_addr(l), s, sizeof(s));
	snprintf(buf, size, "%s/%d", s, rtnl_addr_get_prefixlen(a));
}

int rtnetlink_global_addr(struct nlh *h, const char *ifname, char *buf, size_t size)
{
	char p[PATH_MAX];
	unsigned long ifindex;
	int r;

	if ((r = path_join(p, sizeof(p), "%s/class/net/%s/ifindex", roots.sys, ifname)) < 0 ||
	    (r = read_uint_file(p, &ifindex)) < 0)
		return r;
	if (!h->addrs && (r = rtnl_addr_alloc_cache(h->sk, &h->addrs)) < 0) {
		h->addrs = NULL;
		return nle_to_errno(r);
	}
	for (struct nl_object *o = nl_cache_get_first(h->addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) != (int)ifindex || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE)
			continue;
		format_addr(a, buf, size);
		return 1;
	}
	return 0;
}

/* ---- reading: RTM_GETLINK, parsed here ---- */

static const struct nlattr *attr_next(const struct nlattr *a)
{
	return (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
}

static bool attr_fits(const struct nlattr *a, const char *end)
{
	return (const char *)a + NLA_HDRLEN <= end && a->nla_len >= NLA_HDRLEN &&
	       (const char *)a + a->nla_len <= end;
}

static unsigned attr_type(const struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

static const void *attr_data(const struct nlattr *a, size_t need)
{
	return a->nla_len >= NLA_HDRLEN + need ? (const char *)a + NLA_HDRLEN : NULL;
}

/* The first IFLA_VF_VLAN_INFO of an IFLA_VF_VLAN_LIST (the 802.1ad form of IFLA_VF_VLAN) into v. */
static bool parse_vlan_list(const struct nlattr *list, struct vf_attrs *v)
{
	const char *lend = (const char *)list + list->nla_len;

	for (const struct nlattr *e = attr_data(list, 0); attr_fits(e, lend); e = attr_next(e)) {
		const struct ifla_vf_vlan_info *i = attr_data(e, sizeof(*i));

		if (attr_type(e) != IFLA_VF_VLAN_INFO || !i)
			continue;
		v->vlan = i->vlan;
		v->qos = i->qos;
		if (i->vlan_proto)
			v->vlan_proto = ntohs(i->vlan_proto);
		return true;
	}
	return false;
}

/* One IFLA_VF_INFO into the VF it names (ifla_vf_mac.vf), if pf has it; each attribute as vf_keys[] says. */
static void parse_vf_info(const struct nlattr *info, struct pf_live *pf)
{
	static struct vf_attrs unread;
	static bool unread_set;
	const char *end = (const char *)info + info->nla_len;
	struct vf_attrs tmp;
	bool have_idx = false, have_list = false;
	uint32_t idx = 0;

	/* Made once, copied for each VF (4096 on a PF: issue 18 item 7). */
	if (!unread_set) {
		vf_attrs_unread(&unread);
		unread_set = true;
	}
	tmp = unread;
	for (const struct nlattr *a = attr_data(info, 0); attr_fits(a, end); a = attr_next(a)) {
		const struct ifla_vf_mac *m = attr_data(a, sizeof(*m));

		if (attr_type(a) == IFLA_VF_MAC && m) {
			idx = m->vf;
			have_idx = true;
		}
		if (attr_type(a) == IFLA_VF_VLAN_LIST)
			have_list |= parse_vlan_list(a, &tmp);
		else if (!(attr_type(a) == IFLA_VF_VLAN && have_list))
			vf_attrs_from_ifla((unsigned short)attr_type(a), attr_data(a, 0),
					   a->nla_len - NLA_HDRLEN, &tmp);
	}
	if (!have_idx || idx >= pf->n_vf)
		return;
	pf->vf[idx].nl_valid = true;
	pf->vf[idx].attrs = tmp;
}

/*
 * The kernel nests every VF in one IFLA_VFINFO_LIST, and nla_nest_end()
 * stores its length in 16 bits: past 64 KiB (about 330 VFs without the
 * counters, 222 with them, as iproute2 asks) the length wraps and every
 * parser that trusts it loses the VFs and the attributes after the list.
 * The list is the kernel's own output, one IFLA_VF_INFO per VF, right after
 * IFLA_NUM_VF: walk up to that many entries, bounded by the message, and
 * take the walk if its length agrees with the header modulo 2^16. Returns
 * the true end of the list.
 */
static const struct nlattr *parse_vf_list(const struct nlattr *list, const char *end, uint32_t num_vf,
					  struct pf_live *pf)
{
	const char *nominal = (const char *)list + NLA_ALIGN(list->nla_len);
	const struct nlattr *e = attr_data(list, 0);
	uint32_t n = 0;
	size_t walked;

	while (n < num_vf && attr_fits(e, end) && attr_type(e) == IFLA_VF_INFO) {
		e = attr_next(e);
		n++;
	}
	walked = (size_t)((const char *)e - (const char *)list);
	if ((const char *)e > end || (walked & 0xffff) != list->nla_len)
		/* Not the shape the kernel writes: trust the header, read what is inside. */
		e = attr_fits(list, end) ? (const struct nlattr *)nominal : NULL;
	if (!e)
		return NULL;
	for (const struct nlattr *v = attr_data(list, 0); v < e && attr_fits(v, (const char *)e); v = attr_next(v))
		if (attr_type(v) == IFLA_VF_INFO)
			parse_vf_info(v, pf);
	return e;
}

static void parse_mtu(const struct nlattr *a, struct link_mtu *m)
{
	const uint32_t *v = attr_data(a, sizeof(*v));

	if (!v)
		return;
	if (attr_type(a) == IFLA_MTU)
		m->mtu = *v;
	else if (attr_type(a) == IFLA_MIN_MTU)
		m->min = *v;
	else
		m->max = *v;
}

int nl_parse_link(const void *buf, size_t len, struct pf_live *pf)
{
	const struct nlmsghdr *nlh = buf;
	const struct ifinfomsg *ifi;
	const char *end;
	uint32_t num_vf = 0;

	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || nlh->nlmsg_len > len)
		return -EBADMSG;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return -EBADMSG;
	ifi = NLMSG_DATA(nlh);
	end = (const char *)nlh + nlh->nlmsg_len;
	pf->ifindex = ifi->ifi_index;
	pf->up = ifi->ifi_flags & IFF_UP;
	for (const struct nlattr *a = (const void *)((const char *)ifi + NLMSG_ALIGN(sizeof(*ifi))), *next;
	     a && attr_fits(a, end); a = next) {
		next = attr_next(a);
		if (attr_type(a) == IFLA_NUM_VF) {
			const uint32_t *v = attr_data(a, sizeof(*v));

			num_vf = v ? *v : 0;
		} else if (attr_type(a) == IFLA_MTU || attr_type(a) == IFLA_MIN_MTU || attr_type(a) == IFLA_MAX_MTU)
			parse_mtu(a, &pf->mtu);
		else if (attr_type(a) == IFLA_VFINFO_LIST)
			next = parse_vf_list(a, end, num_vf, pf);
	}
	return 0;
}

/*
 * One datagram of the answer to request seq: the first RTM_NEWLINK into pf
 * (*got), then the kernel's ACK. Messages of other requests are skipped.
 * 1 once the ACK or an error is in, with *err its outcome (0, -errno, or
 * -ENODEV when no link came); 0 when more is to come.
 */
int nl_link_reply(const void *buf, size_t len, uint32_t seq, struct pf_live *pf, bool *got, int *err)
{
	for (size_t off = 0; len - off >= NLMSG_HDRLEN;) {
		const struct nlmsghdr *m = (const void *)((const char *)buf + off);
		const struct nlmsgerr *e = NLMSG_DATA(m);

		if (m->nlmsg_len < NLMSG_HDRLEN || m->nlmsg_len > len - off) {
			*err = -EBADMSG;
			return 1;
		}
		if (m->nlmsg_seq == seq && m->nlmsg_type == NLMSG_ERROR) {
			if (m->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				*err = -EBADMSG;
			else if (!*err)
				*err = e->error < 0 ? e->error : *got ? 0 : -ENODEV;
			return 1;
		}
		if (m->nlmsg_seq == seq && m->nlmsg_type == RTM_NEWLINK && !*got) {
			*err = nl_parse_link(m, m->nlmsg_len, pf);
			*got = true;
		}
		if (NLMSG_ALIGN(m->nlmsg_len) >= len - off)
			break;
		off += NLMSG_ALIGN(m->nlmsg_len);
	}
	return 0;
}

/*
 * Room for size bytes in h->rx, kept for the handle's next request. (At
 * 4096 VFs, 800 KiB: MAP_POPULATE or MADV_POPULATE_WRITE, tried for it and
 * for the arrays of VFs, saved nothing measurable in the guest. A page
 * costs about as much populated as faulted in: BENCHMARKS.md, row 3c.)
 */
static int rx_reserve(struct nlh *h, size_t size)
{
	void *p;

	if (size <= h->rx_cap)
		return 0;
	size = (size + 4095) & ~(size_t)4095;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (h->rx)
		munmap(h->rx, h->rx_cap);
	h->rx = p;
	h->rx_cap = size;
	return 0;
}

/* The next datagram, whole, into h->rx: its length or -errno. */
static ssize_t rx_datagram(struct nlh *h)
{
	int fd = nl_socket_get_fd(h->sk), r;
	ssize_t n;

	do
		n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((r = rx_reserve(h, (size_t)n)) < 0)
		return r;
	do
		n = recv(fd, h->rx, h->rx_cap, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * RTM_GETLINK of one PF with its VF list, with RTEXT_FILTER_SKIP_STATS so
 * that each VF costs about 200 bytes (4096 VFs: about 800 KiB, one message).
 * libnl's route parser trusts the wrapped list length (nl_parse_link()
 * above), and its receive copies each message once more into a buffer of
 * its own: the answer is read and parsed here, in place, up to its ACK.
 * Its sequence numbers are the handle's own, not libnl's, which checks that
 * the answers it reads come in the order of its requests: libnl never sees
 * this exchange, and a leftover of it fails libnl's check (closed).
 */
int rtnetlink_read_pf(struct nlh *h, struct pf_live *pf)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg;
	uint32_t seq = ++h->seq;
	bool got = false;
	int r, err = 0;

	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg)
		return -ENOMEM;
	nlmsg_hdr(msg)->nlmsg_seq = seq;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, pf->ifname) < 0 ||
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS) < 0) {
		r = -EMSGSIZE;
		goto out;
	}
	if ((r = nl_send_auto(h->sk, msg)) < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	do {
		ssize_t n = rx_datagram(h);

		r = n < 0 ? (int)n : nl_link_reply(h->rx, (size_t)n, seq, pf, &got, &err);
	} while (r == 0);
	if (r > 0)
		r = err;
out:
	nlmsg_free(msg);
	return r;
}

/* A VF's netdev: the same request, without VFs to read. */
int rtnetlink_read_mtu(struct nlh *h, const char *ifname, struct link_mtu *m)
{
	struct pf_live l = { 0 };
	int r;

	snprintf(l.ifname, sizeof(l.ifname), "%s", ifname);
	if ((r = rtnetlink_read_pf(h, &l)) < 0)
		return r;
	*m = l.mtu;
	return 0;
}

/* ---- writing: RTM_SETLINK with IFLA_VF_INFO entries, built here ---- */

/* A request and the kernel's answer to it: 0 or -errno. */
static int send_ack(struct nlh *h, struct nl_msg *msg)
{
	int r;

	if ((r = nl_send_auto(h->sk, msg)) < 0 || (r = nl_wait_for_ack(h->sk)) < 0)
		return nle_to_errno(r);
	return 0;
}

/* ACT_VF_ATTR a as its rtnetlink attribute (vf_keys[a->key].ifla) with every value it carries. */
static int put_vf_attr(struct nl_msg *msg, const struct action *a)
{
	const struct vf_key_info *ki = &vf_keys[a->key];
	uint8_t buf[64];

	if (!ki->ifla || ki->written_by != a->key || ki->ifla_size > sizeof(buf))
		return -NLE_INVAL;
	/* 802.1Q goes as the plain IFLA_VF_VLAN every driver knows, 802.1ad in the list. */
	if (ki->ifla == IFLA_VF_VLAN && a->u.attr.vlan_proto != ETH_P_8021Q_) {
		struct ifla_vf_vlan_info v = { .vf = a->vf, .vlan = a->u.attr.vlan, .qos = a->u.attr.qos,
					       .vlan_proto = htons((uint16_t)a->u.attr.vlan_proto) };
		struct nlattr *list = nla_nest_start(msg, IFLA_VF_VLAN_LIST);

		if (!list || nla_put(msg, IFLA_VF_VLAN_INFO, sizeof(v), &v) < 0)
			return -NLE_NOMEM;
		return nla_nest_end(msg, list);
	}
	vf_attrs_to_ifla(a->key, &a->u.attr, a->vf, buf, sizeof(buf));
	return nla_put(msg, ki->ifla, ki->ifla_size, buf);
}

int rtnetlink_set_vfs(struct nlh *h, const struct pf_live *pf, const struct action *a, unsigned n)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = pf->ifindex };
	struct nlattr *list;
	struct nl_msg *msg;
	int r;

	/* 64 bytes an entry is more than the largest (VLAN_LIST) needs. */
	msg = nlmsg_alloc_size(NLMSG_SPACE(sizeof(ifi)) + NLA_HDRLEN + (size_t)n * 64);
	if (!msg)
		return -ENOMEM;
	r = -EMSGSIZE;
	if (!nlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, RTM_SETLINK, 0, NLM_F_REQUEST) ||
	    nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(list = nla_nest_start(msg, IFLA_VFINFO_LIST)))
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct nlattr *info = nla_nest_start(msg, IFLA_VF_INFO);

		if (!info || put_vf_attr(msg, &a[i]) < 0 || nla_nest_end(msg, info) < 0)
			goto out;
	}
	if (nla_nest_end(msg, list) < 0)
		goto out;
	r = send_ack(h, msg);
out:
	nlmsg_free(msg);
	return r;
}

int rtnetlink_set_up(struct nlh *h, const struct pf_live *pf)
{
	struct rtnl_link *orig = NULL, *change = NULL;
	int r;

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

/* By name: the kernel checks it against the netdev's min_mtu and max_mtu (EINVAL). */
int rtnetlink_set_mtu(struct nlh *h, const char *ifname, unsigned mtu)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	int r = -EMSGSIZE;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 || nla_put_string(msg, IFLA_IFNAME, ifname) < 0 ||
	    nla_put_u32(msg, IFLA_MTU, mtu) < 0)
		goto out;
	r = send_ack(h, msg);
out:
	nlmsg_free(msg);
	return r;
}
