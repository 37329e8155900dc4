/* SPDX-License-Identifier: MIT */
/*
 * PFs and VFs as sysfs shows them, and the sysfs writes that create VFs and
 * bind their drivers. Every path goes through roots.sys, which the backend
 * sets (backend.h): the kernel's /sys, or a directory tree in the tests.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "host.h"

/*
 * netdevsim, the kernel's software NIC for tests, sits on its own bus and
 * has VFs without devices; every real PF and VF is a PCI function.
 */
static const char *bus_of(const char *name)
{
	return pci_addr_valid(name) ? "pci" : "netdevsim";
}

static int dev_path(char *buf, size_t size, const char *pci, const char *attr)
{
	return path_join(buf, size, "%s/bus/%s/devices/%s/%s", roots.sys, bus_of(pci), pci, attr);
}

static int read_attr(const char *pci, const char *attr, char *buf, size_t size)
{
	char p[PATH_MAX];
	int r = dev_path(p, sizeof(p), pci, attr);

	return r < 0 ? r : read_line_file(p, buf, size);
}

static int read_attr_uint(const char *pci, const char *attr, unsigned long *v)
{
	char p[PATH_MAX];
	int r = dev_path(p, sizeof(p), pci, attr);

	return r < 0 ? r : read_uint_file(p, v);
}

/* Last path component of a symlink's target, e.g. a driver or group name. */
static int read_link_base(const char *path, char *buf, size_t size)
{
	char t[PATH_MAX];
	ssize_t n = readlink(path, t, sizeof(t) - 1);
	const char *b;

	if (n < 0)
		return -errno;
	t[n] = '\0';
	b = strrchr(t, '/');
	b = b ? b + 1 : t;
	if (strlen(b) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, b);
	return 0;
}

static void read_driver(const char *pci, char *buf, size_t size)
{
	char p[PATH_MAX];

	buf[0] = '\0';
	if (dev_path(p, sizeof(p), pci, "driver") == 0 && read_link_base(p, buf, size) < 0)
		buf[0] = '\0';
}

