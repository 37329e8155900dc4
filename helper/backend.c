/* SPDX-License-Identifier: MIT */
/* The core's calls into the backend linked in (backend.h). */
#include <errno.h>
#include <string.h>

#include "netlink.h"

struct roots roots;

int backend_init(void)
{
	memset(&roots, 0, sizeof(roots));
	return backend->init(&roots);
}

int nlh_open(struct nlh **ret)
{
	return backend->nl_open(ret);
}

void nlh_close(struct nlh *h)
{
	if (h)
		backend->nl_close(h);
}

int nlh_read_pf(struct nlh *h, struct pf_live *pf)
{
	if (!pf->ifname[0])
		return -ENODEV;
	return backend->nl_read_pf(h, pf);
}

int nlh_set_vfs(struct nlh *h, const struct pf_live *pf, const struct action *a, unsigned n)
{
	if (n == 0 || n > NLH_BATCH_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (a[i].type != ACT_VF_ATTR)
			return -EINVAL;
	return backend->nl_set_vfs(h, pf, a, n);
}

int nlh_set_vf(struct nlh *h, const struct pf_live *pf, const struct action *a)
{
	return nlh_set_vfs(h, pf, a, 1);
}

int nlh_global_addr(struct nlh *h, const char *ifname, char *buf, size_t size)
{
	return backend->nl_global_addr(h, ifname, buf, size);
}

int nlh_set_up(struct nlh *h, const struct pf_live *pf)
{
	return backend->nl_set_up(h, pf);
}

int nlh_read_mtu(struct nlh *h, const char *ifname, struct link_mtu *m)
{
	memset(m, 0, sizeof(*m));
	if (!ifname[0])
		return -ENODEV;
	return backend->nl_read_mtu(h, ifname, m);
}

int nlh_set_mtu(struct nlh *h, const char *ifname, unsigned mtu)
{
	if (!ifname[0])
		return -ENODEV;
	return backend->nl_set_mtu(h, ifname, mtu);
}
