/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "eswitch.h"
#include "util.h"

#define POLICY_FILE "/etc/vfwarden/vfwarden.conf"
#define POLICY_DIR "/etc/vfwarden/conf.d"
#define VFS_MAX 4096

/*
 * Bounds on what the policy tree may hold, so that reading and checking it
 * takes bounded time and memory whatever is written there (README, Safety).
 */
#define POLICY_FILE_MAX (1024 * 1024)      /* bytes in one file */
#define POLICY_TREE_MAX (4 * 1024 * 1024)  /* bytes in all files together */
#define POLICY_DIR_FILES_MAX 4096          /* *.conf files in conf.d */
#define POLICY_SECTIONS_MAX 65536
#define POLICY_VFS_TOTAL_MAX 65536         /* VFs of all [pf] sections together */
#define POLICY_ERRORS_MAX 1000             /* errors listed; the rest are counted */

enum vf_key {
	KEY_VF_DRIVER,
	KEY_MAC,
	KEY_VLAN,
	KEY_QOS,
	KEY_VLAN_PROTO,
	KEY_SPOOFCHK,
	KEY_TRUST,
	KEY_LINK_STATE,
	KEY_MAX_TX_RATE,
	KEY_MIN_TX_RATE,
	KEY_QUERY_RSS,
	_KEY_VF_MAX,
	/* PF-only keys follow */
	KEY_DEVICE = _KEY_VF_MAX,
	KEY_VFS,
	KEY_PF_UP,
	KEY_ALLOW_DOMAIN,
	KEY_ESWITCH_MODE,
	KEY_MANAGE,
	KEY_DRIVER, /* selectors: a [pf] that selects PFs instead of naming one */
	KEY_PCI_ID,
	/*
	 * IFLA_MTU of the PF's netdev and of each kernel-driver VF's own, not
	 * an IFLA_VF_* attribute the PF keeps for a VF (a vfio-pci VF has no
	 * netdev to carry it): no row in vf_keys[], a key of [defaults]/[pf].
	 */
	KEY_MTU,
	_KEY_MAX,
};

enum vf_driver { VF_DRIVER_VFIO, VF_DRIVER_KERNEL, VF_DRIVER_NONE };
enum mac_mode { MAC_AUTO, MAC_NONE, MAC_FIXED };
/* Values are the kernel's IFLA_VF_LINK_STATE_* */
enum link_state { LINK_STATE_AUTO = 0, LINK_STATE_ENABLE = 1, LINK_STATE_DISABLE = 2 };

/*
 * mtu: the kernel's own bounds for any netdev (ETH_MIN_MTU, IP_MAX_MTU);
 * each netdev's min_mtu/max_mtu, read from the kernel, narrow them at apply.
 */
#define MTU_MIN 68
#define MTU_MAX 65535

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8

/* Where a setting came from, for FILE:LINE messages. */
struct origin {
	const char *file; /* points into policy->files, NULL when built in */
	unsigned file_idx;
	unsigned line;
};

/*
 * The value of every VF attribute the kernel keeps (rtnetlink): as the
 * policy wants it, as read from the kernel, as an action writes it. Which
 * key each field is, and how it is parsed, read, compared, written and
 * shown: vf_keys[] (vfattr.h). VF_ATTRS is a member struct vf_attrs attrs
 * whose fields are also members of the struct around it, as Linux's
 * struct_group_tagged(): vf->vlan and vf->attrs.vlan are the same.
 */
#define VF_ATTRS_FIELDS                                                                        \
	uint8_t mac[MAC_LEN];                                                                  \
	unsigned vlan, qos;                                                                    \
	unsigned vlan_proto;                                                                   \
	int spoofchk, trust, query_rss, link_state; /* -1: the driver does not report it */    \
	unsigned max_tx_rate, min_tx_rate;
struct vf_attrs {
	VF_ATTRS_FIELDS
};
#define VF_ATTRS                                                                               \
	union {                                                                                \
		struct {                                                                       \
			VF_ATTRS_FIELDS                                                        \
		};                                                                             \
		struct vf_attrs attrs;                                                         \
	}

struct vf_conf {
	enum vf_driver driver;
	enum mac_mode mac_mode;
	VF_ATTRS; /* mac: with mac_mode MAC_FIXED */
	struct origin at[_KEY_VF_MAX];
};

enum section_kind { SECTION_DEFAULTS, SECTION_PF, SECTION_VF };

/*
 * What a selector [pf] (driver =, pci-id =) asks of a PF: all that is set
 * must match. driver[0] == '\0': any driver; !pci_id: any vendor and device.
 */
struct pf_select {
	char driver[32];
	bool pci_id;
	uint16_t vendor, device;
};

/* A section as written, with the keys it sets. */
struct section {
	enum section_kind kind;
	char label[33];
	unsigned vf_lo, vf_hi;
	struct origin at;        /* header line */
	uint32_t set;            /* bit per enum vf_key / pf key */
	uint32_t bad;            /* keys written with an invalid value (reported) */
	struct origin key_at[_KEY_MAX];
	struct vf_conf vf;       /* values of the VF keys that are set */
	char device[64];
	struct pf_select sel;
	unsigned vfs;
	bool pf_up;
	uint32_t allow_domain; /* bit per enum vf_key */
	enum eswitch_mode eswitch_mode;
	bool manage;
	unsigned mtu;
};