/* First netdev of a PCI function (mlx4 has two ports on one: take the first). */
static void read_netdev(const char *pci, char *buf, size_t size)
{
	char p[PATH_MAX];
	struct dirent **list = NULL;
	int n;

	buf[0] = '\0';
	if (dev_path(p, sizeof(p), pci, "net") < 0)
		return;
	n = scandir(p, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (!buf[0] && list[i]->d_name[0] != '.' && strlen(list[i]->d_name) < size)
			strcpy(buf, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

static void read_perm_mac(struct pf_live *pf)
{
	char p[PATH_MAX], buf[64];

	pf->have_perm_mac = false;
	if (!pf->ifname[0])
		return;
	if (backend->perm_mac(pf->ifname, pf->perm_mac) == 0 && !mac_is_zero(pf->perm_mac)) {
		pf->have_perm_mac = true;
		return;
	}
	/* No permanent address from the driver: the current one is the best we have. */
	if (path_join(p, sizeof(p), "%s/class/net/%s/address", roots.sys, pf->ifname) == 0 &&
	    read_line_file(p, buf, sizeof(buf)) == 0 && parse_mac(buf, pf->perm_mac) == 0)
		pf->have_perm_mac = true;
}

void pf_read_names(struct pf_live *pf)
{
	read_netdev(pf->pci, pf->ifname, sizeof(pf->ifname));
	read_perm_mac(pf);
}

/* A PCI ID as sysfs writes it: "0x8086". */
static int read_attr_id(const char *pci, const char *attr, uint16_t *v)
{
	char p[PATH_MAX], buf[16];
	int r = dev_path(p, sizeof(p), pci, attr);

	if (r < 0 || (r = read_line_file(p, buf, sizeof(buf))) < 0)
		return r;
	if (strlen(buf) != 6 || buf[0] != '0' || buf[1] != 'x' || strspn(buf + 2, "0123456789abcdefABCDEF") != 4)
		return -EINVAL;
	*v = (uint16_t)strtoul(buf + 2, NULL, 16);
	return 0;
}

/* netdevsim's devices are not PCI: no vendor or device, and no pci-id matches them. */
static void read_ids(struct pf_live *pf)
{
	pf->have_ids = read_attr_id(pf->pci, "vendor", &pf->vendor) == 0 &&
		       read_attr_id(pf->pci, "device", &pf->device_id) == 0;
	if (!pf->have_ids)
		pf->vendor = pf->device_id = 0;
}

void pf_read_select(struct pf_live *pf)
{
	read_driver(pf->pci, pf->driver, sizeof(pf->driver));
	read_ids(pf);
}

int vf_read_physfn(const char *vf, char pf_pci[PCI_ADDR_LEN])
{
	char p[PATH_MAX];
	int r;

	if (pci_addr_valid(vf))
		r = dev_path(p, sizeof(p), vf, "physfn");
	else if (ifname_valid(vf)) /* one path component: no '/', no ".." */
		r = path_join(p, sizeof(p), "%s/class/net/%s/device/physfn", roots.sys, vf);
	else
		return -EINVAL;
	if (r < 0)
		return r;
	if ((r = read_link_base(p, pf_pci, PCI_ADDR_LEN)) < 0)
		return r;
	return pci_addr_valid(pf_pci) ? 0 : -EINVAL;
}

int pf_read_carrier(const struct pf_live *pf, bool *carrier)
{
	char p[PATH_MAX], buf[16];
	int r = path_join(p, sizeof(p), "%s/class/net/%s/carrier", roots.sys, pf->ifname);

	if (r < 0)
		return r;
	/* Reading carrier of a down interface gives EINVAL. */
	r = read_line_file(p, buf, sizeof(buf));
	*carrier = r == 0 && streq(buf, "1");
	return r == -EINVAL ? 0 : r;
}

/*
 * The VF's VFIO device cdev: with CONFIG_VFIO_DEVICE_CDEV a VF bound to a
 * vfio driver has vfio-dev/vfioN, and QEMU given an iommufd object opens
 * /dev/vfio/devices/vfioN (with /dev/iommu) instead of the group.
 */
static void read_vfio_dev(struct vf_live *vf)
{
	char p[PATH_MAX];
	unsigned long n;
	struct dirent *e;
	DIR *d;

	vf->vfio_dev[0] = '\0';
	if (dev_path(p, sizeof(p), vf->pci, "vfio-dev") < 0 || !(d = opendir(p)))
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "vfio", 4) == 0 && parse_uint(e->d_name + 4, INT_MAX, &n) == 0 &&
		    strlen(e->d_name) < sizeof(vf->vfio_dev)) {
			strcpy(vf->vfio_dev, e->d_name);
			break;
		}
	closedir(d);
}

static void vf_scan(const struct pf_live *pf, bool pci, struct vf_live *vf, unsigned idx)
{
	char p[PATH_MAX], link[32];

	memset(vf, 0, sizeof(*vf));
	vf->idx = idx;
	vf->iommu_group = -1;
	vf->spoofchk = vf->trust = vf->query_rss = vf->link_state = -1;
	if (!pci) {
		vf->no_device = true;
		return;
	}
	snprintf(link, sizeof(link), "virtfn%u", idx);
	if (dev_path(p, sizeof(p), pf->pci, link) < 0 || read_link_base(p, vf->pci, sizeof(vf->pci)) < 0)
		return;
	read_driver(vf->pci, vf->driver, sizeof(vf->driver));
	if (read_attr(vf->pci, "driver_override", vf->override, sizeof(vf->override)) < 0 ||
	    streq(vf->override, "(null)"))
		vf->override[0] = '\0';
	read_netdev(vf->pci, vf->netdev, sizeof(vf->netdev));
	if (dev_path(p, sizeof(p), vf->pci, "iommu_group") == 0) {
		unsigned long g;

		if (read_link_base(p, link, sizeof(link)) == 0 && parse_uint(link, INT_MAX, &g) == 0)
			vf->iommu_group = (int)g;
	}
	read_vfio_dev(vf);
}

int pf_scan(struct pf_live *pf)
{
	unsigned long v;
	char p[PATH_MAX], buf[32];
	int r;

	if ((r = read_attr_uint(pf->pci, "sriov_totalvfs", &v)) < 0)
		return r;
	pf->totalvfs = (unsigned)v;
	pf->numvfs = read_attr_uint(pf->pci, "sriov_numvfs", &v) == 0 ? (unsigned)v : 0;
	pf->autoprobe = read_attr_uint(pf->pci, "sriov_drivers_autoprobe", &v) == 0 ? (int)v : -1;
	pf_read_select(pf);
	read_netdev(pf->pci, pf->ifname, sizeof(pf->ifname));
	read_perm_mac(pf);
	pf->carrier = false;
	pf->up = false;
	if (pf->ifname[0]) {
		pf_read_carrier(pf, &pf->carrier);
		if (path_join(p, sizeof(p), "%s/class/net/%s/flags", roots.sys, pf->ifname) == 0 &&
		    read_line_file(p, buf, sizeof(buf)) == 0)
			pf->up = strtoul(buf, NULL, 16) & IFF_UP;
		if (path_join(p, sizeof(p), "%s/class/net/%s/speed", roots.sys, pf->ifname) < 0 ||
		    read_line_file(p, pf->speed, sizeof(pf->speed)) < 0)
			pf->speed[0] = '\0';
	}

	free(pf->vf);
	pf->vf = NULL;
	pf->n_vf = 0;
	if (pf->numvfs) {
		pf->vf = calloc(pf->numvfs, sizeof(*pf->vf));
		if (!pf->vf)
			return -ENOMEM;
		bool pci = pci_addr_valid(pf->pci);

		for (unsigned i = 0; i < pf->numvfs; i++)
			vf_scan(pf, pci, &pf->vf[i], i);
		pf->n_vf = pf->numvfs;
	}
	return 0;
}

static int pci_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int scan_bus(struct host *h, const char *bus)
{
	char p[PATH_MAX];
	struct dirent **list = NULL;
	int n, r = 0;

	if ((r = path_join(p, sizeof(p), "%s/bus/%s/devices", roots.sys, bus)) < 0)
		return r;
	n = scandir(p, &list, pci_filter, alphasort);
	if (n < 0)
		return errno == ENOENT && !streq(bus, "pci") ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char a[PATH_MAX];
		struct pf_live *np;

		/* A PF is a function that can do SR-IOV and is not itself a VF. */
		if (r < 0 || strlen(name) >= PCI_ADDR_LEN || !streq(bus_of(name), bus) ||
		    dev_path(a, sizeof(a), name, "sriov_totalvfs") < 0 || access(a, F_OK) < 0 ||
		    (dev_path(a, sizeof(a), name, "physfn") == 0 && access(a, F_OK) == 0))
			goto next;
		np = realloc(h->pf, (h->n_pf + 1) * sizeof(*np));
		if (!np) {
			r = -ENOMEM;
			goto next;
		}
		h->pf = np;
		memset(&h->pf[h->n_pf], 0, sizeof(*h->pf));
		strcpy(h->pf[h->n_pf].pci, name);
		if (pf_scan(&h->pf[h->n_pf]) == 0)
			h->n_pf++;
		else
			free(h->pf[h->n_pf].vf);
	next:
		free(list[i]);
	}
	free(list);
	return r;
}

