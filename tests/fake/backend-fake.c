/* SPDX-License-Identifier: MIT */
/*
 * The test backend (helper/backend.h), linked into build/vfwarden-test
 * only: the host is the directory $VFWARDEN_TEST_ROOT. sysfs is read from
 * $ROOT/sys, processes from $ROOT/proc, the runtime directory is
 * $ROOT/run/vfwarden, the policy $ROOT/etc/vfwarden. rtnetlink is a
 * plain-text stand-in for each PF's VF table ($ROOT/netlink/<ifname>), and
 * every write is appended to $ROOT/netlink/log, so the CLI tests can see
 * exactly what would reach the kernel. $ROOT/netlink/<ifname>.reject lists
 * keys the fake driver refuses with EOPNOTSUPP, as igb refuses link-state.
 * A netdev's MTU is $ROOT/sys/class/net/<ifname>/mtu (1500 when absent),
 * its range $ROOT/netlink/<ifname>.mtu-range, "MIN MAX" (68 0 when absent:
 * max 0 is the kernel's "no maximum"); a write out of range is EINVAL.
 *
 * Nothing happens behind a sysfs write: drivers_probe binds nothing, so a
 * probe is not checked, and no module loads.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "netlink.h"
#include "vfattr.h"

static char fake_nl[PATH_MAX];

struct nlh {
	int unused;
};

static int fake_path(char *buf, size_t size, const char *ifname, const char *suffix)
{
	return path_join(buf, size, "%s/%s%s", fake_nl, ifname, suffix);
}

/*
 * A VF's line: "vfN KEY=VALUE ...", a KEY per VF key of the kernel
 * (vf_keys[] with an rtnetlink attribute): these names, or its JSON name.
 * A MAC as a MAC, an enum the driver always reports by name, the rest as
 * numbers. A key past query-rss is written only when not at its default.
 */
static const char *const text_names[_KEY_VF_MAX] = {
	[KEY_VLAN_PROTO] = "proto", [KEY_LINK_STATE] = "link", [KEY_MAX_TX_RATE] = "max",
	[KEY_MIN_TX_RATE] = "min",  [KEY_QUERY_RSS] = "rss",
};

static const char *text_name(int k)
{
	return text_names[k] ? text_names[k] : vf_keys[k].json;
}

static bool by_name(int k)
{
	return vf_keys[k].kind == VK_ENUM && !vf_keys[k].optional;
}

static void fake_parse_vf(char *line, struct vf_live *vf)
{
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(t, '=');

		if (!eq)
			continue;
		*eq++ = '\0';
		for (int k = 0; k < _KEY_VF_MAX; k++) {
			const char *n;

			if (!vf_keys[k].ifla || !streq(t, text_name(k)))
				continue;
			if (vf_keys[k].kind == VK_MAC)
				parse_mac(eq, vf->mac);
			else if (by_name(k))
				vf_attr_set((enum vf_key)k, &vf->attrs, vf_keys[k].dflt);
			else
				vf_attr_set((enum vf_key)k, &vf->attrs, strtol(eq, NULL, 0));
			for (const struct vf_name *v = vf_keys[k].names; by_name(k) && (n = v->name); v++)
				if (streq(n, eq))
					vf_attr_set((enum vf_key)k, &vf->attrs, v->value);
		}
	}
}

static int fake_read_mtu(const char *ifname, struct link_mtu *m)
{
	char p[PATH_MAX], line[64];
	unsigned long v;
	int r;

	m->mtu = 1500;
	m->min = 68;
	m->max = 0;
	if ((r = path_join(p, sizeof(p), "%s/class/net/%s/mtu", roots.sys, ifname)) < 0)
		return r;
	if (read_uint_file(p, &v) == 0)
		m->mtu = (unsigned)v;
	if ((r = fake_path(p, sizeof(p), ifname, ".mtu-range")) < 0)
		return r;
	if (read_line_file(p, line, sizeof(line)) >= 0 && sscanf(line, "%u %u", &m->min, &m->max) != 2)
		return -EINVAL;
	return 0;
}

