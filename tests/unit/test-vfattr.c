/* SPDX-License-Identifier: MIT */
/*
 * The table of VF keys (helper/vfattr.h): every row is whole, and each
 * kernel attribute's value goes through the parser, the rtnetlink struct
 * and back unchanged. A new row is checked here without a new test.
 */
#include <linux/if_link.h>
#include <string.h>

#include "vfattr.h"
#include "tap.h"

/* A value of key k other than its default, within its bounds. */
static long long other_value(enum vf_key k)
{
	const struct vf_key_info *ki = &vf_keys[k];

	switch (ki->kind) {
	case VK_UINT:
		return ki->max > 5 ? 5 : (long long)ki->max;
	case VK_FLAG:
		return !ki->dflt;
	default:
		for (const struct vf_name *n = ki->names; n && n->name; n++)
			if (n->value != ki->dflt)
				return n->value;
		return ki->dflt;
	}
}

static void test_rows(void)
{
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		const struct vf_key_info *ki = &vf_keys[k];

		tap_ok(ki->name && *ki->name && streq(vf_key_name((enum vf_key)k), ki->name), "key %d has a name: %s",
		       k, ki->name ? ki->name : "(null)");
		tap_ok(ki->column && ki->json, "%s: a status column and a JSON key", ki->name);
		tap_ok(ki->kind == VK_MAC || ki->hint, "%s: a hint for its parse error", ki->name);
		if (ki->kind == VK_DRIVER || !ki->ifla)
			continue;
		tap_ok(vf_key_same_ifla((enum vf_key)k, ki->written_by) &&
			       vf_keys[ki->written_by].written_by == ki->written_by,
		       "%s: written by %s, a key of the same attribute that writes itself", ki->name,
		       vf_keys[ki->written_by].name);
		tap_ok(!ki->ifla_off ||
			       (ki->ifla_size >= 8 && ki->ifla_off + (ki->kind == VK_MAC ? MAC_LEN : 4u) <= ki->ifla_size),
		       "%s: its value lies in its attribute's struct (or only in a list)", ki->name);
	}
}

/* Parse the text of a value, put it in the kernel's struct, read it back. */
static void test_round_trip(void)
{
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		enum vf_key key = (enum vf_key)k;
		const struct vf_key_info *ki = &vf_keys[k];
		struct vf_conf c;
		struct vf_attrs want, got;
		char text[32], err[200], raw[64];

		if (!ki->ifla)
			continue;
		vf_conf_default(&c);
		vf_attrs_default(&want);
		if (ki->kind == VK_MAC)
			parse_mac("02:00:00:00:00:07", want.mac);
		else
			vf_attr_set(key, &want, other_value(key));
		vf_attr_str(key, &want, text, sizeof(text));
		tap_ok(vf_key_parse(key, text, &c, err, sizeof(err)) == 0 && vf_attr_eq(key, &c.attrs, &want),
		       "%s: '%s' parses to the value it shows", ki->name, text);
		if (!ki->ifla_off)
			continue;
		vf_attrs_to_ifla(ki->written_by, &want, 3, raw, sizeof(raw));
		vf_attrs_unread(&got);
		vf_attrs_from_ifla(ki->ifla, raw, ki->ifla_size, &got);
		tap_ok(vf_attr_eq(key, &got, &want) && *(const uint32_t *)(const void *)raw == 3,
		       "%s: through its rtnetlink struct and back, VF index first", ki->name);
	}
}

static void test_unread(void)
{
	struct vf_attrs v;

	vf_attrs_unread(&v);
	tap_ok(v.spoofchk == -1 && v.trust == -1 && v.query_rss == -1 && v.link_state == -1,
	       "unread: what a driver may not report is -1");
	tap_ok(v.vlan_proto == ETH_P_8021Q_ && v.vlan == 0, "unread: the rest at its default");
}

int main(void)
{
	test_rows();
	test_round_trip();
	test_unread();
	return tap_done();
}