enum device_kind { DEVICE_IFNAME, DEVICE_PCI, DEVICE_MAC };

/*
 * A resolved [pf] policy: defaults < [pf] < [vf] applied. A selector
 * section (selector true) has no device; the copy match.c makes of it for
 * each PF it governs has the label "LABEL/IFNAME" (section: the section's).
 */
struct pf_policy {
	char label[64];
	char section[33];
	bool selector;
	struct pf_select sel;
	enum device_kind device_kind;
	char device[64];
	uint8_t device_mac[MAC_LEN];
	unsigned vfs;
	bool pf_up;
	/* VF keys a domain's <metadata> may set for its VFs (allow-domain). */
	uint32_t allow_domain;
	enum eswitch_mode eswitch_mode; /* ESWITCH_UNSET: never touched */
	/*
	 * manage = no: the section governs its PF (match.h) but vfwarden writes
	 * nothing to it or its VFs (apply, udev, hook); manage_at is its line.
	 */
	bool manage;
	struct origin manage_at;
	/* Of the PF and of its VFs' netdevs on a kernel driver; 0: never touched. */
	unsigned mtu;
	struct origin at;
	/* Where each PF key (KEY_DEVICE and after) was set; file NULL: built in. */
	struct origin key_at[_KEY_MAX];
	struct vf_conf *vf; /* vfs entries */
};

struct policy_error {
	struct origin at;
	char msg[256];
};

/* Open addressing: 0 marks a free slot. */
struct hash_set {
	uint64_t *slot;
	size_t cap, n;
};

struct policy {
	char **files;
	unsigned n_files;
	struct section *sections;
	unsigned n_sections, sections_cap;
	struct policy_error *errors;
	unsigned n_errors, errors_cap;
	struct pf_policy *pfs;
	unsigned n_pfs;
	size_t bytes;              /* read so far, against POLICY_TREE_MAX */
	struct hash_set errors_seen; /* fingerprint of every error, listed or not */
	unsigned long n_unlisted;  /* errors past POLICY_ERRORS_MAX */
	struct origin unlisted_at; /* the first of them in file order */
	struct hash_set pf_labels; /* [pf] section index + 1, by label */
};

const char *vf_key_name(enum vf_key k);
const char *vf_driver_name(enum vf_driver d);
const char *link_state_name(enum link_state s);
const char *vlan_proto_name(uint16_t proto);

void policy_init(struct policy *p);
void policy_free(struct policy *p);
/* Parse one stream; name is used in messages. Errors are collected in p. */
int policy_parse_stream(struct policy *p, FILE *f, const char *name);
/* Parse len bytes of policy text (NUL bytes included, as errors). */
int policy_parse_buffer(struct policy *p, const char *buf, size_t len, const char *name);
/* Open (never blocking), check type, ownership and mode, and parse one file. */
int policy_parse_file(struct policy *p, const char *path);
/*
 * The default set: main file (may be absent) and conf.d/ *.conf sorted by
 * name; the directory holding the main file and conf.d must be safe too.
 */
int policy_parse_default(struct policy *p, const char *main_file, const char *dir);
/*
 * The section holding the line of origin at (a key's), NULL when none
 * (built in): the last section whose header is at or before it, as
 * sections are kept in the order of files and lines.
 */
const struct section *policy_section_of(const struct policy *p, const struct origin *at);
/* "[defaults]", "[pf LABEL]", "[vf LABEL N]" or "[vf LABEL N-M]". */
const char *policy_section_name(const struct section *s, char *buf, size_t size);
/* Cross-section checks and resolution into p->pfs. */
int policy_validate(struct policy *p);
/* What a 'device =' value names: a MAC (filled in), a PCI address or an interface. */
enum device_kind policy_device_kind(const char *d, uint8_t mac[MAC_LEN]);
/* A selector as the policy writes it: "driver = igb, pci-id = 8086:10c9". */
const char *pf_select_str(const struct pf_select *sel, char *buf, size_t size);
/*
 * Parse one VF setting as the policy would ("trust", "on") into c, for
 * settings that come from elsewhere (a domain's <metadata>). -ENOENT for a
 * name that is not a VF setting, -EINVAL for a bad value; err says which.
 */
int vf_setting_parse(const char *name, const char *value, struct vf_conf *c, enum vf_key *key,
		     char *err, size_t errsz);
/*
 * The rules between the settings of one VF (qos needs a vlan, min-tx-rate
 * at most max-tx-rate): -EINVAL when one breaks, with the message and the
 * setting it blames in key.
 */
int vf_conf_check(const struct vf_conf *c, enum vf_key *key, char *err, size_t errsz);
/* Check a file's owner and mode: -EPERM with a message in msg if unsafe. */
int policy_check_perms(int fd, const char *what, char *msg, size_t size);
/* Effective MAC for VF idx of a PF with permanent MAC pf_mac; false for none */
bool vf_conf_mac(const struct vf_conf *c, const uint8_t pf_mac[MAC_LEN], unsigned idx,
		 uint8_t out[MAC_LEN]);
