/* SPDX-License-Identifier: MIT */
/* The policy parser and validator: every mistake as FILE:LINE: message. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"
#include "tap.h"

#define ERRS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_ERRS ((const char *const[]){ NULL })

static int parse_text(struct policy *p, const char *text, const char *name)
{
	/* fmemopen of 0 bytes fails with EINVAL in older glibc */
	FILE *f = text[0] ? fmemopen((void *)(uintptr_t)text, strlen(text), "r")
			  : fopen("/dev/null", "re");
	int r;

	if (!f)
		return -errno;
	r = policy_parse_stream(p, f, name);
	fclose(f);
	return r;
}

/* want: "FILE:LINE: message", or a prefix of it ending in '*'. */
static void check_errors(const char *what, const struct policy *p, const char *const *want)
{
	unsigned n = 0;

	while (want[n])
		n++;
	tap_ok(p->n_errors == n, "%s: %u error(s)", what, n);
	if (p->n_errors != n)
		for (unsigned i = 0; i < p->n_errors; i++)
			printf("#   got %s:%u: %s\n", p->errors[i].at.file ? p->errors[i].at.file : "?",
			       p->errors[i].at.line, p->errors[i].msg);
	for (unsigned i = 0; i < n && i < p->n_errors; i++) {
		const struct policy_error *e = &p->errors[i];
		size_t wl = strlen(want[i]);
		char got[512];

		snprintf(got, sizeof(got), "%s:%u: %s", e->at.file, e->at.line, e->msg);
		if (wl && want[i][wl - 1] == '*' && strncmp(got, want[i], wl - 1) == 0)
			snprintf(got, sizeof(got), "%s", want[i]);
		tap_is_str(got, want[i], what);
	}
}

/* Parse text as t.conf, validate, compare the error list. */
static void check(const char *what, const char *text, const char *const *want)
{
	struct policy p;
	int r;

	policy_init(&p);
	r = parse_text(&p, text, "t.conf");
	if (r == 0)
		r = policy_validate(&p);
	tap_is_int(r, want[0] ? -EINVAL : 0, what);
	check_errors(what, &p, want);
	policy_free(&p);
}

static int load(struct policy *p, const char *text)
{
	policy_init(p);
	if (parse_text(p, text, "t.conf") < 0)
		return -EIO;
	return policy_validate(p);
}

