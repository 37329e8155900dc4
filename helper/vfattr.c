/* SPDX-License-Identifier: MIT */
/* The table of VF keys (vfattr.h) and what every user of it shares. */
#include <errno.h>
#include <linux/if_link.h>
#include <string.h>

#include "vfattr.h"

/* Every scalar of struct vf_attrs is 32 bits, as in the kernel's structs. */
_Static_assert(sizeof(unsigned) == 4 && sizeof(int) == 4, "32-bit attribute values");

static const struct vf_name driver_names[] = {
	{ "vfio-pci", VF_DRIVER_VFIO }, { "kernel", VF_DRIVER_KERNEL }, { "none", VF_DRIVER_NONE }, { 0 }
};
static const struct vf_name proto_names[] = { { "802.1Q", ETH_P_8021Q_ }, { "802.1ad", ETH_P_8021AD_ }, { 0 } };
static const struct vf_name link_state_names[] = {
	{ "auto", LINK_STATE_AUTO }, { "enable", LINK_STATE_ENABLE }, { "disable", LINK_STATE_DISABLE }, { 0 }
};

static void format_vlan(const struct vf_attrs *v, char *buf, size_t size)
{
	if (!v->vlan)
		snprintf(buf, size, "0");
	else
		snprintf(buf, size, "%u qos %u %s", v->vlan, v->qos, vlan_proto_name((uint16_t)v->vlan_proto));
}

#define AT(field) .off = offsetof(struct vf_attrs, field)
#define IFLA(attr, type, field) .ifla = attr, .ifla_size = sizeof(struct type), .ifla_off = offsetof(struct type, field)
#define SELF(k) .written_by = k, .drift_as = k
#define RATE_HINT "(Mbit/s, a whole number, 0 = no limit)"

const struct vf_key_info vf_keys[_KEY_VF_MAX] = {
	[KEY_VF_DRIVER] = { "vf-driver", VK_DRIVER, .names = driver_names, .hint = "(vfio-pci, kernel or none)",
			    .dflt = VF_DRIVER_VFIO, SELF(KEY_VF_DRIVER), .vm_sets = true,
			    .column = "DRIVER", .json = "driver" },
	[KEY_MAC] = { "mac", VK_MAC, AT(mac), .dflt = MAC_AUTO, IFLA(IFLA_VF_MAC, ifla_vf_mac, mac),
		      SELF(KEY_MAC), .vm_sets = true, .column = "MAC", .json = "mac" },
	[KEY_VLAN] = { "vlan", VK_UINT, AT(vlan), .max = 4095, .hint = "(0-4095)",
		       IFLA(IFLA_VF_VLAN, ifla_vf_vlan, vlan), SELF(KEY_VLAN), .vm_sets = true,
		       .column = "VLAN/QOS", .json = "vlan", .format = format_vlan },
	[KEY_QOS] = { "qos", VK_UINT, AT(qos), .max = 7, .hint = "(0-7)", IFLA(IFLA_VF_VLAN, ifla_vf_vlan, qos),
		      .written_by = KEY_VLAN, .drift_as = KEY_VLAN, .needs_vlan = true,
		      .column = "VLAN/QOS", .json = "qos" },
	/* 802.1ad goes in IFLA_VF_VLAN_LIST only (netlink.c), the plain IFLA_VF_VLAN is 802.1Q. */
	[KEY_VLAN_PROTO] = { "vlan-proto", VK_ENUM, AT(vlan_proto), .names = proto_names,
			     .hint = "(802.1Q or 802.1ad)", .dflt = ETH_P_8021Q_, .ifla = IFLA_VF_VLAN,
			     .written_by = KEY_VLAN, .drift_as = KEY_VLAN_PROTO, .needs_vlan = true,
			     .column = "VLAN/QOS", .json = "vlan_proto", .refused_by = "igb" },
	[KEY_SPOOFCHK] = { "spoofchk", VK_FLAG, AT(spoofchk), .hint = "(on or off)", .dflt = 1, .optional = true,
			   IFLA(IFLA_VF_SPOOFCHK, ifla_vf_spoofchk, setting), SELF(KEY_SPOOFCHK),
			   .column = "SPOOF", .json = "spoofchk" },
	[KEY_TRUST] = { "trust", VK_FLAG, AT(trust), .hint = "(on or off)", .optional = true,
			IFLA(IFLA_VF_TRUST, ifla_vf_trust, setting), SELF(KEY_TRUST),
			.column = "TRUST", .json = "trust" },
	[KEY_LINK_STATE] = { "link-state", VK_ENUM, AT(link_state), .names = link_state_names,
			     .hint = "(auto, enable or disable)", .dflt = LINK_STATE_AUTO, .optional = true,
			     IFLA(IFLA_VF_LINK_STATE, ifla_vf_link_state, link_state), SELF(KEY_LINK_STATE),
			     .column = "LINK", .json = "link_state", .refused_by = "igb" },
	/* IFLA_VF_RATE carries both rates: max-tx-rate's write keeps the live min. */
	[KEY_MAX_TX_RATE] = { "max-tx-rate", VK_UINT, AT(max_tx_rate), .max = UINT32_MAX, .hint = RATE_HINT,
			      IFLA(IFLA_VF_RATE, ifla_vf_rate, max_tx_rate), SELF(KEY_MAX_TX_RATE),
			      .others_live = true, .column = "RATE", .json = "max_tx_rate" },
	[KEY_MIN_TX_RATE] = { "min-tx-rate", VK_UINT, AT(min_tx_rate), .max = UINT32_MAX, .hint = RATE_HINT,
			      IFLA(IFLA_VF_RATE, ifla_vf_rate, min_tx_rate), SELF(KEY_MIN_TX_RATE),
			      .column = "RATE", .json = "min_tx_rate", .refused_by = "igb" },
	[KEY_QUERY_RSS] = { "query-rss", VK_FLAG, AT(query_rss), .hint = "(on or off)", .optional = true,
			    IFLA(IFLA_VF_RSS_QUERY_EN, ifla_vf_rss_query_en, setting), SELF(KEY_QUERY_RSS),
			    .column = "", .json = "query_rss", .refused_by = "igb" },
};

