/* SPDX-License-Identifier: MIT */
/* The backend of the installed program: the kernel (backend.h). */
#include <string.h>

#include "kernel.h"

static int host_init(struct roots *r)
{
	strcpy(r->sys, "/sys");
	strcpy(r->proc, "/proc");
	strcpy(r->run, "/run/vfwarden");
	strcpy(r->qemu_run, "/run/libvirt/qemu");
	r->etc[0] = '\0';
	r->libvirt_sock[0] = '\0';
	return 0;
}

static int host_probe(const struct vf_live *vf, const char *driver)
{
	return vf_probe_check(vf, driver, vf_probe(vf));
}

static const struct backend host_backend = {
	.name = "host backend",
	.init = host_init,
	.syslog = true,
	.perm_mac = ethtool_perm_mac,
	.probe = host_probe,
	.module_load = kmod_load,
	.nl_open = rtnetlink_open,
	.nl_close = rtnetlink_close,
	.nl_read_pf = rtnetlink_read_pf,
	.nl_set_vfs = rtnetlink_set_vfs,
	.nl_global_addr = rtnetlink_global_addr,
	.nl_set_up = rtnetlink_set_up,
	.nl_read_mtu = rtnetlink_read_mtu,
	.nl_set_mtu = rtnetlink_set_mtu,
};

const struct backend *const backend = &host_backend;