static void test_mistakes(void)
{
	char buf[1024];

	check("unknown section", "[defaults]\n[pfx a]\nvlan = 1\n",
	      ERRS("t.conf:2: unknown section '[pfx a]' (expected [defaults], [pf LABEL] or [vf LABEL INDEX])"));
	check("[pf] without a label", "[pf]\n", ERRS("t.conf:1: unknown section '[pf]'*"));
	check("[vf] without an index", "[vf a]\n", ERRS("t.conf:1: unknown section '[vf a]'*"));
	check("malformed header", "[pf a\n", ERRS("t.conf:1: malformed section header '[pf a'"));
	check("unknown key", "[defaults]\nvlna = 5\n", ERRS("t.conf:2: unknown key 'vlna'"));
	check("keys are exact", "[defaults]\nVLAN = 5\nvl = 5\n",
	      ERRS("t.conf:2: unknown key 'VLAN'", "t.conf:3: unknown key 'vl'"));

	check("vlan 4096", "[defaults]\nvlan = 4096\n", ERRS("t.conf:2: invalid vlan '4096' (0-4095)"));
	check("vlan 4095 valid", "[defaults]\nvlan = 4095\n", NO_ERRS);
	check("vlan 10x", "[defaults]\nvlan = 10x\n", ERRS("t.conf:2: invalid vlan '10x' (0-4095)"));
	check("qos 8", "[defaults]\nvlan = 1\nqos = 8\n", ERRS("t.conf:3: invalid qos '8' (0-7)"));
	check("rate 100M", "[defaults]\nmax-tx-rate = 100M\n",
	      ERRS("t.conf:2: invalid max-tx-rate '100M' (Mbit/s, a whole number, 0 = no limit)"));
	check("rate -1", "[defaults]\nmin-tx-rate = -1\n",
	      ERRS("t.conf:2: invalid min-tx-rate '-1' (Mbit/s, a whole number, 0 = no limit)"));
	check("rate above 32 bits", "[defaults]\nmax-tx-rate = 4294967296\n",
	      ERRS("t.conf:2: invalid max-tx-rate '4294967296'*"));
	check("rate empty", "[defaults]\nmax-tx-rate =\n", ERRS("t.conf:2: invalid max-tx-rate ''*"));
	check("vfs 4097", "[pf a]\ndevice = eth0\nvfs = 4097\n", ERRS("t.conf:3: invalid vfs '4097' (0-4096)"));
	check("bad bool", "[defaults]\nspoofchk = maybe\ntrust = 2\nquery-rss = On\npf-up = y\n",
	      ERRS("t.conf:2: invalid spoofchk 'maybe' (on or off)", "t.conf:3: invalid trust '2' (on or off)",
		   "t.conf:4: invalid query-rss 'On' (on or off)", "t.conf:5: invalid pf-up 'y' (on or off)"));
	check("bad link-state", "[defaults]\nlink-state = up\n",
	      ERRS("t.conf:2: invalid link-state 'up' (auto, enable or disable)"));
	check("bad vlan-proto", "[defaults]\nvlan-proto = 802.1q\n",
	      ERRS("t.conf:2: invalid vlan-proto '802.1q' (802.1Q or 802.1ad)"));
	check("bad vf-driver", "[defaults]\nvf-driver = igbvf\n",
	      ERRS("t.conf:2: invalid vf-driver 'igbvf' (vfio-pci, kernel or none)"));
	check("bad device", "[pf a]\ndevice = eth/0\n",
	      ERRS("t.conf:2: invalid device 'eth/0' (an interface name, a PCI address such as 0000:01:00.0 or a MAC)"));
	check("bad device: too long", "[pf a]\ndevice = enp1s0f0npf0vf1x\n",
	      ERRS("t.conf:2: invalid device 'enp1s0f0npf0vf1x'*"));
	check("bad device: PCI function 8", "[pf a]\ndevice = 0000:01:00.8\n",
	      ERRS("t.conf:2: invalid device '0000:01:00.8'*"));
	check("[pf] without device", "[pf a]\nvfs = 1\n", ERRS("t.conf:1: [pf a] has no 'device', 'driver' or 'pci-id'"));

	check("multicast mac", "[pf a]\ndevice = eth0\nvfs = 1\n[vf a 0]\nmac = 01:00:5e:00:00:01\n",
	      ERRS("t.conf:5: invalid mac '01:00:5e:00:00:01': multicast"));
	check("all-zero mac", "[pf a]\ndevice = eth0\nvfs = 1\n[vf a 0]\nmac = 00:00:00:00:00:00\n",
	      ERRS("t.conf:5: invalid mac '00:00:00:00:00:00': all zero"));
	check("short mac", "[defaults]\nmac = 02:00:00:00:00\n",
	      ERRS("t.conf:2: invalid mac '02:00:00:00:00' (auto, none or xx:xx:xx:xx:xx:xx)"));

	check("same mac twice",
	      "[pf a]\ndevice = eth0\nvfs = 2\n[vf a 0]\nmac = 02:00:00:00:00:01\n[vf a 1]\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:7: duplicate mac 02:00:00:00:00:01, also set at t.conf:5"));
	check("same mac twice, higher VF first",
	      "[pf a]\ndevice = eth0\nvfs = 2\n[vf a 1]\nmac = 02:00:00:00:00:01\n[vf a 0]\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:7: duplicate mac 02:00:00:00:00:01, also set at t.conf:5"));
	check("same mac twice, two PFs, case differs",
	      "[pf a]\ndevice = eth0\nvfs = 1\n[pf b]\ndevice = eth1\nvfs = 1\n"
	      "[vf b 0]\nmac = 02:AB:00:00:00:01\n[vf a 0]\nmac = 02:ab:00:00:00:01\n",
	      ERRS("t.conf:10: duplicate mac 02:ab:00:00:00:01, also set at t.conf:8"));
	check("same mac three times",
	      "[pf a]\ndevice = eth0\nvfs = 3\n[vf a 0]\nmac = 02:00:00:00:00:01\n[vf a 1]\nmac = 02:00:00:00:00:01\n"
	      "[vf a 2]\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:7: duplicate mac 02:00:00:00:00:01, also set at t.conf:5",
		   "t.conf:9: duplicate mac 02:00:00:00:00:01, also set at t.conf:5"));
	check("different macs valid",
	      "[pf a]\ndevice = eth0\nvfs = 2\n[vf a 0]\nmac = 02:00:00:00:00:01\n[vf a 1]\nmac = 02:00:00:00:00:02\n",
	      NO_ERRS);

	check("two [pf] on one device", "[pf a]\ndevice = eth0\nvfs = 0\n[pf b]\nvfs = 0\ndevice = eth0\n",
	      ERRS("t.conf:6: device 'eth0' of [pf b] is already [pf a] (t.conf:2)"));
	check("two [pf] on one MAC, case differs",
	      "[defaults]\nvfs = 0\n[pf a]\ndevice = 52:54:00:12:34:ab\n[pf b]\ndevice = 52:54:00:12:34:AB\n",
	      ERRS("t.conf:6: device '52:54:00:12:34:AB' of [pf b] is already [pf a] (t.conf:4)"));
	check("two [pf] on one PCI address", "[pf a]\ndevice = 0000:01:00.0\nvfs = 1\n[pf b]\ndevice = 0000:01:00.0\nvfs = 1\n",
	      ERRS("t.conf:5: device '0000:01:00.0' of [pf b] is already [pf a] (t.conf:2)"));
	check("same label twice", "[pf a]\ndevice = eth0\nvfs = 0\n[pf a]\ndevice = eth1\n",
	      ERRS("t.conf:4: duplicate section [pf a], first at t.conf:1"));

	check("[vf] of an unknown PF", "[pf a]\ndevice = eth0\nvfs = 1\n[vf b 0]\nvlan = 5\n",
	      ERRS("t.conf:4: [vf b 0]: there is no [pf b]"));
	check("[vf] index = vfs", "[pf a]\ndevice = eth0\nvfs = 2\n[vf a 2]\nvlan = 5\n",
	      ERRS("t.conf:4: [vf a 2]: VF 2 does not exist, [pf a] has vfs = 2"));
	check("[vf] range past vfs", "[pf a]\ndevice = eth0\nvfs = 2\n[vf a 1-3]\nvlan = 5\n",
	      ERRS("t.conf:4: [vf a 1-3]: VF 3 does not exist, [pf a] has vfs = 2"));
	check("[vf] index above VFS_MAX", "[vf a 4096]\n", ERRS("t.conf:1: invalid VF index '4096'*"));
	check("[vf] reversed range", "[vf a 3-1]\n", ERRS("t.conf:1: invalid VF index '3-1'*"));
	check("[vf] bad index", "[vf a x]\n[vf a 1-]\n[vf a -1]\n",
	      ERRS("t.conf:1: invalid VF index 'x'*", "t.conf:2: invalid VF index '1-'*",
		   "t.conf:3: invalid VF index '-1'*"));

	check("min above max, min later", "[pf a]\ndevice = eth0\nvfs = 1\nmax-tx-rate = 100\n[vf a 0]\nmin-tx-rate = 200\n",
	      ERRS("t.conf:6: min-tx-rate 200 is above max-tx-rate 100 (t.conf:4)"));
	check("min above max, max later", "[defaults]\nmin-tx-rate = 200\n[pf a]\ndevice = eth0\nvfs = 2\nmax-tx-rate = 100\n",
	      ERRS("t.conf:6: min-tx-rate 200 is above max-tx-rate 100 (t.conf:2)"));
	check("min equal to max valid", "[defaults]\nmin-tx-rate = 100\nmax-tx-rate = 100\n[pf a]\ndevice = eth0\nvfs = 1\n",
	      NO_ERRS);

	check("qos without vlan", "[pf a]\ndevice = eth0\nvfs = 1\nqos = 3\n",
	      ERRS("t.conf:4: qos 3 without a vlan"));
	check("qos in [defaults], vlan in [pf]", "[defaults]\nqos = 3\n[pf a]\ndevice = eth0\nvfs = 1\nvlan = 7\n",
	      NO_ERRS);
	check("qos with vlan 0 in one [vf]",
	      "[defaults]\nqos = 3\n[pf a]\ndevice = eth0\nvfs = 2\nvlan = 7\n[vf a 1]\nvlan = 0\n",
	      ERRS("t.conf:2: qos 3 without a vlan"));

	check("same key twice", "[defaults]\nvlan = 1\ntrust = on\nvlan = 2\n",
	      ERRS("t.conf:4: duplicate key 'vlan', first set at t.conf:2"));

	check("label with a dot", "[pf my.nic]\n",
	      ERRS("t.conf:1: invalid label 'my.nic': one word of letters, digits, '-' or '_', at most 32"));
	check("label of two words", "[pf my nic]\ndevice = eth0\n", ERRS("t.conf:1: unknown section '[pf my nic]'*"));
	check("[vf] label with a slash", "[vf a/b 0]\n", ERRS("t.conf:1: invalid label 'a/b'*"));
	check("label of 33 characters", "[pf abcdefghijklmnopqrstuvwxyz0123456]\n",
	      ERRS("t.conf:1: invalid label 'abcdefghijklmnopqrstuvwxyz0123456'*"));
	check("label of 32 characters", "[pf abcdefghijklmnopqrstuvwxyz012345]\ndevice = eth0\nvfs = 0\n", NO_ERRS);

	check("key outside a section", "vlan = 5\n[defaults]\n", ERRS("t.conf:1: 'vlan' outside of a section"));

	/* inih stops at 200 bytes with "\n\0": 198 characters are the most. */
	snprintf(buf, sizeof(buf), "[defaults]\nvlan = 5 ;%188s\nqos = 1\n", "x");
	check("line of 198 characters", buf, NO_ERRS);
	snprintf(buf, sizeof(buf), "[defaults]\nvlan = 5 ;%189s\nqos = 1\n", "x");
	check("line of 199 characters", buf, ERRS("t.conf:2: line too long (199 characters, at most 198)"));
	snprintf(buf, sizeof(buf), "[defaults]\nmax-tx-rate = 1%0300d\nvlna = 1\n", 0);
	check("long line is one error, not split", buf,
	      ERRS("t.conf:2: line too long (315 characters, at most 198)", "t.conf:3: unknown key 'vlna'"));
	snprintf(buf, sizeof(buf), "[defaults]\n;%0300d\n#%0300d\nvlna = 1\n", 0, 0);
	check("long comment lines are fine", buf, ERRS("t.conf:4: unknown key 'vlna'"));

	check("not key = value", "[defaults]\nvlan 5\n", ERRS("t.conf:2: expected 'key = value', got 'vlan 5'"));
	check("not key = value, '=' only in a comment", "[defaults]\nspoofchk ; TODO: a = b\n",
	      ERRS("t.conf:2: expected 'key = value'*"));

	check("fixed mac in [pf] with vfs 2", "[pf a]\ndevice = eth0\nvfs = 2\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:4: mac 02:00:00:00:00:01 would be given to more than one VF; set a fixed mac in a [vf] section of one VF"));
	check("fixed mac in [pf] with vfs 1", "[pf a]\ndevice = eth0\nvfs = 1\nmac = 02:00:00:00:00:01\n", NO_ERRS);
	check("fixed mac in [defaults], two PFs",
	      "[defaults]\nmac = 02:00:00:00:00:01\n[pf a]\ndevice = eth0\nvfs = 1\n[pf b]\ndevice = eth1\nvfs = 1\n",
	      ERRS("t.conf:2: mac 02:00:00:00:00:01 would be given to more than one VF*"));
	check("fixed mac in [vf 0-3]", "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 0-3]\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:5: mac 02:00:00:00:00:01 would be given to 4 VFs; set a fixed mac in a [vf] section of one VF"));

	check("overlapping [vf] set one key",
	      "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 0-2]\nvlan = 5\n[vf a 2-3]\ntrust = on\nvlan = 6\n",
	      ERRS("t.conf:8: 'vlan' for VF 2 is also set at t.conf:5"));
	check("[vf] twice for one VF", "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 1]\nvlan = 5\n[vf a 1]\nvlan = 6\n",
	      ERRS("t.conf:7: 'vlan' for VF 1 is also set at t.conf:5"));
	check("overlapping [vf], different keys",
	      "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 0-2]\nvlan = 5\n[vf a 2-3]\ntrust = on\n", NO_ERRS);
	check("adjacent [vf], same key", "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 0-1]\nvlan = 5\n[vf a 2-3]\nvlan = 6\n",
	      NO_ERRS);

	check("device in [defaults]", "[defaults]\ndevice = eth0\n",
	      ERRS("t.conf:2: key 'device' is not allowed in [defaults]"));
	check("device in [vf]", "[pf a]\ndevice = eth0\nvfs = 1\n[vf a 0]\ndevice = eth1\n",
	      ERRS("t.conf:5: key 'device' is not allowed in [vf a 0]"));
	check("vfs and pf-up in [vf]", "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 0-3]\nvfs = 1\npf-up = no\n",
	      ERRS("t.conf:5: key 'vfs' is not allowed in [vf a 0-3]",
		   "t.conf:6: key 'pf-up' is not allowed in [vf a 0-3]"));

	check("eswitch-mode", "[defaults]\neswitch-mode = switchdev\nvfs = 0\n[pf a]\ndevice = eth0\n"
	      "eswitch-mode = legacy\n",
	      NO_ERRS);
	check("eswitch-mode mistakes",
	      "[pf a]\ndevice = eth0\nvfs = 1\neswitch-mode = Switchdev\n[pf b]\ndevice = eth1\nvfs = 0\n"
	      "eswitch-mode =\n[vf a 0]\neswitch-mode = legacy\n[pf c]\ndevice = eth2\nvfs = 0\n"
	      "eswitch-mode = legacy\neswitch-mode = switchdev\n",
	      ERRS("t.conf:4: invalid eswitch-mode 'Switchdev' (legacy or switchdev)",
		   "t.conf:8: invalid eswitch-mode '' (legacy or switchdev)",
		   "t.conf:10: key 'eswitch-mode' is not allowed in [vf a 0]",
		   "t.conf:15: duplicate key 'eswitch-mode', first set at t.conf:14"));

	check("mtu bounds", "[defaults]\nmtu = 68\nvfs = 0\n[pf a]\ndevice = eth0\nmtu = 65535\n", NO_ERRS);
	check("mtu mistakes",
	      "[pf a]\ndevice = eth0\nvfs = 1\nmtu = 67\n[pf b]\ndevice = eth1\nvfs = 0\nmtu = 65536\n"
	      "[vf a 0]\nmtu = 1500\n[defaults]\nmtu = 9000x\n[pf c]\ndevice = eth2\nvfs = 0\nmtu = -1\n"
	      "mtu =\n",
	      ERRS("t.conf:4: invalid mtu '67' (68-65535)",
		   "t.conf:8: invalid mtu '65536' (68-65535)",
		   "t.conf:10: key 'mtu' is not allowed in [vf a 0]",
		   "t.conf:12: invalid mtu '9000x' (68-65535)",
		   "t.conf:16: invalid mtu '-1' (68-65535)",
		   "t.conf:17: invalid mtu '' (68-65535)"));

	check("allow-domain", "[defaults]\nallow-domain = trust\nvfs = 0\n[pf a]\ndevice = eth0\n"
	      "allow-domain = trust , max-tx-rate,spoofchk\n[pf b]\ndevice = eth1\nallow-domain = none\n",
	      NO_ERRS);
	check("allow-domain mistakes",
	      "[pf a]\ndevice = eth0\nvfs = 1\nallow-domain = vf-driver\n[pf b]\ndevice = eth1\n"
	      "allow-domain = trust,trust\n[pf c]\ndevice = eth2\nallow-domain =\n[pf d]\ndevice = eth3\n"
	      "allow-domain = trust,,\n[pf e]\ndevice = eth4\nallow-domain = tust\n[vf a 0]\nallow-domain = trust\n"
	      "[defaults]\nvfs = 0\n",
	      ERRS("t.conf:4: invalid allow-domain 'vf-driver': 'vf-driver' is not a VF setting a domain may choose",
		   "t.conf:7: invalid allow-domain 'trust,trust': 'trust' listed twice",
		   "t.conf:10: invalid allow-domain '' (none, or VF settings separated by commas)",
		   "t.conf:13: invalid allow-domain 'trust,,': '' is not a VF setting a domain may choose",
		   "t.conf:16: invalid allow-domain 'tust': 'tust' is not a VF setting a domain may choose",
		   "t.conf:18: key 'allow-domain' is not allowed in [vf a 0]"));
}

