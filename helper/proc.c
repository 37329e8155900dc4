/* SPDX-License-Identifier: MIT */
/*
 * Who uses a VF: the processes that hold its VFIO group or device open
 * (roots.proc, /proc on the host), and the libvirt hook's records
 * (records.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "host.h"
#include "records.h"

static int proc_filter(const struct dirent *d)
{
	return isdigit((unsigned char)d->d_name[0]);
}

/* Whether an fd's target is a handle on vf: its vfio group or its VFIO device cdev. */
static bool fd_holds_vf(const char *t, const struct vf_live *vf)
{
	unsigned long g;

	if (strncmp(t, "/dev/vfio/devices/", 18) == 0)
		return vf->vfio_dev[0] && streq(t + 18, vf->vfio_dev);
	return streq(vf->driver, "vfio-pci") && strncmp(t, "/dev/vfio/", 10) == 0 &&
	       parse_uint(t + 10, INT_MAX, &g) == 0 && vf->iommu_group == (int)g;
}

static void mark_holder(struct vf_live *vf, const char *pid)
{
	char c[PATH_MAX], comm[32] = "";

	vf->in_use = true;
	/*
	 * A record names the domain, which status prefers; the holder is kept
	 * apart so that a stale record cannot hide a live process.
	 */
	if (!vf->holder[0]) {
		if (path_join(c, sizeof(c), "%s/%s/comm", roots.proc, pid) == 0)
			read_line_file(c, comm, sizeof(comm));
		snprintf(vf->holder, sizeof(vf->holder), "pid %.16s (%.20s)", pid, comm[0] ? comm : "?");
	}
	if (!vf->owner[0])
		snprintf(vf->owner, sizeof(vf->owner), "%s", vf->holder);
}

static void scan_proc_fds(struct pf_live *pf, const char *pid)
{
	char d[PATH_MAX];
	int dfd;
	DIR *dir;
	struct dirent *e;

	if (path_join(d, sizeof(d), "%s/%s/fd", roots.proc, pid) < 0)
		return;
	dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (!(dir = fdopendir(dfd))) {
		close(dfd);
		return;
	}
	while ((e = readdir(dir))) {
		char t[64];
		ssize_t l = readlinkat(dirfd(dir), e->d_name, t, sizeof(t) - 1);

		if (l <= 0)
			continue;
		t[l] = '\0';
		if (strncmp(t, "/dev/vfio/", 10) != 0)
			continue;
		for (unsigned v = 0; v < pf->n_vf; v++)
			if (fd_holds_vf(t, &pf->vf[v]))
				mark_holder(&pf->vf[v], pid);
	}
	closedir(dir);
}

void pf_scan_records(struct pf_live *pf)
{
	for (unsigned i = 0; i < pf->n_vf; i++) {
		struct vf_live *vf = &pf->vf[i];

		vf->in_use = vf->stale_record = false;
		vf->owner[0] = vf->holder[0] = '\0';
		vf->record_age = 0;
		record_scan(vf);
	}
}

int pf_scan_holders(struct pf_live *pf)
{
	struct dirent **procs = NULL;
	bool any_vfio = false;
	int n;

	for (unsigned i = 0; i < pf->n_vf; i++)
		any_vfio |= streq(pf->vf[i].driver, "vfio-pci") || pf->vf[i].vfio_dev[0];
	if (!any_vfio)
		return 0;

	/* A VF is in use when some process holds its /dev/vfio group or cdev open. */
	n = scandir(roots.proc, &procs, proc_filter, NULL);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		scan_proc_fds(pf, procs[i]->d_name);
		free(procs[i]);
	}
	free(procs);
	/* A record of a domain that is gone, but a process holds the VF: keep it. */
	for (unsigned i = 0; i < pf->n_vf; i++)
		if (pf->vf[i].holder[0])
			pf->vf[i].stale_record = false;
	return 0;
}

int pf_scan_users(struct pf_live *pf)
{
	pf_scan_records(pf);
	return pf_scan_holders(pf);
}
