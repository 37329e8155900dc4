/* SPDX-License-Identifier: MIT */
/* mac_derive and the small parsers and validators of util.c. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "tap.h"
#include "util.h"

static const uint8_t pf0[MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 };
static const uint8_t pf1[MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x01 };

static const char *derived(const uint8_t pf[MAC_LEN], unsigned vf, char buf[MAC_STR_LEN])
{
	uint8_t m[MAC_LEN];

	mac_derive(pf, vf, m);
	return format_mac(m, buf);
}

static void test_mac_derive(void)
{
	/* Computed once, outside this code, from the documented formula. */
	static const struct {
		uint8_t pf[MAC_LEN];
		unsigned vf;
		const char *mac;
	} vec[] = {
		{ { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 }, 0, "e2:d4:dd:76:7e:38" },
		{ { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 }, 1, "e2:d4:dc:76:7e:38" },
		{ { 0x52, 0x54, 0x00, 0x12, 0x34, 0x01 }, 0, "da:2b:62:76:79:50" },
		{ { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 }, 4095, "e2:b0:4e:76:7e:1a" },
		{ { 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc }, 7, "1a:3f:aa:a5:44:74" },
		{ { 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc }, 256, "1a:43:09:a5:44:77" },
	};
	char a[MAC_STR_LEN], b[MAC_STR_LEN];
	static uint8_t all[4096][MAC_LEN];
	bool flags_ok = true, unique = true;

	for (size_t i = 0; i < ELEMENTSOF(vec); i++)
		tap_is_str(derived(vec[i].pf, vec[i].vf, a), vec[i].mac, "mac_derive known vector");

	tap_is_str(derived(pf0, 3, a), derived(pf0, 3, b), "mac_derive is deterministic");

	for (unsigned v = 0; v < 4096; v++) {
		mac_derive(pf0, v, all[v]);
		if (mac_is_multicast(all[v]) || !(all[v][0] & 0x02) || mac_is_zero(all[v]))
			flags_ok = false;
	}
	for (unsigned v = 0; v < 4096 && unique; v++)
		for (unsigned u = 0; u < v; u++)
			if (memcmp(all[u], all[v], MAC_LEN) == 0) {
				unique = false;
				printf("# collision vf%u vf%u\n", u, v);
				break;
			}
	tap_ok(flags_ok, "mac_derive: unicast and locally administered for VFs 0..4095");
	tap_ok(unique, "mac_derive: no collision among VFs 0..4095 of one PF");

	tap_ok(strcmp(derived(pf0, 1, a), derived(pf1, 0, b)) != 0,
	       "mac_derive: PF ..:00 vf1 differs from PF ..:01 vf0 (consecutive port MACs)");
	tap_ok(strcmp(derived(pf0, 0, a), derived(pf1, 0, b)) != 0, "mac_derive: differs across PFs");
}

static void test_mac_parse(void)
{
	static const char *const bad[] = {
		"", "52:54:00:12:34", "52:54:00:12:34:5", "52:54:00:12:34:567", "52-54-00-12-34-56",
		"52:54:00:12:34:5g", "52:54:00:12:34:56 ", " 52:54:00:12:34:5", "5254.0012.3456..",
		"52:54:00:12:34::6", "52:54:0012:34:56:",
	};
	uint8_t m[MAC_LEN], zero[MAC_LEN] = { 0 }, mc[MAC_LEN] = { 0x01, 0, 0x5e, 0, 0, 1 };
	char buf[MAC_STR_LEN];

	tap_is_int(parse_mac("52:54:00:ab:CD:ef", m), 0, "parse_mac accepts mixed case");
	tap_is_str(format_mac(m, buf), "52:54:00:ab:cd:ef", "format_mac prints lower case");
	tap_is_int(parse_mac(format_mac(pf1, buf), m), 0, "parse_mac(format_mac(x))");
	tap_ok(memcmp(m, pf1, MAC_LEN) == 0, "parse_mac/format_mac round trip");
	tap_is_int(parse_mac("ff:ff:ff:ff:ff:ff", m), 0, "parse_mac broadcast");
	tap_is_str(format_mac(m, buf), "ff:ff:ff:ff:ff:ff", "format_mac broadcast");
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		tap_is_int(parse_mac(bad[i], m), -EINVAL, bad[i][0] ? bad[i] : "parse_mac rejects ''");

	tap_ok(mac_is_zero(zero), "mac_is_zero on zero");
	tap_ok(!mac_is_zero(pf0), "mac_is_zero on a real MAC");
	tap_ok(mac_is_multicast(mc), "mac_is_multicast 01:00:5e:..");
	tap_ok(!mac_is_multicast(pf0), "mac_is_multicast on unicast");
}

