/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"

/*
 * Wait, at most timeout_ms, until every PCI function that a [pf] of p may
 * name is ready (pf_awaited() false for all): 0, or -ETIMEDOUT, or -errno
 * from scanning. h holds the last scan either way (host_free() it);
 * *waited_ms how long it took.
 */
int pfs_wait(const struct policy *p, unsigned timeout_ms, struct host *h, unsigned *waited_ms);
/* Function h->pf[k] is not ready yet and a [pf] of p may be it. */
bool pf_awaited(const struct policy *p, const struct host *h, unsigned k);
/* A driver is bound, and its netdev, if it made one, has been through udev. */
bool pf_ready(const struct pf_live *pf);