static int name_lookup(const struct vf_name *n, const char *s, int *value)
{
	for (; n->name; n++)
		if (streq(n->name, s)) {
			*value = n->value;
			return 0;
		}
	return -EINVAL;
}

const char *vf_attr_name(enum vf_key k, long long value)
{
	for (const struct vf_name *n = vf_keys[k].names; n && n->name; n++)
		if (n->value == value)
			return n->name;
	return NULL;
}

static int parse_mac_key(const char *v, struct vf_conf *c, char *err, size_t errsz)
{
	if (streq(v, "auto") || streq(v, "none")) {
		c->mac_mode = streq(v, "auto") ? MAC_AUTO : MAC_NONE;
		return 0;
	}
	if (parse_mac(v, c->mac) < 0) {
		snprintf(err, errsz, "invalid mac '%s' (auto, none or xx:xx:xx:xx:xx:xx)", v);
		return -EINVAL;
	}
	if (mac_is_zero(c->mac) || mac_is_multicast(c->mac)) {
		snprintf(err, errsz, "invalid mac '%s': %s", v, mac_is_zero(c->mac) ? "all zero" : "multicast");
		return -EINVAL;
	}
	c->mac_mode = MAC_FIXED;
	return 0;
}

int vf_key_parse(enum vf_key k, const char *value, struct vf_conf *c, char *err, size_t errsz)
{
	const struct vf_key_info *ki = &vf_keys[k];
	unsigned long n;
	bool b;
	int r = 0, e;

	switch (ki->kind) {
	case VK_MAC:
		return parse_mac_key(value, c, err, errsz);
	case VK_DRIVER:
		if ((r = name_lookup(ki->names, value, &e)) == 0)
			c->driver = (enum vf_driver)e;
		break;
	case VK_ENUM:
		if ((r = name_lookup(ki->names, value, &e)) == 0)
			vf_attr_set(k, &c->attrs, e);
		break;
	case VK_FLAG:
		if ((r = parse_bool(value, &b)) == 0)
			vf_attr_set(k, &c->attrs, b);
		break;
	case VK_UINT:
		if ((r = parse_uint(value, ki->max, &n)) == 0)
			vf_attr_set(k, &c->attrs, (long long)n);
		break;
	}
	if (r < 0)
		snprintf(err, errsz, "invalid %s '%s' %s", ki->name, value, ki->hint);
	return r;
}

long long vf_attr_get(enum vf_key k, const struct vf_attrs *v)
{
	uint32_t u;

	memcpy(&u, (const char *)v + vf_keys[k].off, sizeof(u));
	return vf_keys[k].kind == VK_UINT ? (long long)u : (long long)(int32_t)u;
}

void vf_attr_set(enum vf_key k, struct vf_attrs *v, long long value)
{
	uint32_t u = (uint32_t)value;

	memcpy((char *)v + vf_keys[k].off, &u, sizeof(u));
}