static void test_validators(void)
{
	static const char *const pci_ok[] = { "0000:01:00.0", "0000:af:1f.7", "ffff:ff:00.1" };
	static const char *const pci_bad[] = {
		"", "0000:01:00", "0000:01:00.8", "0000:01:20.0", "0000:01:00.0 ", "0000:AF:00.0",
		"01:00.0", "0000-01-00.0", "00000:01:00.0", "0000:0g:00.0",
	};
	static const char *const if_ok[] = { "eth0", "enp1s0f1", "a", "abcdefghijklmno", "br-lan.100" };
	static const char *const if_bad[] = {
		"", "abcdefghijklmnop", ".", "..", "eth/0", "eth:0", "eth 0", "eth\t0", "eth\n",
	};
	static const char *const label_ok[] = { "uplink", "A-b_9", "x",
						 "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *const label_bad[] = {
		"", "up link", "up.link", "up/link", "üplink", "abcdefghijklmnopqrstuvwxyz0123456",
	};

	for (size_t i = 0; i < ELEMENTSOF(pci_ok); i++)
		tap_ok(pci_addr_valid(pci_ok[i]), "pci_addr_valid '%s'", pci_ok[i]);
	for (size_t i = 0; i < ELEMENTSOF(pci_bad); i++)
		tap_ok(!pci_addr_valid(pci_bad[i]), "pci_addr_valid rejects '%s'", pci_bad[i]);
	for (size_t i = 0; i < ELEMENTSOF(if_ok); i++)
		tap_ok(ifname_valid(if_ok[i]), "ifname_valid '%s'", if_ok[i]);
	for (size_t i = 0; i < ELEMENTSOF(if_bad); i++)
		tap_ok(!ifname_valid(if_bad[i]), "ifname_valid rejects bad name %zu", i);
	for (size_t i = 0; i < ELEMENTSOF(label_ok); i++)
		tap_ok(label_valid(label_ok[i]), "label_valid '%s'", label_ok[i]);
	for (size_t i = 0; i < ELEMENTSOF(label_bad); i++)
		tap_ok(!label_valid(label_bad[i]), "label_valid rejects '%s'", label_bad[i]);
}

static void test_parse_uint(void)
{
	unsigned long v = 42;
	char big[64];
	bool b = false;

	tap_is_int(parse_uint("0", 10, &v), 0, "parse_uint 0");
	tap_is_int(v, 0, "parse_uint 0 value");
	tap_is_int(parse_uint("4095", 4095, &v), 0, "parse_uint max");
	tap_is_int(v, 4095, "parse_uint max value");
	tap_is_int(parse_uint("4096", 4095, &v), -ERANGE, "parse_uint max+1");
	tap_is_int(parse_uint("40950", 4095, &v), -ERANGE, "parse_uint 10*max");
	tap_is_int(parse_uint("007", 7, &v), 0, "parse_uint leading zeros");
	tap_is_int(v, 7, "parse_uint leading zeros value");
	snprintf(big, sizeof(big), "%lu", ULONG_MAX);
	tap_is_int(parse_uint(big, ULONG_MAX, &v), 0, "parse_uint ULONG_MAX");
	tap_ok(v == ULONG_MAX, "parse_uint ULONG_MAX value");
	tap_is_int(parse_uint("18446744073709551616", ULONG_MAX, &v), -ERANGE, "parse_uint ULONG_MAX+1");
	tap_is_int(parse_uint("99999999999999999999999", ULONG_MAX, &v), -ERANGE,
		   "parse_uint far above ULONG_MAX");
	tap_is_int(parse_uint("4294967295", UINT32_MAX, &v), 0, "parse_uint UINT32_MAX");
	tap_is_int(parse_uint("4294967296", UINT32_MAX, &v), -ERANGE, "parse_uint UINT32_MAX+1");
	v = 42;
	tap_is_int(parse_uint("", 10, &v), -EINVAL, "parse_uint empty");
	tap_is_int(parse_uint(NULL, 10, &v), -EINVAL, "parse_uint NULL");
	tap_is_int(parse_uint("-1", 10, &v), -EINVAL, "parse_uint minus");
	tap_is_int(parse_uint("+1", 10, &v), -EINVAL, "parse_uint plus");
	tap_is_int(parse_uint(" 1", 10, &v), -EINVAL, "parse_uint leading space");
	tap_is_int(parse_uint("1 ", 10, &v), -EINVAL, "parse_uint trailing space");
	tap_is_int(parse_uint("1x", 10, &v), -EINVAL, "parse_uint trailing garbage");
	tap_is_int(parse_uint("0x1", 10, &v), -EINVAL, "parse_uint hex");
	tap_is_int(parse_uint("1.5", 10, &v), -EINVAL, "parse_uint decimal point");
	tap_is_int(v, 42, "parse_uint leaves ret alone on error");

	tap_is_int(parse_bool("on", &b), 0, "parse_bool on");
	tap_ok(b, "parse_bool on is true");
	tap_is_int(parse_bool("no", &b), 0, "parse_bool no");
	tap_ok(!b, "parse_bool no is false");
	tap_is_int(parse_bool("On", &b), -EINVAL, "parse_bool is exact");
	tap_is_int(parse_bool("", &b), -EINVAL, "parse_bool empty");
}

int main(void)
{
	test_mac_derive();
	test_mac_parse();
	test_validators();
	test_parse_uint();
	return tap_done();
}