static void test_allow_domain(void)
{
	struct policy p;
	struct vf_conf c = { 0 };
	enum vf_key k = _KEY_VF_MAX;
	char err[200] = "";

	tap_is_int(load(&p, "[defaults]\nallow-domain = trust\nvfs = 0\n[pf a]\ndevice = eth0\n"
			    "allow-domain = max-tx-rate, spoofchk\n[pf b]\ndevice = eth1\n[pf c]\n"
			    "device = eth2\nallow-domain = none\n"), 0, "allow-domain: loads");
	if (p.n_pfs == 3) {
		tap_is_int(p.pfs[0].allow_domain, (1u << KEY_MAX_TX_RATE) | (1u << KEY_SPOOFCHK),
			   "allow-domain: [pf] list over [defaults]");
		tap_is_int(p.pfs[1].allow_domain, 1u << KEY_TRUST, "allow-domain: from [defaults]");
		tap_is_int(p.pfs[2].allow_domain, 0, "allow-domain: none");
	} else
		tap_ok(0, "allow-domain: 3 PFs");
	policy_free(&p);
	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 0\n"), 0, "allow-domain: absent");
	tap_is_int(p.n_pfs ? p.pfs[0].allow_domain : 99, 0, "allow-domain: built-in none");
	policy_free(&p);

	tap_is_int(vf_setting_parse("trust", "on", &c, &k, err, sizeof(err)), 0, "vf_setting_parse trust on");
	tap_ok(c.trust && k == KEY_TRUST, "vf_setting_parse sets trust");
	tap_is_int(vf_setting_parse("max-tx-rate", "500", &c, &k, err, sizeof(err)), 0, "vf_setting_parse rate");
	tap_ok(c.max_tx_rate == 500 && k == KEY_MAX_TX_RATE, "vf_setting_parse sets max-tx-rate");
	tap_is_int(vf_setting_parse("max-tx-rate", "5x", &c, &k, err, sizeof(err)), -EINVAL, "vf_setting_parse bad value");
	tap_is_str(err, "invalid max-tx-rate '5x' (Mbit/s, a whole number, 0 = no limit)", "vf_setting_parse says why");
	tap_ok(c.max_tx_rate == 500, "vf_setting_parse: bad value changes nothing");
	tap_is_int(vf_setting_parse("vfs", "2", &c, &k, err, sizeof(err)), -ENOENT, "vf_setting_parse: PF key refused");
	tap_is_int(vf_setting_parse("trsut", "on", &c, &k, err, sizeof(err)), -ENOENT, "vf_setting_parse: unknown");
	tap_is_str(err, "unknown VF setting 'trsut'", "vf_setting_parse: unknown says so");
}

static void test_eswitch_mode(void)
{
	struct policy p;

	tap_is_int(load(&p, "[defaults]\neswitch-mode = switchdev\nvfs = 0\n[pf a]\ndevice = eth0\n"
			    "eswitch-mode = legacy\n[pf b]\ndevice = eth1\n"), 0, "eswitch-mode: loads");
	if (p.n_pfs == 2) {
		tap_is_int(p.pfs[0].eswitch_mode, ESWITCH_LEGACY, "eswitch-mode: [pf] over [defaults]");
		tap_is_int(p.pfs[1].eswitch_mode, ESWITCH_SWITCHDEV, "eswitch-mode: from [defaults]");
	} else
		tap_ok(0, "eswitch-mode: 2 PFs");
	policy_free(&p);
	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 0\n"), 0, "eswitch-mode: absent");
	tap_is_int(p.n_pfs ? p.pfs[0].eswitch_mode : 99, ESWITCH_UNSET, "eswitch-mode: not set, never touched");
	policy_free(&p);
}

