/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"

/*
 * libvirt passes a domain or network-port XML: cap what we parse of it. A
 * larger one is only searched for "hostdev" (cmd-hook.c), never parsed.
 */
#define HOOK_XML_MAX (4u << 20)

struct hook_dev {
	char pci[PCI_ADDR_LEN];
	bool has_mac, has_vlan;
	uint8_t mac[MAC_LEN];
	unsigned vlan;
};

/*
 * Per-VM settings from the domain's <metadata>, in this namespace:
 *   <vfwarden:vfs xmlns:vfwarden="http://vfwarden.org/xmlns/domain/1.0">
 *     <vfwarden:vf trust="on"/>                          every VF of the domain
 *     <vfwarden:vf address="0000:01:10.2" max-tx-rate="500"/>   just this one
 *   </vfwarden:vfs>
 * Attribute names are policy keys; the PF's allow-domain says which count.
 */
#define HOOK_XMLNS "http://vfwarden.org/xmlns/domain/1.0"
#define HOOK_META_MAX 64

struct hook_meta {
	char pci[PCI_ADDR_LEN]; /* "" for every VF of the domain */
	char key[24];
	char value[64];
};

struct hook_input {
	char owner[128]; /* domain name */
	struct hook_dev *dev; /* n of them; hook_input_free() */
	unsigned n, cap;
	struct hook_meta meta[HOOK_META_MAX];
	unsigned n_meta;
	char meta_err[160]; /* a malformed vfwarden <metadata>: why, else "" */
};

/*
 * <interface type='hostdev'> and <hostdev mode='subsystem' type='pci'> of a
 * domain. 0, or -EOPNOTSUPP (libxml2 cannot be loaded), -EBADMSG (not XML
 * we read: malformed, a DOCTYPE), -EFBIG or -ENOMEM; in is then empty. hook_input_free() in either case.
 */
int hook_parse_domain(const char *xml, size_t len, struct hook_input *in);
/* <networkport> with <plug type='hostdev-pci'> from a network hook. */
int hook_parse_network(const char *xml, size_t len, struct hook_input *in);
void hook_input_free(struct hook_input *in);

/* The PF (physfn) of a VF by PCI address, and the VF's index there. */
int vf_parent(const char *vf_pci, char pf_pci[PCI_ADDR_LEN], unsigned *idx);
