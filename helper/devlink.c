/* SPDX-License-Identifier: MIT */
/*
 * devlink (generic netlink family "devlink"): a PF's eswitch mode and the
 * representor ports of its VFs, with libnl-genl-3. One socket per call:
 * vfwarden asks at most a few times per PF and run, only where the policy
 * sets eswitch-mode or status shows a PF.
 *
 * Part of the kernel's backend (backend.h): the test build links
 * tests/fake/fake-devlink.c in its place.
 */
#include <errno.h>
#include <string.h>
#include <linux/devlink.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "devlink.h"

static const char *bus_of(const char *dev)
{
	return pci_addr_valid(dev) ? "pci" : "netdevsim";
}

static int mode_from_kernel(unsigned m, enum eswitch_mode *mode)
{
	if (m == DEVLINK_ESWITCH_MODE_LEGACY)
		*mode = ESWITCH_LEGACY;
	else if (m == DEVLINK_ESWITCH_MODE_SWITCHDEV)
		*mode = ESWITCH_SWITCHDEV;
	else
		return -EPROTO;
	return 0;
}

/* ---- generic netlink ---- */

struct dl_call {
	int err;   /* the kernel's answer: 0 or -errno */
	bool done; /* ACK or end of dump seen */
	struct pf_live *pf; /* port dump: where representors go */
	const char *bus, *dev;
	enum eswitch_mode mode;
	bool have_mode;
};

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct dl_call *c = arg;

	(void)nla;
	c->err = e->error < 0 ? e->error : -e->error;
	c->done = true;
	return NL_STOP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct dl_call *)arg)->done = true;
	return NL_STOP;
}

/* A string attribute, or NULL when absent or not NUL-terminated. */
static const char *attr_str(const struct nlattr *a)
{
	if (!a || nla_len(a) < 1 || memchr(nla_data(a), '\0', (size_t)nla_len(a)) == NULL)
		return NULL;
	return nla_data(a);
}

static bool attr_u16(const struct nlattr *a, unsigned *v)
{
	uint16_t x;

	if (!a || nla_len(a) < 2)
		return false;
	memcpy(&x, nla_data(a), sizeof(x));
	*v = x;
	return true;
}

/* Whether the message names the device asked about. */
static bool same_dev(struct nlattr **tb, const struct dl_call *c)
{
	const char *bus = attr_str(tb[DEVLINK_ATTR_BUS_NAME]), *dev = attr_str(tb[DEVLINK_ATTR_DEV_NAME]);

	return bus && dev && streq(bus, c->bus) && streq(dev, c->dev);
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct dl_call *c = arg;
	struct nlattr *tb[DEVLINK_ATTR_MAX + 1];
	unsigned v, flavour, vf;
	const char *name;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, DEVLINK_ATTR_MAX, NULL) < 0 || !same_dev(tb, c))
		return NL_SKIP;
	if (!c->pf) {
		if (attr_u16(tb[DEVLINK_ATTR_ESWITCH_MODE], &v) && mode_from_kernel(v, &c->mode) == 0)
			c->have_mode = true;
		return NL_OK;
	}
	/* A port of another host's VF (a SmartNIC's external controller) is not ours. */
	if (tb[DEVLINK_ATTR_PORT_EXTERNAL] && nla_len(tb[DEVLINK_ATTR_PORT_EXTERNAL]) >= 1 &&
	    nla_get_u8(tb[DEVLINK_ATTR_PORT_EXTERNAL]))
		return NL_OK;
	if (attr_u16(tb[DEVLINK_ATTR_PORT_FLAVOUR], &flavour) && flavour == DEVLINK_PORT_FLAVOUR_PCI_VF &&
	    attr_u16(tb[DEVLINK_ATTR_PORT_PCI_VF_NUMBER], &vf) && vf < c->pf->n_vf &&
	    (name = attr_str(tb[DEVLINK_ATTR_PORT_NETDEV_NAME])))
		snprintf(c->pf->vf[vf].rep, sizeof(c->pf->vf[vf].rep), "%s", name);
	return NL_OK;
}

/* libnl's own errors (not the kernel's answer, which on_error keeps). */
static int nl_fail(int e)
{
	return e == -NLE_NOMEM ? -ENOMEM : -EIO;
}

/* One request to devlink about c->dev, its answers into c. */
static int dl_call(struct dl_call *c, uint8_t cmd, int flags, int mode)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	struct nl_cb *cb = NULL;
	int family, r;

	if (!sk)
		return -ENOMEM;
	if ((r = genl_connect(sk)) < 0) {
		r = nl_fail(r);
		goto out;
	}
	/* No devlink family: a kernel without CONFIG_NET_DEVLINK. */
	if ((family = genl_ctrl_resolve(sk, DEVLINK_GENL_NAME)) < 0) {
		r = -EOPNOTSUPP;
		goto out;
	}
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	r = -ENOMEM;
	if (!msg || !cb || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags | NLM_F_ACK, cmd,
					DEVLINK_GENL_VERSION) ||
	    nla_put_string(msg, DEVLINK_ATTR_BUS_NAME, c->bus) < 0 ||
	    nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, c->dev) < 0 ||
	    (mode >= 0 && nla_put_u16(msg, DEVLINK_ATTR_ESWITCH_MODE, (uint16_t)mode) < 0))
		goto out;
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, c);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, c);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, c);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, c);
	if ((r = nl_send_auto(sk, msg)) < 0) {
		r = nl_fail(r);
		goto out;
	}
	r = 0;
	while (!c->done && r >= 0)
		r = nl_recvmsgs(sk, cb);
	r = c->err < 0 ? c->err : r < 0 ? nl_fail(r) : 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	nl_socket_free(sk);
	return r;
}

int devlink_eswitch_get(const char *dev, enum eswitch_mode *mode)
{
	struct dl_call c = { .bus = bus_of(dev), .dev = dev };
	int r;

	/* ENODEV: no devlink instance for the device (igb registers none). */
	if ((r = dl_call(&c, DEVLINK_CMD_ESWITCH_GET, 0, -1)) < 0)
		return r == -ENODEV ? -EOPNOTSUPP : r;
	if (!c.have_mode)
		return -EPROTO;
	*mode = c.mode;
	return 0;
}

int devlink_eswitch_set(const char *dev, enum eswitch_mode mode)
{
	struct dl_call c = { .bus = bus_of(dev), .dev = dev };

	return dl_call(&c, DEVLINK_CMD_ESWITCH_SET, 0,
		       mode == ESWITCH_SWITCHDEV ? DEVLINK_ESWITCH_MODE_SWITCHDEV : DEVLINK_ESWITCH_MODE_LEGACY);
}

/*
 * A dump of every devlink port: Linux 6.1 ignores the device given in a
 * dump request (later kernels filter by it), so ports are matched here.
 */
int devlink_read_reps(struct pf_live *pf)
{
	struct dl_call c = { .bus = bus_of(pf->pci), .dev = pf->pci, .pf = pf };

	for (unsigned i = 0; i < pf->n_vf; i++)
		pf->vf[i].rep[0] = '\0';
	return dl_call(&c, DEVLINK_CMD_PORT_GET, NLM_F_DUMP, -1);
}
