/* SPDX-License-Identifier: MIT */
/*
 * The bats tier's devlink, linked into the test build in place of
 * helper/devlink.c: a PF's eswitch as a text file under
 * $VFWARDEN_TEST_ROOT/netlink; no file: the driver has no eswitch
 * (EOPNOTSUPP).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devlink.h"

static const char *bus_of(const char *dev)
{
	return pci_addr_valid(dev) ? "pci" : "netdevsim";
}

static const char *fake_nl(void)
{
	static char p[PATH_MAX];
	const char *t = getenv("VFWARDEN_TEST_ROOT");

	if (!p[0] && path_join(p, sizeof(p), "%s/netlink", t ? t : "/nonexistent") < 0)
		p[0] = '\0';
	return p;
}

/*
 * $ROOT/netlink/<dev>.devlink, one item a line:
 *   mode legacy|switchdev
 *   pcivf N NETDEV          a VF's representor (listed in switchdev mode only)
 *   refuse-with-vfs         set fails with EOPNOTSUPP while sriov_numvfs > 0 (ice)
 * A set rewrites the mode line and appends "devlink DEV eswitch mode M" to
 * $ROOT/netlink/log.
 */
#define FAKE_MAX 8192

static int fake_read(const char *dev, char *buf, size_t size)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	size_t n;

	if (path_join(p, sizeof(p), "%s/%s.devlink", fake_nl(), dev) < 0)
		return -ENAMETOOLONG;
	if (!(f = fopen(p, "re")))
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	return 0;
}

static int fake_get(const char *dev, enum eswitch_mode *mode)
{
	char buf[FAKE_MAX], *m;
	int r;

	if ((r = fake_read(dev, buf, sizeof(buf))) < 0)
		return r;
	if (!(m = strstr(buf, "mode ")))
		return -EOPNOTSUPP;
	m += 5;
	m[strcspn(m, "\n")] = '\0';
	*mode = eswitch_mode_parse(m);
	return *mode == ESWITCH_UNSET ? -EPROTO : 0;
}

static int fake_set(const char *dev, enum eswitch_mode mode)
{
	char buf[FAKE_MAX], p[PATH_MAX], n[32] = "";
	_cleanup_fclose_ FILE *f = NULL;
	char *save = NULL;
	int r;

	if ((r = fake_read(dev, buf, sizeof(buf))) < 0)
		return r;
	if (strstr(buf, "refuse-with-vfs") &&
	    path_join(p, sizeof(p), "%s/bus/%s/devices/%s/sriov_numvfs", roots.sys, bus_of(dev), dev) == 0 &&
	    read_line_file(p, n, sizeof(n)) == 0 && !streq(n, "0") && n[0])
		return -EOPNOTSUPP;
	if (path_join(p, sizeof(p), "%s/%s.devlink", fake_nl(), dev) < 0 || !(f = fopen(p, "we")))
		return -EIO;
	fprintf(f, "mode %s\n", eswitch_mode_name(mode));
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "mode ", 5) != 0)
			fprintf(f, "%s\n", l);
	r = fclose(f);
	f = NULL;
	if (r != 0)
		return -EIO;
	if (path_join(p, sizeof(p), "%s/log", fake_nl()) < 0 || !(f = fopen(p, "ae")))
		return -EIO;
	fprintf(f, "devlink %s eswitch mode %s\n", dev, eswitch_mode_name(mode));
	return 0;
}

static int fake_reps(struct pf_live *pf)
{
	char buf[FAKE_MAX], *save = NULL;
	int r;

	if ((r = fake_read(pf->pci, buf, sizeof(buf))) < 0)
		return r;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned vf;
		char name[16];

		if (sscanf(l, "pcivf %u %15s", &vf, name) == 2 && vf < pf->n_vf)
			snprintf(pf->vf[vf].rep, sizeof(pf->vf[vf].rep), "%s", name);
	}
	return 0;
}

int devlink_eswitch_get(const char *dev, enum eswitch_mode *mode)
{
	return fake_get(dev, mode);
}

int devlink_eswitch_set(const char *dev, enum eswitch_mode mode)
{
	return fake_set(dev, mode);
}

int devlink_read_reps(struct pf_live *pf)
{
	for (unsigned i = 0; i < pf->n_vf; i++)
		pf->vf[i].rep[0] = '\0';
	return fake_reps(pf);
}