/* manage = no sets one PF aside; its section is validated all the same. */
static void test_manage(void)
{
	struct policy p;

	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 2\nmanage = no\n[pf b]\ndevice = eth1\nvfs = 1\n"
			    "[pf c]\ndevice = eth2\nvfs = 1\nmanage = yes\n"), 0, "manage: loads");
	if (p.n_pfs == 3) {
		tap_ok(!p.pfs[0].manage, "manage = no");
		tap_is_int((int)p.pfs[0].manage_at.line, 4, "manage = no: its line");
		tap_ok(p.pfs[1].manage, "manage: yes when not set");
		tap_ok(p.pfs[2].manage, "manage = yes");
	} else
		tap_ok(0, "manage: 3 PFs");
	policy_free(&p);
	check("manage: bad value, [defaults], [vf], twice",
	      "[defaults]\nmanage = no\n[pf a]\ndevice = eth0\nvfs = 2\nmanage = maybe\n[vf a 0]\nmanage = no\n"
	      "[pf b]\ndevice = eth1\nvfs = 1\nmanage = no\nmanage = yes\n",
	      ERRS("t.conf:2: key 'manage' is not allowed in [defaults]",
		   "t.conf:6: invalid manage 'maybe' (yes or no)",
		   "t.conf:8: key 'manage' is not allowed in [vf a 0]",
		   "t.conf:13: duplicate key 'manage', first set at t.conf:12"));
	check("manage = no: the rest of the section is still validated",
	      "[pf a]\ndevice = eth0\nvfs = 2\nmanage = no\nvlan = 4096\n[vf a 5]\ntrust = on\n",
	      ERRS("t.conf:5: invalid vlan '4096'*", "t.conf:6:*"));
	check("manage = no: still needs vfs", "[pf a]\ndevice = eth0\nmanage = no\n",
	      ERRS("t.conf:1: [pf a] has no 'vfs'*"));
}

static void test_mtu(void)
{
	struct policy p;

	tap_is_int(load(&p, "[defaults]\nmtu = 9000\nvfs = 0\n[pf a]\ndevice = eth0\nmtu = 1400\n[pf b]\n"
			    "device = eth1\n"), 0, "mtu: loads");
	if (p.n_pfs == 2) {
		tap_is_int((int)p.pfs[0].mtu, 1400, "mtu: [pf] over [defaults]");
		tap_is_int((int)p.pfs[1].mtu, 9000, "mtu: from [defaults]");
	} else
		tap_ok(0, "mtu: 2 PFs");
	policy_free(&p);
	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 0\n"), 0, "mtu: absent");
	tap_is_int(p.n_pfs ? (int)p.pfs[0].mtu : 99, 0, "mtu: not set, never touched");
	policy_free(&p);
}

static void test_all_sorted(void)
{
	check("all errors, sorted by line",
	      "[pf a]\n"	   /* 1 */
	      "device = eth0\n"	   /* 2 */
	      "vfs = 2\n"	   /* 3 */
	      "qos = 3\n"	   /* 4: found by validate */
	      "vlna = 1\n"	   /* 5: found by the parser */
	      "[vf a 5]\n"	   /* 6: validate */
	      "trust = maybe\n"	   /* 7: parser */
	      "[vf zz 0]\n",	   /* 8: validate */
	      ERRS("t.conf:4: qos 3 without a vlan", "t.conf:5: unknown key 'vlna'",
		   "t.conf:6: [vf a 5]: VF 5 does not exist, [pf a] has vfs = 2",
		   "t.conf:7: invalid trust 'maybe' (on or off)", "t.conf:8: [vf zz 0]: there is no [pf zz]"));
}

static void test_syntax(void)
{
	struct policy p;
	int r;

	check("empty policy", "", NO_ERRS);
	check("comments only", "; one\n# two\n\n   \n\t; three\n", NO_ERRS);
	check("empty sections", "[defaults]\n[pf a]\ndevice = eth0\nvfs = 2\n[vf a 0-1]\n", NO_ERRS);

	r = load(&p, "\xEF\xBB\xBF[defaults]   ; comment\r\n"
		     "# comment\r\n"
		     "   vlan = 5 ; inline comment\r\n"
		     "\tqos=1\r\n"
		     "[pf up-link_0] ; comment\r\n"
		     "  device = 0000:01:00.0\r\n"
		     "vfs = 2   \r\n"
		     "[ vf up-link_0 1 ]\r\n"
		     "trust = on;not a comment\r\n"
		     "link-state = disable\r\n");
	tap_is_int(r, -EINVAL, "BOM, CRLF, comments, indentation: only the ';' without blank fails");
	check_errors("BOM, CRLF, comments, indentation", &p,
		     ERRS("t.conf:9: invalid trust 'on;not a comment' (on or off)"));
	policy_free(&p);

	r = load(&p, "\xEF\xBB\xBF[defaults]   ; comment\r\n"
		     "# comment\r\n"
		     "   vlan = 5 ; inline comment\r\n"
		     "\tqos=1\r\n"
		     "[pf up-link_0] ; comment\r\n"
		     "  device = 0000:01:00.0\r\n"
		     "vfs = 2   \r\n"
		     "[ vf up-link_0 1 ]\r\n"
		     "trust = on\t; comment\r\n"
		     "link-state = disable\r\n");
	tap_is_int(r, 0, "BOM, CRLF, comments, indentation parse");
	check_errors("BOM, CRLF, comments, indentation", &p, NO_ERRS);
	tap_is_int(p.n_pfs, 1, "one PF");
	if (p.n_pfs == 1) {
		const struct pf_policy *pf = &p.pfs[0];

		tap_is_str(pf->label, "up-link_0", "label");
		tap_is_str(pf->device, "0000:01:00.0", "device");
		tap_is_int(pf->device_kind, DEVICE_PCI, "device kind PCI");
		tap_is_int(pf->at.line, 6, "PF origin is the device line");
		tap_is_int(pf->vfs, 2, "vfs with trailing blanks");
		tap_is_int(pf->vf[0].vlan, 5, "indented key with inline comment");
		tap_is_int(pf->vf[1].qos, 1, "tab-indented key without blanks around '='");
		tap_ok(!pf->vf[0].trust && pf->vf[1].trust, "[vf] section header with blanks");
		tap_is_int(pf->vf[1].link_state, LINK_STATE_DISABLE, "CRLF on the last line");
		tap_is_int(pf->vf[1].at[KEY_TRUST].line, 9, "line numbers count comment lines");
	}
	policy_free(&p);

	r = load(&p, "[pf a]\ndevice = 52:54:00:12:34:AB\nvfs = 0\n[pf b]\ndevice = eth0\nvfs = 0\n");
	tap_is_int(r, 0, "device kinds parse");
	if (p.n_pfs == 2) {
		static const uint8_t m[MAC_LEN] = { 0x52, 0x54, 0, 0x12, 0x34, 0xab };

		tap_is_int(p.pfs[0].device_kind, DEVICE_MAC, "device kind MAC");
		tap_ok(memcmp(p.pfs[0].device_mac, m, MAC_LEN) == 0, "device MAC value");
		tap_is_int(p.pfs[1].device_kind, DEVICE_IFNAME, "device kind ifname");
	}
	policy_free(&p);
}

static void test_builtin(void)
{
	struct policy p;
	const struct vf_conf *c;

	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 0\n"), 0, "built-in: minimal [pf]");
	tap_is_int(p.n_pfs ? p.pfs[0].vfs : 99, 0, "vfs = 0");
	tap_ok(p.n_pfs && p.pfs[0].pf_up, "built-in pf-up yes");
	policy_free(&p);

	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 2\n"), 0, "built-in: [pf] with vfs");
	if (p.n_pfs != 1 || p.pfs[0].vfs != 2) {
		tap_ok(0, "built-in: PF resolved");
		policy_free(&p);
		return;
	}
	c = &p.pfs[0].vf[1];
	tap_is_int(c->driver, VF_DRIVER_VFIO, "built-in vf-driver vfio-pci");
	tap_is_int(c->mac_mode, MAC_AUTO, "built-in mac auto");
	tap_is_int(c->vlan, 0, "built-in vlan 0");
	tap_is_int(c->qos, 0, "built-in qos 0");
	tap_is_int(c->vlan_proto, ETH_P_8021Q_, "built-in vlan-proto 802.1Q");
	tap_ok(c->spoofchk, "built-in spoofchk on");
	tap_ok(!c->trust, "built-in trust off");
	tap_is_int(c->link_state, LINK_STATE_AUTO, "built-in link-state auto");
	tap_is_int(c->max_tx_rate, 0, "built-in max-tx-rate 0");
	tap_is_int(c->min_tx_rate, 0, "built-in min-tx-rate 0");
	tap_ok(!c->query_rss, "built-in query-rss off");
	tap_ok(c->at[KEY_VLAN].file == NULL && c->at[KEY_VLAN].line == 0, "built-in value has no origin");
	policy_free(&p);
}

