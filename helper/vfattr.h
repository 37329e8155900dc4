/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The VF keys of the policy, one row each: how a value is parsed, its
 * default, where it sits in struct vf_attrs, which rtnetlink attribute
 * carries it, how it drifts, which action writes it, how status shows it
 * and which drivers are known to refuse it. The parser, the merge of
 * sections, the planner, the netlink reader and writer, the fake backend
 * and status --json iterate this table; a new key is a row (and its field
 * in VF_ATTRS_FIELDS, policy.h) plus its tests.
 */
#include <stddef.h>

#include "policy.h"

enum vf_kind {
	VK_DRIVER, /* struct vf_conf's driver: sysfs, not rtnetlink */
	VK_MAC,    /* attrs.mac, with vf_conf's mac_mode: auto, none or a MAC */
	VK_UINT,   /* unsigned, 0 to max */
	VK_FLAG,   /* int: on 1, off 0 */
	VK_ENUM,   /* int, one of names[] */
};

struct vf_name {
	const char *name;
	int value;
};

struct vf_key_info {
	const char *name;            /* in the policy, in drift, in messages */
	enum vf_kind kind;
	size_t off;                  /* of the value in struct vf_attrs */
	unsigned long max;           /* VK_UINT */
	const struct vf_name *names; /* VK_ENUM, VK_DRIVER: ends with a NULL name */
	const char *hint;            /* what a valid value is, in a parse error */
	int dflt;                    /* built in, and what the fake's new VFs have */
	/* A driver may not report it: -1 then, drift only when asked for non-default. */
	bool optional;
	/*
	 * rtnetlink: the IFLA_VF_* attribute that carries it (0: none) and the
	 * value's offset in that attribute's struct (0: not in the plain
	 * struct, vlan-proto is in IFLA_VF_VLAN_LIST only). Keys of one
	 * attribute are written together, by the action of written_by.
	 */
	unsigned short ifla, ifla_size, ifla_off;
	enum vf_key written_by;
	enum vf_key drift_as;        /* the key a difference is reported as */
	bool needs_vlan;             /* compared only when the policy wants a VLAN */
	bool others_live;            /* its action keeps the live values of the others */
	bool vm_sets;                /* a VM's XML may set it: left alone while in use */
	/* How status shows it: table column ("" none) and key of a VF in --json. */
	const char *column, *json;
	const char *refused_by;      /* drivers known to refuse a non-default value */
	/* From and to of an action, when not the value's own text (VLAN: the group). */
	void (*format)(const struct vf_attrs *v, char *buf, size_t size);
};

extern const struct vf_key_info vf_keys[_KEY_VF_MAX];

/* Parse value into c as key k would be (policy and domain metadata): 0 or -EINVAL, err says why. */
int vf_key_parse(enum vf_key k, const char *value, struct vf_conf *c, char *err, size_t errsz);
/* Key k's value (and MAC mode) from src over dst. */
void vf_key_copy(enum vf_key k, struct vf_conf *dst, const struct vf_conf *src);
/* Built-in values of every key. */
void vf_conf_default(struct vf_conf *c);
/* Every attribute at its default (as the fake's new VFs), or unread (-1 where optional). */
void vf_attrs_default(struct vf_attrs *v);
void vf_attrs_unread(struct vf_attrs *v);
/* A scalar (not VK_MAC) value of key k; set one. */
long long vf_attr_get(enum vf_key k, const struct vf_attrs *v);
void vf_attr_set(enum vf_key k, struct vf_attrs *v, long long value);
/* Whether key k has the same value in a and b. */
bool vf_attr_eq(enum vf_key k, const struct vf_attrs *a, const struct vf_attrs *b);
/* Key k's value from src into dst. */
void vf_attr_copy(enum vf_key k, struct vf_attrs *dst, const struct vf_attrs *src);
/* Whether keys a and b go to the kernel in one attribute. */
bool vf_key_same_ifla(enum vf_key a, enum vf_key b);
/* Key k's value as text: MAC, number, on/off, name; "?" where not reported. */
const char *vf_attr_str(enum vf_key k, const struct vf_attrs *v, char *buf, size_t size);
/* An enum key's name for value, NULL if none. */
const char *vf_attr_name(enum vf_key k, long long value);
/* Its rtnetlink attribute's struct from (to) the values in v, for vf_keys[k].ifla. */
void vf_attrs_from_ifla(unsigned short ifla, const void *data, size_t len, struct vf_attrs *v);
void vf_attrs_to_ifla(enum vf_key k, const struct vf_attrs *v, unsigned vf, void *buf, size_t size);