bool vf_attr_eq(enum vf_key k, const struct vf_attrs *a, const struct vf_attrs *b)
{
	if (vf_keys[k].kind == VK_MAC)
		return memcmp(a->mac, b->mac, MAC_LEN) == 0;
	return vf_attr_get(k, a) == vf_attr_get(k, b);
}

void vf_attr_copy(enum vf_key k, struct vf_attrs *dst, const struct vf_attrs *src)
{
	if (vf_keys[k].kind == VK_MAC)
		memcpy(dst->mac, src->mac, MAC_LEN);
	else if (vf_keys[k].kind != VK_DRIVER)
		vf_attr_set(k, dst, vf_attr_get(k, src));
}

void vf_key_copy(enum vf_key k, struct vf_conf *dst, const struct vf_conf *src)
{
	if (vf_keys[k].kind == VK_DRIVER)
		dst->driver = src->driver;
	else if (vf_keys[k].kind == VK_MAC)
		dst->mac_mode = src->mac_mode;
	vf_attr_copy(k, &dst->attrs, &src->attrs);
}

void vf_attrs_default(struct vf_attrs *v)
{
	memset(v, 0, sizeof(*v));
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (vf_keys[k].kind != VK_MAC && vf_keys[k].kind != VK_DRIVER)
			vf_attr_set((enum vf_key)k, v, vf_keys[k].dflt);
}

void vf_attrs_unread(struct vf_attrs *v)
{
	vf_attrs_default(v);
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (vf_keys[k].optional)
			vf_attr_set((enum vf_key)k, v, -1);
}

void vf_conf_default(struct vf_conf *c)
{
	memset(c, 0, sizeof(*c));
	vf_attrs_default(&c->attrs);
	c->driver = (enum vf_driver)vf_keys[KEY_VF_DRIVER].dflt;
	c->mac_mode = (enum mac_mode)vf_keys[KEY_MAC].dflt;
}

bool vf_key_same_ifla(enum vf_key a, enum vf_key b)
{
	return vf_keys[a].ifla && vf_keys[a].ifla == vf_keys[b].ifla;
}

const char *vf_attr_str(enum vf_key k, const struct vf_attrs *v, char *buf, size_t size)
{
	char m[MAC_STR_LEN];
	long long x = vf_keys[k].kind == VK_MAC ? 0 : vf_attr_get(k, v);
	const char *name;

	switch (vf_keys[k].kind) {
	case VK_MAC:
		snprintf(buf, size, "%s", format_mac(v->mac, m));
		break;
	case VK_UINT:
		snprintf(buf, size, "%lld", x);
		break;
	case VK_FLAG:
		snprintf(buf, size, "%s", x < 0 ? "?" : x ? "on" : "off");
		break;
	default:
		name = x < 0 ? NULL : vf_attr_name(k, x);
		snprintf(buf, size, "%s", name ? name : "?");
		break;
	}
	return buf;
}

void vf_attrs_from_ifla(unsigned short ifla, const void *data, size_t len, struct vf_attrs *v)
{
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		const struct vf_key_info *ki = &vf_keys[k];
		const char *p = (const char *)data + ki->ifla_off;
		uint32_t u;

		if (ki->ifla != ifla || !ki->ifla_off || len < ki->ifla_size)
			continue;
		if (ki->kind == VK_MAC) {
			memcpy(v->mac, p, MAC_LEN);
			continue;
		}
		memcpy(&u, p, sizeof(u));
		/* The kernel presets spoofchk, trust and rss to -1: "driver did not say". */
		vf_attr_set((enum vf_key)k, v, ki->optional && u == UINT32_MAX ? -1 : (long long)u);
	}
}

void vf_attrs_to_ifla(enum vf_key key, const struct vf_attrs *v, unsigned vf, void *buf, size_t size)
{
	uint32_t idx = vf;

	memset(buf, 0, size);
	if (size < vf_keys[key].ifla_size)
		return;
	memcpy(buf, &idx, sizeof(idx));
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		const struct vf_key_info *ki = &vf_keys[k];
		char *p = (char *)buf + ki->ifla_off;
		uint32_t u;

		if (!vf_key_same_ifla(key, (enum vf_key)k) || !ki->ifla_off)
			continue;
		if (ki->kind == VK_MAC) {
			memcpy(p, v->mac, MAC_LEN);
			continue;
		}
		u = (uint32_t)vf_attr_get((enum vf_key)k, v);
		memcpy(p, &u, sizeof(u));
	}
}