static void test_precedence(void)
{
	struct policy p;
	int r;

	r = load(&p, "[defaults]\n"		  /* 1 */
		     "vlan = 10\n"		  /* 2 */
		     "trust = on\n"		  /* 3 */
		     "max-tx-rate = 1000\n"	  /* 4 */
		     "vfs = 3\n"		  /* 5 */
		     "pf-up = no\n"		  /* 6 */
		     "vf-driver = kernel\n"	  /* 7 */
		     "[pf a]\n"			  /* 8 */
		     "device = eth0\n"		  /* 9 */
		     "vfs = 4\n"		  /* 10 */
		     "vlan = 20\n"		  /* 11 */
		     "max-tx-rate = 500\n"	  /* 12 */
		     "vlan-proto = 802.1ad\n"	  /* 13 */
		     "[vf a 1-2]\n"		  /* 14 */
		     "vlan = 30\n"		  /* 15 */
		     "vf-driver = none\n"	  /* 16 */
		     "[vf a 2]\n"		  /* 17 */
		     "link-state = disable\n"	  /* 18 */
		     "mac = 02:11:22:33:44:55\n"  /* 19 */
		     "[pf b]\n"			  /* 20 */
		     "device = eth1\n"		  /* 21 */
		     "pf-up = yes\n"		  /* 22 */
		     "[vf a 3]\n"		  /* 23 */
		     "mac = none\n"		  /* 24 */
		     "spoofchk = off\n");	  /* 25 */
	tap_is_int(r, 0, "precedence policy is valid");
	check_errors("precedence policy", &p, NO_ERRS);
	if (p.n_pfs != 2 || p.pfs[0].vfs != 4) {
		tap_ok(0, "precedence: PFs resolved");
		policy_free(&p);
		return;
	}
	const struct pf_policy *a = &p.pfs[0], *b = &p.pfs[1];
	static const unsigned vlan[4] = { 20, 30, 30, 20 };
	static const enum vf_driver drv[4] = { VF_DRIVER_KERNEL, VF_DRIVER_NONE, VF_DRIVER_NONE,
					       VF_DRIVER_KERNEL };
	static const uint8_t fixed[MAC_LEN] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

	tap_ok(!a->pf_up && b->pf_up, "pf-up: [pf] over [defaults]");
	tap_is_int(b->vfs, 3, "vfs from [defaults]");
	for (unsigned v = 0; v < 4; v++) {
		tap_is_int(a->vf[v].vlan, vlan[v], "vlan: defaults < pf < vf range");
		tap_is_int(a->vf[v].driver, drv[v], "vf-driver: defaults < vf range");
		tap_ok(a->vf[v].trust, "trust from [defaults] on every VF");
		tap_is_int(a->vf[v].max_tx_rate, 500, "max-tx-rate: [pf] over [defaults]");
		tap_is_int(a->vf[v].vlan_proto, ETH_P_8021AD_, "vlan-proto from [pf]");
	}
	tap_is_int(a->vf[0].at[KEY_VLAN].line, 11, "origin of vlan from [pf]");
	tap_is_int(a->vf[1].at[KEY_VLAN].line, 15, "origin of vlan from [vf]");
	tap_is_int(a->vf[0].at[KEY_TRUST].line, 3, "origin of trust from [defaults]");
	tap_is_str(a->vf[0].at[KEY_TRUST].file, "t.conf", "origin file");
	tap_is_int(a->vf[2].link_state, LINK_STATE_DISABLE, "link-state of single [vf]");
	tap_is_int(a->vf[1].link_state, LINK_STATE_AUTO, "link-state elsewhere built in");
	tap_is_int(a->vf[2].mac_mode, MAC_FIXED, "fixed mac on vf2");
	tap_ok(memcmp(a->vf[2].mac, fixed, MAC_LEN) == 0, "fixed mac value");
	tap_is_int(a->vf[1].mac_mode, MAC_AUTO, "mac auto elsewhere");
	tap_is_int(a->vf[3].mac_mode, MAC_NONE, "mac none on vf3");
	tap_ok(!a->vf[3].spoofchk && a->vf[2].spoofchk, "spoofchk off only on vf3");
	for (unsigned v = 0; v < 3; v++) {
		tap_is_int(b->vf[v].vlan, 10, "[pf b]: vlan from [defaults]");
		tap_is_int(b->vf[v].max_tx_rate, 1000, "[pf b]: max-tx-rate from [defaults]");
		tap_is_int(b->vf[v].vlan_proto, ETH_P_8021Q_, "[pf b]: [pf a] does not leak");
	}

	uint8_t pfmac[MAC_LEN] = { 0x52, 0x54, 0, 0x12, 0x34, 0 }, out[MAC_LEN], want[MAC_LEN];

	tap_ok(vf_conf_mac(&a->vf[2], pfmac, 2, out) && memcmp(out, fixed, MAC_LEN) == 0,
	       "vf_conf_mac fixed");
	mac_derive(pfmac, 1, want);
	tap_ok(vf_conf_mac(&a->vf[1], pfmac, 1, out) && memcmp(out, want, MAC_LEN) == 0,
	       "vf_conf_mac auto");
	tap_ok(!vf_conf_mac(&a->vf[3], pfmac, 3, out), "vf_conf_mac none");
	policy_free(&p);
}

static void test_two_files(void)
{
	struct policy p;

	policy_init(&p);
	parse_text(&p, "[defaults]\nvlan = 7\n\n\n\n\n\n\n\n[pf a]\ndevice = eth0\nvfs = 1\nbogus = 1\n", "a.conf");
	parse_text(&p, "[pf b]\ndevice = eth1\nvfs = 2\n[pf c]\ndevice = eth0\nvfs = 0\n[vf a 0]\ntrust = on\n", "b.conf");
	tap_is_int(policy_validate(&p), -EINVAL, "two files: invalid");
	check_errors("two files", &p,
		     ERRS("a.conf:13: unknown key 'bogus'",
			  "b.conf:5: device 'eth0' of [pf c] is already [pf a] (a.conf:11)"));
	if (p.n_pfs >= 2 && p.pfs[1].vfs == 2) {
		tap_is_int(p.pfs[1].vf[1].vlan, 7, "[defaults] of file 1 apply to [pf] of file 2");
		tap_is_str(p.pfs[1].vf[1].at[KEY_VLAN].file, "a.conf", "origin names file 1");
		tap_ok(p.pfs[0].vf[0].trust, "[vf] in file 2 applies to [pf] of file 1");
	} else
		tap_ok(0, "two files: PFs resolved");
	policy_free(&p);

	policy_init(&p);
	parse_text(&p, "[pf a]\ndevice = eth0\nvfs = 0\n", "a.conf");
	parse_text(&p, "[pf a]\ndevice = eth1\nvfs = 0\n", "b.conf");
	policy_validate(&p);
	check_errors("same label in two files", &p, ERRS("b.conf:1: duplicate section [pf a], first at a.conf:1"));
	policy_free(&p);

	policy_init(&p);
	parse_text(&p, "[defaults]\nvlan = 7\n", "a.conf");
	parse_text(&p, "[defaults]\nvlan = 8\n[pf a]\ndevice = eth0\nvfs = 1\n", "b.conf");
	tap_is_int(policy_validate(&p), 0, "[defaults] in two files");
	tap_is_int(p.n_pfs ? p.pfs[0].vf[0].vlan : 0, 8, "[defaults]: the later file wins");
	policy_free(&p);
}

/* "FILE:LINE [section]" of an origin, "default" when built in (what show prints). */
static const char *origin_of(const struct policy *p, const struct origin *at, char *buf, size_t size)
{
	const struct section *s = policy_section_of(p, at);
	char sn[64];

	if (!at->file)
		snprintf(buf, size, "default");
	else
		snprintf(buf, size, "%s:%u %s", at->file, at->line,
			 s ? policy_section_name(s, sn, sizeof(sn)) : "?");
	return buf;
}

