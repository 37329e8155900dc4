/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "util.h"

/*
 * What libvirt knows about the domains of qemu:///system and the PCI
 * devices their XML names, asked read-only. Never from the hook: libvirt
 * runs the hook with the domain locked, and hands it the XML on stdin.
 */

/* How long libvirt may take to answer all of it before it counts as no answer. */
#define VIRT_TIMEOUT_MS 5000

struct virt_dom {
	char name[256]; /* longer names are cut (libvirt sets no bound) */
	int state;	/* virDomainState */
	bool active, autostart;
};

struct virt_ref {
	unsigned dom; /* index into dom[] */
	char pci[PCI_ADDR_LEN];
	/* From the running domain's live XML: the device is in use now. Else
	 * from the defined (inactive) XML: needed at the domain's next start. */
	bool live;
};

struct virt_domains {
	struct virt_dom *dom;
	unsigned n_dom;
	struct virt_ref *ref;
	unsigned n_ref;
	char err[256]; /* libvirt's message, when virt_query() returns -EIO */
};

/*
 * Ask libvirt. 0 when it answered; -ESRCH when no libvirt daemon runs (no
 * error: nothing is defined that vfwarden could learn of); -EOPNOTSUPP when
 * the libvirt library cannot be loaded; -ETIMEDOUT when it did not answer
 * within VIRT_TIMEOUT_MS; -EIO with v->err when it refused.
 */
int virt_query(struct virt_domains *v);
void virt_free(struct virt_domains *v);

/* "running", "shut off", ... as virsh says them. */
const char *virt_state_name(int state);

enum virt_which { VIRT_LIVE, VIRT_DEFINED, VIRT_ANY };
/*
 * The domains that reference pci ("vm3 (shut off, autostart), vm4
 * (running)", or bare names with bare set) into buf; returns how many.
 */
unsigned virt_describe(const struct virt_domains *v, const char *pci, enum virt_which which, bool bare,
		       char *buf, size_t size);

/*
 * The libvirt daemon that runs the qemu driver (virtqemud, else libvirtd):
 * its name and when it started. 0, or -ESRCH when none runs.
 */
int virt_daemon(char *name, size_t size, time_t *started);
/*
 * A vfwarden hook link in /etc/libvirt/hooks/{qemu,network}.d that is
 * newer than since (libvirt saw no hook when it started): 1 with its path,
 * 0 when every link that exists is older, -ENOENT when none exists.
 */
int virt_hook_newer(time_t since, char *path, size_t size);