static int fake_mtu(struct nlh *h, const char *ifname, struct link_mtu *m)
{
	(void)h;
	return fake_read_mtu(ifname, m);
}

static int fake_read_pf(struct pf_live *pf)
{
	char p[PATH_MAX], line[512];
	_cleanup_fclose_ FILE *f = NULL;
	int r = fake_path(p, sizeof(p), pf->ifname, "");

	if (r < 0)
		return r;
	pf->ifindex = 1;
	if ((r = fake_read_mtu(pf->ifname, &pf->mtu)) < 0)
		return r;
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
		for (int k = KEY_QUERY_RSS + 1; k < _KEY_VF_MAX; k++)
			if (vf_keys[k].ifla && vf_keys[k].kind != VK_MAC)
				vf_attr_set((enum vf_key)k, &pf->vf[idx].attrs, vf_keys[k].dflt);
		fake_parse_vf(sp + 1, &pf->vf[idx]);
	}
	return 0;
}

/* The keys up to query-rss are always in a line (the tests compare whole lines), a later one when set. */
static bool at_default(int k, const struct vf_live *vf)
{
	return vf_keys[k].kind != VK_MAC && vf_attr_get((enum vf_key)k, &vf->attrs) == vf_keys[k].dflt;
}

static void fake_write_vf(FILE *f, const struct vf_live *vf)
{
	char v[MAC_STR_LEN];

	fprintf(f, "vf%u", vf->idx);
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		if (!vf_keys[k].ifla || (k > KEY_QUERY_RSS && at_default(k, vf)))
			continue;
		if (vf_keys[k].kind == VK_MAC || by_name(k)) {
			fprintf(f, " %s=%s", text_name(k), vf_attr_str((enum vf_key)k, &vf->attrs, v, sizeof(v)));
			continue;
		}
		fprintf(f, " %s=%lld", text_name(k), vf_attr_get((enum vf_key)k, &vf->attrs));
	}
	fputc('\n', f);
}

static int fake_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fake_log(const char *fmt, ...)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	va_list ap;

	if (path_join(p, sizeof(p), "%s/log", fake_nl) < 0 || !(f = fopen(p, "ae")))
		return -errno;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	return 0;
}

static int fake_set_mtu(struct nlh *h, const char *ifname, unsigned mtu)
{
	char p[PATH_MAX], v[16];
	struct link_mtu m;
	int r;

	(void)h;
	if ((r = fake_read_mtu(ifname, &m)) < 0)
		return r;
	if (mtu < m.min || (m.max && mtu > m.max))
		return -EINVAL;
	snprintf(v, sizeof(v), "%u\n", mtu);
	if ((r = path_join(p, sizeof(p), "%s/class/net/%s/mtu", roots.sys, ifname)) < 0 ||
	    (r = write_string_file(p, v)) < 0)
		return r;
	return fake_log("%s mtu %u\n", ifname, mtu);
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
		if (!vfs[i].nl_valid)
			vf_attrs_default(&vfs[i].attrs);
	}
	copy.vf = vfs;
	if ((r = fake_read_pf(&copy)) < 0)
		goto out;
	r = -EINVAL;
	if (!vf_keys[a->key].ifla || vf_keys[a->key].written_by != a->key)
		goto out;
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (vf_key_same_ifla(a->key, (enum vf_key)k))
			vf_attr_copy((enum vf_key)k, &vfs[a->vf].attrs, &a->u.attr);
	if ((r = fake_path(p, sizeof(p), pf->ifname, "")) < 0)
		goto out;
	f = fopen(p, "we");
	if (!f) {
		r = -errno;
		goto out;
	}
	for (unsigned i = 0; i < pf->n_vf; i++)
		fake_write_vf(f, &vfs[i]);
	fake_log("%s vf%u %s %s\n", pf->ifname, a->vf, key, a->to);