/* Every resolved setting keeps the line that set it, over files and sections (show). */
static void test_origins(void)
{
	struct policy p;
	char b[128];

	policy_init(&p);
	parse_text(&p, "[defaults]\nvfs = 3\nvlan = 7\neswitch-mode = legacy\n", "a.conf");
	parse_text(&p, "[defaults]\nvlan = 8\npf-up = no\n[pf a]\ndevice = eth0\ntrust = on\n"
		       "allow-domain = trust\n[pf b]\ndevice = eth1\nvfs = 1\npf-up = yes\n", "b.conf");
	parse_text(&p, "; vf\n[vf a 1-2]\nvlan = 9\n[vf a 2]\nmac = 02:00:00:00:00:01\n", "c.conf");
	tap_is_int(policy_validate(&p), 0, "origins: valid");
	if (p.n_pfs != 2 || p.pfs[0].vfs != 3) {
		tap_ok(0, "origins: PFs resolved");
		policy_free(&p);
		return;
	}
	const struct pf_policy *a = &p.pfs[0], *pb = &p.pfs[1];

	tap_is_str(origin_of(&p, &a->key_at[KEY_DEVICE], b, sizeof(b)), "b.conf:5 [pf a]", "device: [pf]");
	tap_is_str(origin_of(&p, &a->key_at[KEY_VFS], b, sizeof(b)), "a.conf:2 [defaults]", "vfs: [defaults] of file 1");
	tap_is_str(origin_of(&p, &a->key_at[KEY_PF_UP], b, sizeof(b)), "b.conf:3 [defaults]", "pf-up: [defaults] of file 2");
	tap_is_str(origin_of(&p, &a->key_at[KEY_ALLOW_DOMAIN], b, sizeof(b)), "b.conf:7 [pf a]", "allow-domain: [pf]");
	tap_is_str(origin_of(&p, &a->key_at[KEY_ESWITCH_MODE], b, sizeof(b)), "a.conf:4 [defaults]", "eswitch-mode: [defaults]");
	tap_is_str(origin_of(&p, &pb->key_at[KEY_VFS], b, sizeof(b)), "b.conf:10 [pf b]", "[pf b] vfs: its own");
	tap_is_str(origin_of(&p, &pb->key_at[KEY_PF_UP], b, sizeof(b)), "b.conf:11 [pf b]", "[pf b] pf-up: its own");
	tap_is_str(origin_of(&p, &pb->key_at[KEY_ALLOW_DOMAIN], b, sizeof(b)), "default", "[pf b] allow-domain: built in");
	tap_is_str(origin_of(&p, &a->vf[0].at[KEY_VLAN], b, sizeof(b)), "b.conf:2 [defaults]", "vlan: the later [defaults]");
	tap_is_str(origin_of(&p, &a->vf[1].at[KEY_VLAN], b, sizeof(b)), "c.conf:3 [vf a 1-2]", "vlan: [vf] range");
	tap_is_str(origin_of(&p, &a->vf[2].at[KEY_MAC], b, sizeof(b)), "c.conf:5 [vf a 2]", "mac: [vf] of one VF");
	tap_is_str(origin_of(&p, &a->vf[1].at[KEY_MAC], b, sizeof(b)), "default", "mac: built in");
	tap_is_str(origin_of(&p, &a->vf[2].at[KEY_TRUST], b, sizeof(b)), "b.conf:6 [pf a]", "trust: [pf]");
	tap_is_str(origin_of(&p, &pb->vf[0].at[KEY_TRUST], b, sizeof(b)), "default", "[pf b] trust: built in");
	policy_free(&p);
}

static void test_perms(void)
{
	char dir[] = "/tmp/vfwarden-test-XXXXXX", path[64], want[256];
	struct policy p;
	bool root = geteuid() == 0;
	int fd;

	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/p.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "[defaults]\nvlan = 5\n", 20) != 20) {
		tap_ok(0, "write %s", path);
		goto out;
	}
	close(fd);

	chmod(path, 0644);
	policy_init(&p);
	tap_is_int(policy_parse_file(&p, path), 0, "mode 0644 is accepted");
	check_errors("mode 0644", &p, NO_ERRS);
	policy_free(&p);

	chmod(path, 0666);
	policy_init(&p);
	tap_is_int(policy_parse_file(&p, path), -EPERM, "mode 0666 is refused");
	snprintf(want, sizeof(want), "%s:1: refusing policy file writable by everyone (mode 0666): chmod go-w", path);
	check_errors("mode 0666", &p, ERRS(want));
	policy_free(&p);

	chmod(path, 0620);
	if (root && chown(path, 0, 1000) < 0)
		tap_ok(0, "chown: %s", strerror(errno));
	if (root || getegid() != 0) {
		policy_init(&p);
		tap_is_int(policy_parse_file(&p, path), -EPERM, "mode 0620, group not root, is refused");
		snprintf(want, sizeof(want),
			 "%s:1: refusing policy file writable by its group (mode 0620): chmod go-w", path);
		check_errors("mode 0620", &p, ERRS(want));
		policy_free(&p);
	} else
		tap_ok(1, "group rule # SKIP running with gid 0 but not as root");

	if (root) {
		char msg[200] = "";

		if (chown(path, 0, 0) < 0)
			tap_ok(0, "chown: %s", strerror(errno));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		tap_is_int(policy_check_perms(fd, "policy file", msg, sizeof(msg)), 0,
			   "mode 0620, group root, is accepted");
		close(fd);

		chmod(path, 0644);
		if (chown(path, 1000, 0) < 0)
			tap_ok(0, "chown: %s", strerror(errno));
		policy_init(&p);
		tap_is_int(policy_parse_file(&p, path), -EPERM, "owner uid 1000 is refused");
		snprintf(want, sizeof(want), "%s:1: refusing policy file owned by uid 1000 (must be root)", path);
		check_errors("owner uid 1000", &p, ERRS(want));
		policy_free(&p);
	} else {
		tap_ok(1, "owner rule # SKIP needs root to chown");
		tap_ok(1, "owner rule # SKIP needs root to chown");
	}

	unlink(path);
	policy_init(&p);
	tap_is_int(policy_parse_file(&p, path), -ENOENT, "missing file");
	snprintf(want, sizeof(want), "%s:1: cannot open: %s", path, strerror(ENOENT));
	check_errors("missing file", &p, ERRS(want));
	policy_free(&p);
out:
	unlink(path);
	rmdir(dir);
}