int host_scan(struct host *h)
{
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = scan_bus(h, "pci")) < 0)
		return r;
	return scan_bus(h, "netdevsim");
}

void host_free(struct host *h)
{
	for (unsigned i = 0; i < h->n_pf; i++)
		free(h->pf[i].vf);
	free(h->pf);
	memset(h, 0, sizeof(*h));
}

int host_find(const struct host *h, const char *spec)
{
	uint8_t mac[MAC_LEN];
	bool is_mac = parse_mac(spec, mac) == 0;
	char path[PATH_MAX];
	const char *base;
	size_t n = strlen(spec);

	/* A sysfs path: /sys/bus/pci/devices/0000:01:00.0 or /sys/class/net/eth0/ */
	while (n > 1 && spec[n - 1] == '/')
		n--;
	if (n >= sizeof(path))
		return -ENOENT;
	memcpy(path, spec, n);
	path[n] = '\0';
	base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : path;
	for (unsigned i = 0; i < h->n_pf; i++) {
		const struct pf_live *pf = &h->pf[i];

		if (streq(pf->pci, base) || (pf->ifname[0] && streq(pf->ifname, base)) ||
		    (is_mac && pf->have_perm_mac && memcmp(pf->perm_mac, mac, MAC_LEN) == 0))
			return (int)i;
	}
	return -ENOENT;
}

bool pf_match_select(const struct pf_live *pf, const struct pf_select *sel)
{
	if (sel->driver[0] && !streq(pf->driver, sel->driver))
		return false;
	return !sel->pci_id || (pf->have_ids && pf->vendor == sel->vendor && pf->device_id == sel->device);
}

int pf_match_policy(const struct pf_live *pf, const struct pf_policy *pol)
{
	if (pol->selector)
		return pf_match_select(pf, &pol->sel);
	switch (pol->device_kind) {
	case DEVICE_PCI:
		return streq(pf->pci, pol->device);
	case DEVICE_IFNAME:
		return pf->ifname[0] && streq(pf->ifname, pol->device);
	case DEVICE_MAC:
		return pf->have_perm_mac && memcmp(pf->perm_mac, pol->device_mac, MAC_LEN) == 0;
	}
	return 0;
}

int pf_write_numvfs(const struct pf_live *pf, unsigned n)
{
	char p[PATH_MAX], v[16];
	int r = dev_path(p, sizeof(p), pf->pci, "sriov_numvfs");

	if (r < 0)
		return r;
	snprintf(v, sizeof(v), "%u", n);
	return write_string_file(p, v);
}

