/* SPDX-License-Identifier: MIT */
/*
 * Other tools that set VF counts or VF attributes, found in their files:
 * NetworkManager keyfiles with an [sriov] section, systemd .link files
 * (SR-IOVVirtualFunctions=, [SR-IOV]) and .network files ([SR-IOV]),
 * netplan's virtual-function-count (and VF entries with link:), and
 * systemd services or /etc/rc.local that write sriov_numvfs. doctor warns
 * about each one that reaches a PF the policy names.
 *
 * Files are found under roots.etc, the file system's prefix ("" on the
 * host, the fake root in the test build), also for /run, /usr/lib and
 * /lib. Each file is read once, at most MANAGERS_FILE_MAX bytes; what the
 * scan does not model (NetworkManager's [match] section, drop-in
 * directories, YAML flow style, that systemd applies only the first
 * matching .link or .network) is in README's doctor section.
 */
#pragma once

#include "host.h"

#define MANAGERS_FILE_MAX (256 * 1024) /* bytes of one file; larger ones are named, not read */
#define MANAGERS_DIR_FILES_MAX 512    /* files of one kind across its directories */
#define MANAGERS_HITS_MAX 64

enum manager_kind {
	MGR_NM,       /* NetworkManager keyfile, [sriov] */
	MGR_LINK,     /* systemd .link: SR-IOVVirtualFunctions= or [SR-IOV] */
	MGR_NETWORK,  /* systemd-networkd .network: [SR-IOV] */
	MGR_NETPLAN,  /* netplan: virtual-function-count, or VF entries (link:) */
	MGR_SCRIPT,   /* a service or rc.local that writes sriov_numvfs */
	_MGR_MAX,
};

/* hit.pf when no PF can be told: a file with no match key, a script naming none. */
#define MGR_ANY_PF (-1)

struct manager_hit {
	enum manager_kind kind;
	int pf;          /* host PF index, or MGR_ANY_PF */
	unsigned line;   /* 0: the whole file (not read) */
	int unread;      /* errno when the file could not be read (EFBIG: over MANAGERS_FILE_MAX), else 0 */
	char what[48];   /* "[sriov]", "SR-IOVVirtualFunctions=", ... */
	char file[PATH_MAX];
};

struct manager_hits {
	struct manager_hit hit[MANAGERS_HITS_MAX];
	unsigned n;
	bool truncated; /* more than MANAGERS_HITS_MAX */
};

/* The tool's name for a kind: "NetworkManager", "systemd .link", ... */
const char *manager_kind_name(enum manager_kind k);

/*
 * Every file that sets VFs of a host PF whose named[] is true (one bool
 * per h->pf), or of any PF. Reads files and sysfs (the PFs' addresses);
 * 0 or -ENOMEM.
 */
int managers_scan(const struct host *h, const bool *named, struct manager_hits *ret);