out:
	free(vfs);
	return r;
}

/* $ROOT/netlink/addr: "IFNAME ADDR/PREFIXLEN global|link|host", a line each. */
static int fake_global_addr(const char *ifname, char *buf, size_t size)
{
	char p[PATH_MAX], line[256], dev[32], addr[64], scope[16];
	_cleanup_fclose_ FILE *f = NULL;

	if (path_join(p, sizeof(p), "%s/addr", fake_nl) < 0)
		return -ENAMETOOLONG;
	if (!(f = fopen(p, "re")))
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %63s %15s", dev, addr, scope) == 3 && streq(dev, ifname) &&
		    streq(scope, "global")) {
			snprintf(buf, size, "%s", addr);
			return 1;
		}
	return 0;
}

static int fake_init(struct roots *r)
{
	const char *t = getenv("VFWARDEN_TEST_ROOT");

	/* A test build run outside the tests must not fall back on the host. */
	if (!t || !*t)
		return -ENXIO;
	if (path_join(r->sys, sizeof(r->sys), "%s/sys", t) < 0 ||
	    path_join(r->proc, sizeof(r->proc), "%s/proc", t) < 0 ||
	    path_join(r->run, sizeof(r->run), "%s/run/vfwarden", t) < 0 ||
	    path_join(r->qemu_run, sizeof(r->qemu_run), "%s/run/libvirt/qemu", t) < 0 ||
	    path_join(r->etc, sizeof(r->etc), "%s", t) < 0 ||
	    path_join(r->libvirt_sock, sizeof(r->libvirt_sock), "%s/run/libvirt/libvirt-sock-ro", t) < 0 ||
	    path_join(fake_nl, sizeof(fake_nl), "%s/netlink", t) < 0)
		return -ENAMETOOLONG;
	return 0;
}

static int fake_perm_mac(const char *ifname, uint8_t mac[MAC_LEN])
{
	(void)ifname;
	(void)mac;
	return -EOPNOTSUPP;
}

static int fake_probe(const struct vf_live *vf, const char *driver)
{
	(void)driver;
	return vf_probe(vf);
}

static int fake_module_load(const char *name)
{
	(void)name;
	return -ENOENT;
}

static int fake_open(struct nlh **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void fake_close(struct nlh *h)
{
	free(h);
}

static int fake_read(struct nlh *h, struct pf_live *pf)
{
	(void)h;
	return fake_read_pf(pf);
}

static int fake_set_vfs(struct nlh *h, const struct pf_live *pf, const struct action *a, unsigned n)
{
	int r;

	(void)h;
	for (unsigned i = 0; i < n; i++)
		if ((r = fake_set_vf(pf, &a[i])) < 0)
			return r;
	return 0;
}

static int fake_addr(struct nlh *h, const char *ifname, char *buf, size_t size)
{
	(void)h;
	return fake_global_addr(ifname, buf, size);
}

static int fake_set_up(struct nlh *h, const struct pf_live *pf)
{
	char p[PATH_MAX];
	int r;

	(void)h;
	if ((r = path_join(p, sizeof(p), "%s/class/net/%s/flags", roots.sys, pf->ifname)) < 0 ||
	    (r = write_string_file(p, "0x1003\n")) < 0)
		return r;
	return fake_log("%s up\n", pf->ifname);
}

static const struct backend fake_backend = {
	.name = "test backend (VFWARDEN_TEST_ROOT)",
	.init = fake_init,
	.syslog = false,
	.perm_mac = fake_perm_mac,
	.probe = fake_probe,
	.module_load = fake_module_load,
	.nl_open = fake_open,
	.nl_close = fake_close,
	.nl_read_pf = fake_read,
	.nl_set_vfs = fake_set_vfs,
	.nl_global_addr = fake_addr,
	.nl_set_up = fake_set_up,
	.nl_read_mtu = fake_mtu,
	.nl_set_mtu = fake_set_mtu,
};

const struct backend *const backend = &fake_backend;