int pf_write_autoprobe(const struct pf_live *pf, bool on)
{
	char p[PATH_MAX];
	int r = dev_path(p, sizeof(p), pf->pci, "sriov_drivers_autoprobe");

	return r < 0 ? r : write_string_file(p, on ? "1" : "0");
}

int vf_unbind(const struct vf_live *vf)
{
	char p[PATH_MAX];
	int r;

	if (!vf->driver[0])
		return 0;
	if ((r = path_join(p, sizeof(p), "%s/bus/pci/drivers/%s/unbind", roots.sys, vf->driver)) < 0)
		return r;
	r = write_string_file(p, vf->pci);
	return r == -ENODEV ? 0 : r;
}

/*
 * driver_override, as drivers/pci/pci-sysfs.c and pci-driver.c use it: a
 * name there lets only the driver of that name bind (any other name, as
 * "none", lets none bind), and an empty write ("\n") clears it. The kernel
 * probes a VF only when its PF's sriov_drivers_autoprobe is 1 or the VF's
 * driver_override is set (pci_device_can_probe()).
 */
int vf_set_override(const struct vf_live *vf, const char *driver)
{
	char p[PATH_MAX];
	int r = dev_path(p, sizeof(p), vf->pci, "driver_override");

	return r < 0 ? r : write_string_file(p, driver && *driver ? driver : "\n");
}

void vf_read_driver(const struct vf_live *vf, char *buf, size_t size)
{
	read_driver(vf->pci, buf, size);
}

/*
 * driver "vfio-pci" (or any name): bind to it through driver_override; ""
 * or NULL: clear the override and let the kernel pick the VF's own driver
 * (igbvf, iavf, ...), which it does only with the PF's autoprobe on.
 */
int vf_bind(const struct vf_live *vf, const char *driver)
{
	int r;

	if ((r = vf_unbind(vf)) < 0)
		return r;
	if ((r = vf_set_override(vf, driver)) < 0)
		return r;
	return backend->probe(vf, driver);
}

int vf_probe(const struct vf_live *vf)
{
	char p[PATH_MAX];
	int r = path_join(p, sizeof(p), "%s/bus/pci/drivers_probe", roots.sys);

	return r < 0 ? r : write_string_file(p, vf->pci);
}

/*
 * Whether a probe left vf on driver: probe_r is the drivers_probe write's
 * result, which the kernel gives as the probe's error or 0 (a driver that
 * declines is no error there).
 */
int vf_probe_check(const struct vf_live *vf, const char *driver, int probe_r)
{
	char now[32];

	read_driver(vf->pci, now, sizeof(now));
	if (driver && *driver && !streq(now, driver))
		return probe_r < 0 ? probe_r : -ENODEV;
	/* vfio-pci given the VF's IDs (ids=, new_id) is not the VF's own driver. */
	if ((!driver || !*driver) && (!now[0] || streq(now, "vfio-pci")))
		return probe_r < 0 ? probe_r : -ENODEV;
	return 0;
}

/*
 * vf-driver = none: unbound, and kept so. "none" names no driver, so that
 * no later probe (a drivers_probe write, a driver loaded, autoprobe turned
 * on) binds the VF again; the kernel's ABI document for driver_override
 * gives this use. The override goes first: unbinding probes nothing, but
 * a probe between the two writes would find the old override.
 */
int vf_keep_unbound(const struct vf_live *vf)
{
	int r = vf_set_override(vf, VF_OVERRIDE_NONE);

	return r < 0 ? r : vf_unbind(vf);
}

bool vfio_pci_loaded(void)
{
	char p[PATH_MAX];

	return path_join(p, sizeof(p), "%s/bus/pci/drivers/vfio-pci", roots.sys) == 0 &&
	       access(p, F_OK) == 0;
}

int vfio_pci_load(void)
{
	int r;

	if (vfio_pci_loaded())
		return 0;
	r = backend->module_load("vfio-pci");
	return r < 0 ? r : (vfio_pci_loaded() ? 0 : -ENOENT);
}

int netdev_read_master(const char *ifname, char *buf, size_t size)
{
	char p[PATH_MAX];
	int r = path_join(p, sizeof(p), "%s/class/net/%s/master", roots.sys, ifname);

	return r < 0 ? r : read_link_base(p, buf, size);
}

int netdev_is_up(const char *ifname)
{
	char p[PATH_MAX], buf[32];
	unsigned long flags;
	int r = path_join(p, sizeof(p), "%s/class/net/%s/flags", roots.sys, ifname);

	if (r < 0 || (r = read_line_file(p, buf, sizeof(buf))) < 0)
		return r;
	errno = 0;
	flags = strtoul(buf, NULL, 16);
	return errno ? -errno : !!(flags & IFF_UP);
}
