/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"

/*
 * The libvirt hook's records, /run/vfwarden/vf/<PCI>: which domain holds a
 * VF and what prepare gave it. Text, one "key=value" a line:
 *
 *   domain=NAME          always the first line
 *   KEY=VALUE            a VF setting the domain was given at prepare, as
 *                        the policy writes it (vf-driver=vfio-pci, mac=...,
 *                        vlan=42, trust=on): the domain XML's mac and vlan
 *                        and the <metadata> settings allow-domain permits
 *   reset-pending=yes    its release could not reset the VF (the lock
 *                        stayed taken): the next apply does (records_scan)
 *
 * While the domain runs, its settings are the VF's wanted state for those
 * keys (records_overlay()); the policy gives the others. This module is
 * the only one that reads or writes the format.
 */

/*
 * A record is written at 'prepare begin', before libvirt starts QEMU and
 * writes /run/libvirt/qemu/NAME.pid (with QEMU's pid, removed when the
 * domain stops). A record is the trace of a domain that is gone only when
 * it is older than this window and that pid file is missing or names no
 * live process.
 */
#define RECORD_GRACE_SEC 120

struct record_setting {
	char key[24];
	char value[64];
};

struct vf_record {
	char domain[128];
	/* One per key at most, in the order they apply. */
	struct record_setting set[_KEY_VF_MAX];
	unsigned n_set;
	bool reset_pending;
};

/* Add or replace (a later setting of a key wins) one setting: 0, -E2BIG, -EINVAL. */
int record_add(struct vf_record *r, const char *key, const char *value);
/* The record as text: its length, or -ENOBUFS. */
int record_format(const struct vf_record *r, char *buf, size_t size);
/* Text to record: 0, or -EBADMSG when it is not one vfwarden wrote. */
int record_parse(const char *text, struct vf_record *r);
/*
 * c with the record's settings over it, checked as a [vf] section would be:
 * 0, or -EINVAL with the reason in err.
 */
int record_apply(const struct vf_record *r, struct vf_conf *c, char *err, size_t errsz);

/* Atomically (a crash leaves the old record or the new one): 0 or -errno. */
int record_write(const char *pci, const struct vf_record *r);
/* 0, -ENOENT when there is none, -EBADMSG when it cannot be read as a record. */
int record_read(const char *pci, struct vf_record *r);
int record_remove(const char *pci);
/*
 * Mark the record of domain's VF reset-pending, without the lock: appended
 * to the file that names domain, so that a record another domain's prepare
 * has put in its place meanwhile is never touched. 0, -ENOENT when no
 * record of domain is there. Also creates RECORD_RESET_FLAG.
 */
int record_mark_reset_pending(const char *pci, const char *domain);
/* What vfwarden-reset.path watches: a release left a reset to the next apply. */
#define RECORD_RESET_FLAG "reset-pending"

/*
 * owner, in_use, stale_record, reset_pending and record_age of vf from its
 * record (pf_scan_users()). A reset-pending record counts as stale: its
 * domain is gone.
 */
void record_scan(struct vf_live *vf);
/* Whether vf's record names a domain that runs: its settings are wanted. */
bool record_live(const struct vf_live *vf);

/*
 * The effective wanted settings of pf: the policy pol, and for each VF with
 * a live record its domain's settings over the policy's. eff is pol with
 * its own vf[] when a record changed one; records_overlay_free() it.
 * 0 or -ENOMEM; a record that cannot be read leaves the policy's settings.
 */
int records_overlay(const struct pf_policy *pol, const struct pf_live *pf, struct pf_policy *eff);
void records_overlay_free(const struct pf_policy *pol, struct pf_policy *eff);