/* Append printf output to a growing text. */
static void cat(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cat(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char tmp[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	*buf = realloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, tmp, (size_t)n + 1);
	*len += (size_t)n;
}

static void test_vfs_required(void)
{
	check("[pf] without vfs", "[pf a]\ndevice = eth0\nvlan = 5\n",
	      ERRS("t.conf:1: [pf a] has no 'vfs' (the number of VFs; vfs = 0 removes them)"));
	check("[pf] with vfs = 0", "[pf a]\ndevice = eth0\nvfs = 0\n", NO_ERRS);
	check("vfs inherited from [defaults]", "[defaults]\nvfs = 2\n[pf a]\ndevice = eth0\n", NO_ERRS);
	check("invalid vfs: one error, on its line", "[pf a]\ndevice = eth0\nvfs = x\n",
	      ERRS("t.conf:3: invalid vfs 'x' (0-4096)"));
	check("invalid vfs in [defaults]: one error", "[defaults]\nvfs = -1\n[pf a]\ndevice = eth0\n",
	      ERRS("t.conf:2: invalid vfs '-1' (0-4096)"));
	/* Its [vf] sections are not blamed for the missing count. */
	check("[pf] without vfs, with a [vf]", "[pf a]\ndevice = eth0\n[vf a 3]\ntrust = on\n",
	      ERRS("t.conf:1: [pf a] has no 'vfs'*"));
	check("two [pf], one without vfs",
	      "[pf a]\ndevice = eth0\nvfs = 1\n[pf b]\ndevice = eth1\n",
	      ERRS("t.conf:4: [pf b] has no 'vfs'*"));
}

static void test_reading(void)
{
	static const char nul[] = "[pf a]\ndevice = eth0\nvfs = 1\nspoofchk = on\0ff\n\0trust = on\n"
				  "vlan = 5\rvlan = 6\nlink-state = auto\r\n";
	struct policy p;
	char *big;
	FILE *f;

	policy_init(&p);
	tap_is_int(policy_parse_buffer(&p, nul, sizeof(nul) - 1, "t.conf"), 0, "NUL: parses");
	tap_is_int(policy_validate(&p), -EINVAL, "NUL: invalid");
	check_errors("NUL and CR inside lines", &p,
		     ERRS("t.conf:4: NUL byte in the line", "t.conf:5: NUL byte in the line",
			  "t.conf:6: carriage return in the line"));
	tap_ok(p.n_pfs == 1 && p.pfs[0].vf[0].spoofchk && !p.pfs[0].vf[0].trust,
	       "NUL: nothing of those lines was taken");
	policy_free(&p);

	/* One byte past 1 MiB of comment lines. */
	big = malloc(POLICY_FILE_MAX + 2);
	memset(big, '\n', POLICY_FILE_MAX + 1);
	big[0] = ';';
	policy_init(&p);
	f = fmemopen(big, POLICY_FILE_MAX + 1, "r");
	tap_is_int(policy_parse_stream(&p, f, "big.conf"), -EFBIG, "file over 1 MiB refused");
	fclose(f);
	check_errors("file over 1 MiB", &p, ERRS("big.conf:1: larger than 1048576 bytes*"));
	policy_free(&p);

	/* Four files of 1 MiB fit; a fifth byte does not. */
	policy_init(&p);
	for (int i = 0; i < 4; i++) {
		f = fmemopen(big, POLICY_FILE_MAX, "r");
		policy_parse_stream(&p, f, "part.conf");
		fclose(f);
	}
	f = fmemopen(big, 1, "r");
	tap_is_int(policy_parse_stream(&p, f, "last.conf"), -EFBIG, "tree over 4 MiB refused");
	fclose(f);
	check_errors("tree over 4 MiB", &p, ERRS("last.conf:1: the policy files together are larger than*"));
	policy_free(&p);
	free(big);
}

static void test_duplicate_macs(void)
{
	struct policy p;
	char *t = NULL;
	size_t n = 0;

	check("same fixed mac on three PFs, interleaved",
	      "[defaults]\nvfs = 4\n[pf a]\ndevice = eth0\n[pf b]\ndevice = eth1\n[pf c]\ndevice = eth2\n"
	      "[vf c 3]\nmac = 02:00:00:00:00:09\n"   /* 10 */
	      "[vf a 0]\nmac = 02:00:00:00:00:01\n"   /* 12 */
	      "[vf b 2]\nmac = 02:00:00:00:00:09\n"   /* 14 */
	      "[vf a 1]\nmac = 02:00:00:00:00:02\n"   /* 16 */
	      "[vf c 0]\nmac = 02:00:00:00:00:01\n"   /* 18 */
	      "[vf b 1]\nmac = 02:00:00:00:00:09\n",  /* 20 */
	      ERRS("t.conf:14: duplicate mac 02:00:00:00:00:09, also set at t.conf:10",
		   "t.conf:18: duplicate mac 02:00:00:00:00:01, also set at t.conf:12",
		   "t.conf:20: duplicate mac 02:00:00:00:00:09, also set at t.conf:10"));
	/* Both mistakes of one line are kept, each once. */
	check("a [pf] mac on two VFs that a [vf] also has",
	      "[pf a]\ndevice = eth0\nvfs = 1\n[vf a 0]\nmac = 02:00:00:00:00:01\n"
	      "[pf b]\ndevice = eth1\nvfs = 3\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:9: duplicate mac 02:00:00:00:00:01, also set at t.conf:5",
		   "t.conf:9: mac 02:00:00:00:00:01 would be given to more than one VF*"));

	/* 4096 distinct fixed MACs: none is a duplicate... */
	cat(&t, &n, "[pf a]\ndevice = eth0\nvfs = 4096\n");
	for (unsigned v = 0; v < 4096; v++)
		cat(&t, &n, "[vf a %u]\nmac = 02:00:00:00:%02x:%02x\n", v, v >> 8, v & 0xff);
	check("4096 distinct fixed macs", t, NO_ERRS);
	/* ...until the last VF repeats the first one's (line 4 + 2 * 4095 + 1). */
	cat(&t, &n, "[pf b]\ndevice = eth1\nvfs = 1\n[vf b 0]\nmac = 02:00:00:00:00:00\n");
	check("4096 macs and one duplicate", t,
	      ERRS("t.conf:8200: duplicate mac 02:00:00:00:00:00, also set at t.conf:5"));
	free(t);

	/* The case that took minutes: 8 x 4096 VFs, one fixed mac in [defaults]. */
	tap_is_int(load(&p, "[defaults]\nvfs = 4096\nmac = 02:00:00:00:00:01\n[pf a]\ndevice = e0\n"
			"[pf b]\ndevice = e1\n[pf c]\ndevice = e2\n[pf d]\ndevice = e3\n[pf e]\ndevice = e4\n"
			"[pf f]\ndevice = e5\n[pf g]\ndevice = e6\n[pf h]\ndevice = e7\n"),
		   -EINVAL, "[defaults] mac on 32768 VFs: invalid");
	check_errors("[defaults] mac on 32768 VFs: reported once", &p,
		     ERRS("t.conf:3: mac 02:00:00:00:00:01 would be given to more than one VF*"));
	policy_free(&p);
}

static void test_error_set(void)
{
	struct policy p;
	char *t = NULL, want[128];
	size_t n = 0;

	/* One [defaults] mistake resolved onto 8 x 4096 VFs is one error. */
	tap_is_int(load(&p, "[defaults]\nvfs = 4096\nqos = 3\n[pf a]\ndevice = e0\n[pf b]\ndevice = e1\n"
			"[pf c]\ndevice = e2\n[pf d]\ndevice = e3\n[pf e]\ndevice = e4\n[pf f]\ndevice = e5\n"
			"[pf g]\ndevice = e6\n[pf h]\ndevice = e7\n[vf h 7]\nvlan = 1\nqos = 8\n"),
		   -EINVAL, "one mistake on many VFs: invalid");
	check_errors("one mistake on many VFs: once, distinct ones kept", &p,
		     ERRS("t.conf:3: qos 3 without a vlan", "t.conf:22: invalid qos '8' (0-7)"));
	policy_free(&p);

	/* Same message on different lines: distinct errors, all kept. */
	check("same message, three lines", "[defaults]\nbad\nbad\nbad\n",
	      ERRS("t.conf:2: expected 'key = value', got 'bad'", "t.conf:3: expected 'key = value', got 'bad'",
		   "t.conf:4: expected 'key = value', got 'bad'"));

	/* 1500 distinct errors: 1000 listed, then the count at the first not listed. */
	cat(&t, &n, "[defaults]\n");
	for (unsigned i = 0; i < 1500; i++)
		cat(&t, &n, "bad %u\n", i);
	tap_is_int(load(&p, t), -EINVAL, "1500 errors: invalid");
	tap_is_int(p.n_errors, POLICY_ERRORS_MAX + 1, "1500 errors: 1000 listed and a count");
	if (p.n_errors == POLICY_ERRORS_MAX + 1) {
		tap_is_int(p.errors[POLICY_ERRORS_MAX - 1].at.line, 1001, "the 1000th is line 1001");
		tap_is_int(p.errors[POLICY_ERRORS_MAX].at.line, 1002, "the count is at the first not listed");
		snprintf(want, sizeof(want), "500 more errors not listed (at most %d are); the first of them is here",
			 POLICY_ERRORS_MAX);
		tap_is_str(p.errors[POLICY_ERRORS_MAX].msg, want, "the count");
	}
	policy_free(&p);
	free(t);
}

