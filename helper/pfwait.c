/* SPDX-License-Identifier: MIT */
/*
 * At boot vfwarden.service runs right after udev's coldplug trigger, which
 * does not wait for the drivers it loads: igb binds its PFs seconds later.
 * 'apply --wait-pfs' waits for them first, bounded, so that the units
 * ordered after vfwarden.service (libvirtd) start with the VFs in place.
 *
 * Which functions to wait for: a [pf] naming a PCI address waits for that
 * function, and for nothing when the address is not on the bus (no boot
 * delay for a policy written for another host). A name or a MAC is only
 * known once a driver has made the netdev, so until a ready PF matches such
 * a [pf], every SR-IOV function that is not ready may be it. A selector
 * [pf] waits for each function that is not ready and matches its pci-id
 * and driver (any driver while none is bound).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pfwait.h"
#include "udev.h"

#define PF_WAIT_POLL_MS 100

/*
 * Ready once udev has handled the netdev (its rules ran, a rename is done);
 * bringing the PF up before that would make udev's rename fail with EBUSY.
 * Without udev running (or libudev) the netdev will do. A driver that makes
 * no netdev (vfio-pci) is ready when bound.
 */
bool pf_ready(const struct pf_live *pf)
{
	if (!pf->driver[0])
		return false;
	if (!pf->ifname[0] || udev_running() <= 0)
		return true;
	return udev_netdev_initialized(pf->ifname) > 0;
}

bool pf_awaited(const struct policy *p, const struct host *h, unsigned k)
{
	const struct pf_live *f = &h->pf[k];

	if (pf_ready(f))
		return false;
	for (unsigned i = 0; i < p->n_pfs; i++) {
		const struct pf_policy *pol = &p->pfs[i];
		bool found = false;

		/* apply writes nothing to it: not worth a wait. */
		if (!pol->manage)
			continue;
		if (pol->selector) {
			struct pf_select sel = pol->sel;

			/* No driver yet: what it waits for may be the one the section selects. */
			if (!f->driver[0])
				sel.driver[0] = '\0';
			if (pf_match_select(f, &sel))
				return true;
			continue;
		}
		if (pol->device_kind == DEVICE_PCI) {
			if (streq(pol->device, f->pci))
				return true;
			continue;
		}
		for (unsigned j = 0; j < h->n_pf && !found; j++)
			found = pf_match_policy(&h->pf[j], pol) && pf_ready(&h->pf[j]);
		if (!found)
			return true;
	}
	return false;
}

static unsigned ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

int pfs_wait(const struct policy *p, unsigned timeout_ms, struct host *h, unsigned *waited_ms)
{
	const struct timespec poll = { 0, PF_WAIT_POLL_MS * 1000000L };
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		bool pending = false;

		if ((r = host_scan(h)) < 0)
			return r;
		*waited_ms = ms_since(&t0);
		for (unsigned k = 0; k < h->n_pf && !pending; k++)
			pending = pf_awaited(p, h, k);
		if (!pending)
			return 0;
		if (*waited_ms >= timeout_ms)
			return -ETIMEDOUT;
		host_free(h);
		nanosleep(&poll, NULL);
	}
}