static void test_bounds(void)
{
	struct policy p;
	char *t = NULL;
	size_t n = 0;

	cat(&t, &n, "[defaults]\nvfs = 4096\n");
	for (unsigned i = 0; i < 17; i++)
		cat(&t, &n, "[pf p%u]\ndevice = e%u\n", i, i);
	check("more than 65536 VFs", t,
	      ERRS("t.conf:35: [pf p16] with vfs = 4096: the policy would describe more than 65536 VFs"));
	free(t);

	/* A [vf] range set twice by many sections: each blamed once, quickly. */
	t = NULL;
	n = 0;
	cat(&t, &n, "[pf a]\ndevice = e0\nvfs = 4096\n");
	for (unsigned i = 0; i < 3000; i++)
		cat(&t, &n, "[vf a 0-4095]\nvlan = %u\n", i + 1);
	tap_is_int(load(&p, t), -EINVAL, "3000 overlapping [vf] ranges: invalid");
	tap_is_int(p.n_errors, 1001, "3000 overlapping [vf] ranges: 2999 errors, 1000 listed");
	if (p.n_errors)
		tap_is_str(p.errors[0].msg, "'vlan' for VF 0 is also set at t.conf:5", "each names the first");
	policy_free(&p);
	free(t);

	/* The earlier section in the file starts higher: the later one is blamed. */
	check("overlap, later section starts lower",
	      "[pf a]\ndevice = eth0\nvfs = 4\n[vf a 2-3]\nvlan = 5\n[vf a 0-2]\nvlan = 6\n",
	      ERRS("t.conf:7: 'vlan' for VF 2 is also set at t.conf:5"));
	check("overlap with the second of two",
	      "[pf a]\ndevice = eth0\nvfs = 8\n[vf a 0-1]\nvlan = 5\n[vf a 4-5]\nvlan = 6\n[vf a 5-7]\nvlan = 7\n",
	      ERRS("t.conf:9: 'vlan' for VF 5 is also set at t.conf:7"));
}

/* Selector sections: driver = and pci-id = instead of device. */
static void test_selectors(void)
{
	struct policy p;
	char buf[96];

	check("driver and pci-id valid", "[pf a]\ndriver = igb\npci-id = 8086:10c9\nvfs = 2\n", NO_ERRS);
	check("driver alone valid", "[pf a]\ndriver = mlx5_core\nvfs = 2\n", NO_ERRS);
	check("pci-id alone valid", "[pf a]\npci-id = 15b3:101d\nvfs = 2\n", NO_ERRS);
	check("device and driver", "[pf a]\ndevice = eth0\ndriver = igb\nvfs = 1\n",
	      ERRS("t.conf:3: [pf a] has both 'device' and 'driver': a section names one PF by device or selects PFs by driver and pci-id"));
	check("device and pci-id, pci-id first", "[pf a]\npci-id = 8086:10c9\nvfs = 1\ndevice = eth0\n",
	      ERRS("t.conf:2: [pf a] has both 'device' and 'pci-id'*"));
	check("device and a bad driver", "[pf a]\ndevice = eth0\ndriver = ig b\nvfs = 1\n",
	      ERRS("t.conf:1: [pf a] has both 'device' and 'driver'*", "t.conf:3: invalid driver 'ig b'*"));
	check("bad driver", "[pf a]\ndriver = igb/x\nvfs = 1\n",
	      ERRS("t.conf:2: invalid driver 'igb/x' (a kernel driver's name such as ice or mlx5_core)"));
	check("driver too long", "[pf a]\ndriver = abcdefghijabcdefghijabcdefghijab\nvfs = 1\n",
	      ERRS("t.conf:2: invalid driver 'abcdefghijabcdefghijabcdefghijab'*"));
	check("empty driver", "[pf a]\ndriver =\nvfs = 1\n", ERRS("t.conf:2: invalid driver ''*"));
	check("pci-id upper case", "[pf a]\npci-id = 8086:10C9\nvfs = 1\n",
	      ERRS("t.conf:2: invalid pci-id '8086:10C9' (vendor:device in lower-case hex, such as 8086:1593)"));
	check("pci-id short", "[pf a]\npci-id = 8086:10c\nvfs = 1\n", ERRS("t.conf:2: invalid pci-id '8086:10c'*"));
	check("pci-id 0x", "[pf a]\npci-id = 0x8086:0x10c9\nvfs = 1\n", ERRS("t.conf:2: invalid pci-id '0x8086:0x10c9'*"));
	check("pci-id no colon", "[pf a]\npci-id = 808610c9\nvfs = 1\n", ERRS("t.conf:2: invalid pci-id '808610c9'*"));
	check("pci-id trailing", "[pf a]\npci-id = 8086:10c9:\nvfs = 1\n", ERRS("t.conf:2: invalid pci-id '8086:10c9:'*"));
	check("driver in [defaults]", "[defaults]\ndriver = igb\n", ERRS("t.conf:2: key 'driver' is not allowed in [defaults]"));
	check("pci-id in [vf]", "[pf a]\ndriver = igb\nvfs = 1\n[vf a 0]\npci-id = 8086:10c9\n",
	      ERRS("t.conf:5: key 'pci-id' is not allowed in [vf a 0]"));
	check("duplicate driver", "[pf a]\ndriver = igb\ndriver = ice\nvfs = 1\n",
	      ERRS("t.conf:3: duplicate key 'driver', first set at t.conf:2"));
	check("fixed mac in a selector [pf]", "[pf a]\ndriver = igb\nvfs = 1\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:4: fixed mac 02:00:00:00:00:01 for [pf a], which selects PFs by driver or pci-id and may match several; use mac = auto or a [pf] with device"));
	check("fixed mac in a [vf] of a selector [pf]",
	      "[pf a]\npci-id = 8086:10c9\nvfs = 2\n[vf a 1]\nmac = 02:00:00:00:00:01\n",
	      ERRS("t.conf:5: fixed mac 02:00:00:00:00:01 for [pf a]*"));
	check("fixed mac inherited from [defaults]",
	      "[defaults]\nmac = 02:00:00:00:00:01\n[pf a]\ndriver = igb\nvfs = 1\n[pf b]\ndevice = eth0\nvfs = 0\n",
	      ERRS("t.conf:2: fixed mac 02:00:00:00:00:01 for [pf a]*"));
	check("mac auto and none in a selector [pf] valid",
	      "[pf a]\ndriver = igb\nvfs = 2\nmac = auto\n[vf a 1]\nmac = none\n", NO_ERRS);
	check("two selector sections alike are the host's to judge",
	      "[pf a]\ndriver = igb\nvfs = 1\n[pf b]\ndriver = igb\nvfs = 2\n", NO_ERRS);

	tap_is_int(load(&p, "[pf ports]\ndriver = igb\npci-id = 8086:10c9\nvfs = 3\nvlan = 5\n[vf ports 1-2]\nvlan = 7\n"),
		   0, "selector: loads");
	tap_ok(p.n_pfs == 1 && p.pfs[0].selector && !p.pfs[0].device[0], "selector: no device");
	tap_is_str(p.pfs[0].section, "ports", "selector: section label");
	tap_is_int(p.pfs[0].at.line, 2, "selector: FILE:LINE is the first selector's");
	tap_is_str(pf_select_str(&p.pfs[0].sel, buf, sizeof(buf)), "driver = igb, pci-id = 8086:10c9",
		   "selector: as written");
	tap_ok(p.pfs[0].vf[0].vlan == 5 && p.pfs[0].vf[1].vlan == 7 && p.pfs[0].vf[2].vlan == 7,
	       "selector: a [vf] range applies");
	policy_free(&p);
	tap_is_int(load(&p, "[pf a]\npci-id = 0a0b:00ff\nvfs = 0\n"), 0, "pci-id alone: loads");
	tap_is_str(pf_select_str(&p.pfs[0].sel, buf, sizeof(buf)), "pci-id = 0a0b:00ff", "pci-id alone: as written");
	tap_ok(p.pfs[0].sel.vendor == 0x0a0b && p.pfs[0].sel.device == 0x00ff && !p.pfs[0].sel.driver[0],
	       "pci-id alone: vendor and device");
	policy_free(&p);
	tap_is_int(load(&p, "[pf a]\ndevice = eth0\nvfs = 0\n"), 0, "device: loads");
	tap_ok(!p.pfs[0].selector && streq(p.pfs[0].section, "a"), "device: no selector, section label");
	policy_free(&p);
}

int main(void)
{
	test_mistakes();
	test_selectors();
	test_all_sorted();
	test_syntax();
	test_builtin();
	test_allow_domain();
	test_eswitch_mode();
	test_manage();
	test_mtu();
	test_precedence();
	test_two_files();
	test_origins();
	test_perms();
	test_vfs_required();
	test_reading();
	test_duplicate_macs();
	test_error_set();
	test_bounds();
	return tap_done();
}
