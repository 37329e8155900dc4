/* SPDX-License-Identifier: MIT */
/* The planner, fed a policy parsed from text and a hand-built live PF. */
#include <errno.h>
#include <string.h>

#include "plan.h"
#include "tap.h"

static const uint8_t perm[MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 };

static struct policy pol_store;
static struct vf_live vfs[8];

static const struct pf_policy *policy(const char *text)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");

	policy_free(&pol_store);
	if (!f || policy_parse_stream(&pol_store, f, "t.conf") < 0 || policy_validate(&pol_store) < 0 ||
	    pol_store.n_pfs != 1) {
		for (unsigned i = 0; i < pol_store.n_errors; i++)
			printf("# policy: %u: %s\n", pol_store.errors[i].at.line, pol_store.errors[i].msg);
		printf("Bail out! test policy does not parse\n");
		exit(1);
	}
	fclose(f);
	return &pol_store.pfs[0];
}

/* A PF with n VFs that match the built-in defaults (vfio-pci, mac auto). */
static void live_init(struct pf_live *pf, unsigned n)
{
	memset(pf, 0, sizeof(*pf));
	memset(vfs, 0, sizeof(vfs));
	snprintf(pf->pci, sizeof(pf->pci), "0000:01:00.0");
	snprintf(pf->ifname, sizeof(pf->ifname), "eth0");
	snprintf(pf->driver, sizeof(pf->driver), "ixgbe");
	memcpy(pf->perm_mac, perm, MAC_LEN);
	pf->have_perm_mac = true;
	pf->ifindex = 2;
	pf->totalvfs = 8;
	pf->numvfs = pf->n_vf = n;
	pf->autoprobe = 0;
	pf->up = true;
	pf->vf = vfs;
	for (unsigned i = 0; i < n; i++) {
		struct vf_live *v = &vfs[i];

		v->idx = i;
		snprintf(v->pci, sizeof(v->pci), "0000:01:10.%u", i);
		snprintf(v->driver, sizeof(v->driver), "vfio-pci");
		v->iommu_group = 20 + (int)i;
		v->nl_valid = true;
		mac_derive(perm, i, v->mac);
		v->vlan_proto = ETH_P_8021Q_;
		v->spoofchk = 1;
	}
}

/* The plan as one line, so that a test compares the whole list at once. */
static const char *render(const struct plan *pl)
{
	static char out[4096];
	size_t o = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < pl->n; i++) {
		const struct action *a = &pl->a[i];
		char v[160], m[MAC_STR_LEN];

		switch (a->type) {
		case ACT_PF_UP:
			snprintf(v, sizeof(v), "pf-up %s->%s", a->from, a->to);
			break;
		case ACT_AUTOPROBE:
			snprintf(v, sizeof(v), "autoprobe %s->%s=%u", a->from, a->to, a->u.autoprobe);
			break;
		case ACT_NUMVFS:
			snprintf(v, sizeof(v), "numvfs %u->%u", a->u.numvfs.from, a->u.numvfs.to);
			break;
		case ACT_VF_DRIVER:
			snprintf(v, sizeof(v), "vf%u driver %s->%s=%u", a->vf, a->from, a->to, a->u.driver);
			break;
		case ACT_VF_REBIND:
			snprintf(v, sizeof(v), "vf%u rebind %s", a->vf, a->to);
			break;
		case ACT_ESWITCH:
			snprintf(v, sizeof(v), "eswitch %s->%s=%u", a->from, a->to, (unsigned)a->u.eswitch);
			break;
		case ACT_PF_MTU:
			snprintf(v, sizeof(v), "pf mtu %s->%s=%u", a->from, a->to, a->u.mtu);
			break;
		case ACT_VF_MTU:
			snprintf(v, sizeof(v), "vf%u mtu %s->%s=%u", a->vf, a->from, a->to, a->u.mtu);
			break;
		case ACT_VF_ATTR:
			switch (a->key) {
			case KEY_MAC:
				snprintf(v, sizeof(v), "vf%u mac %s", a->vf, format_mac(a->u.attr.mac, m));
				break;
			case KEY_VLAN:
				snprintf(v, sizeof(v), "vf%u vlan %u/%u/%04x", a->vf, a->u.attr.vlan, a->u.attr.qos,
					 a->u.attr.vlan_proto);
				break;
			case KEY_MAX_TX_RATE:
			case KEY_MIN_TX_RATE:
				snprintf(v, sizeof(v), "vf%u %s %u/%u", a->vf, vf_key_name(a->key), a->u.attr.max_tx_rate,
					 a->u.attr.min_tx_rate);
				break;
			default:
				snprintf(v, sizeof(v), "vf%u %s %lld", a->vf, vf_key_name(a->key), vf_attr_get(a->key, &a->u.attr));
				break;
			}
			break;
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "; " : "", v);
		if (o >= sizeof(out))
			break;
	}
	return out;
}

static void count_plan(const char *what, const struct pf_policy *pol, const struct pf_live *live,
		       bool force, int refused, const char *want)
{
	struct plan_opts o = { .force = force };
	struct plan pl = { 0 };

	tap_is_int(plan_pf_count(pol, live, &o, &pl), 0, what);
	tap_is_int(pl.refused, refused, what);
	tap_is_str(render(&pl), want, what);
	plan_free(&pl);
}

static void vfs_plan(const char *what, const struct pf_policy *pol, const struct pf_live *live,
		     const char *want)
{
	struct plan pl = { 0 };

	tap_is_int(plan_pf_vfs(pol, live, &pl), 0, what);
	tap_is_str(render(&pl), want, what);
	tap_is_int(pl.skipped_in_use, 0, what);
	plan_free(&pl);
}

static void test_count(void)
{
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n");
	struct plan_opts force = { .force = true };
	struct pf_live pf;
	struct plan pl = { 0 };

	live_init(&pf, 0);
	pf.autoprobe = 1;
	pf.up = false;
	count_plan("fresh PF, link down", pol, &pf, false, 0, "pf-up down->up; autoprobe 1->0=0; numvfs 0->4");
	pf.up = true;
	count_plan("fresh PF, link up", pol, &pf, false, 0, "autoprobe 1->0=0; numvfs 0->4");
	pf.autoprobe = -1;
	count_plan("fresh PF, autoprobe unknown", pol, &pf, false, 0, "numvfs 0->4");
	pf.autoprobe = 0;
	count_plan("fresh PF, autoprobe already off", pol, &pf, false, 0, "numvfs 0->4");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\nvf-driver = kernel\npf-up = no\n");
	pf.up = false;
	count_plan("kernel VFs: autoprobe 0->1, pf-up = no", pol, &pf, false, 0,
		   "autoprobe 0->1=1; numvfs 0->4");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\nvf-driver = kernel\n[vf a 3]\nvf-driver = vfio-pci\n");
	pf.autoprobe = 1;
	pf.up = true;
	count_plan("mixed drivers: autoprobe off", pol, &pf, false, 0, "autoprobe 1->0=0; numvfs 0->4");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n");
	live_init(&pf, 2);
	count_plan("2 -> 4", pol, &pf, false, 0, "numvfs 2->4");
	pf.up = false;
	count_plan("2 -> 4, link down", pol, &pf, false, 0, "pf-up down->up; numvfs 2->4");
	live_init(&pf, 6);
	count_plan("6 -> 4", pol, &pf, false, 0, "numvfs 6->4");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 0\n");
	pf.up = false;
	pf.autoprobe = 1;
	count_plan("6 -> 0: no pf-up, no autoprobe", pol, &pf, false, 0, "numvfs 6->0");
	live_init(&pf, 0);
	pf.up = false;
	count_plan("0 -> 0: nothing", pol, &pf, false, 0, "");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 16\n");
	live_init(&pf, 0);
	pf.up = false;
	pf.autoprobe = 1;
	tap_is_int(plan_pf_count(pol, &pf, NULL, &pl), 0, "vfs above totalvfs");
	tap_is_int(pl.refused, -ERANGE, "vfs above totalvfs: refused -ERANGE");
	tap_is_int(pl.n, 0, "vfs above totalvfs: no actions");
	tap_ok(strstr(pl.why, "vfs 16 is above sriov_totalvfs 8 of 0000:01:00.0") != NULL, "why: %s", pl.why);
	plan_free(&pl);

	pol = policy("[pf a]\ndevice = eth0\nvfs = 8\n");
	count_plan("vfs = totalvfs", pol, &pf, false, 0, "pf-up down->up; autoprobe 1->0=0; numvfs 0->8");
	pf.driver[0] = '\0';
	count_plan("no PF driver", pol, &pf, false, -ENODEV, "");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n");
	live_init(&pf, 2);
	pf.up = false;
	vfs[1].in_use = true;
	snprintf(vfs[1].owner, sizeof(vfs[1].owner), "domain vm1");
	tap_is_int(plan_pf_count(pol, &pf, NULL, &pl), 0, "in-use VF, count change");
	tap_is_int(pl.refused, -EBUSY, "in-use VF, count change: refused -EBUSY");
	tap_is_int(pl.n, 0, "in-use VF, count change: no actions, not even pf-up");
	tap_ok(strstr(pl.why, "vf1 (0000:01:10.1) is in use by domain vm1") != NULL, "why: %s", pl.why);
	plan_free(&pl);
	tap_is_int(plan_pf_count(pol, &pf, &force, &pl), 0, "in-use VF, --force");
	tap_is_int(pl.refused, 0, "in-use VF, --force: not refused");
	tap_is_str(render(&pl), "pf-up down->up; numvfs 2->4", "in-use VF, --force: plan");
	plan_free(&pl);
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n");
	pf.up = true;
	count_plan("in-use VF, no count change", pol, &pf, false, 0, "");
}

/* A kernel-driver VF carrying host traffic blocks a count change too (issue 15 item 7). */
static void test_host_use(void)
{
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 1\n");
	struct plan_opts force = { .force = true };
	struct plan pl = { 0 };
	struct pf_live pf;

	live_init(&pf, 2);
	snprintf(vfs[1].host_use, sizeof(vfs[1].host_use), "eth0v1 is a port of br0");
	tap_is_int(plan_pf_count(pol, &pf, NULL, &pl), 0, "host-used VF, count change");
	tap_is_int(pl.refused, -EBUSY, "host-used VF, count change: refused -EBUSY");
	tap_is_int(pl.n, 0, "host-used VF, count change: no actions");
	tap_ok(strstr(pl.why, "vf1 (0000:01:10.1) is in use: eth0v1 is a port of br0; changing vfs 2 -> 1") != NULL,
	       "why: %s", pl.why);
	plan_free(&pl);
	tap_is_int(plan_pf_count(pol, &pf, &force, &pl), 0, "host-used VF, --force");
	tap_is_int(pl.refused, 0, "host-used VF, --force: not refused");
	plan_free(&pl);
}

/* eswitch-mode: ordered against the VF count by the PF driver (eswitch.c). */
static void test_eswitch(void)
{
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 2\neswitch-mode = switchdev\n");
	struct plan pl = { 0 };
	struct pf_live pf;

	live_init(&pf, 0);
	snprintf(pf.driver, sizeof(pf.driver), "netdevsim");
	pf.eswitch_mode = ESWITCH_LEGACY;
	count_plan("eswitch netdevsim, no VFs: mode first", pol, &pf, false, 0,
		   "eswitch legacy->switchdev=2; numvfs 0->2");
	snprintf(pf.driver, sizeof(pf.driver), "ice");
	count_plan("eswitch ice, no VFs: mode first", pol, &pf, false, 0,
		   "eswitch legacy->switchdev=2; numvfs 0->2");

	live_init(&pf, 2);
	pf.eswitch_mode = ESWITCH_LEGACY;
	snprintf(pf.driver, sizeof(pf.driver), "netdevsim");
	count_plan("eswitch netdevsim, VFs there: in place", pol, &pf, false, 0, "eswitch legacy->switchdev=2");
	snprintf(pf.driver, sizeof(pf.driver), "ice");
	count_plan("eswitch ice, VFs there: VFs to 0 first", pol, &pf, false, 0,
		   "numvfs 2->0; eswitch legacy->switchdev=2; numvfs 0->2");
	snprintf(pf.driver, sizeof(pf.driver), "some_nic");
	count_plan("eswitch unknown driver: as ice", pol, &pf, false, 0,
		   "numvfs 2->0; eswitch legacy->switchdev=2; numvfs 0->2");
	snprintf(pf.driver, sizeof(pf.driver), "mlx5_core");
	count_plan("eswitch mlx5, VFs bound: VFs to 0 first", pol, &pf, false, 0,
		   "numvfs 2->0; eswitch legacy->switchdev=2; numvfs 0->2");
	vfs[0].driver[0] = vfs[1].driver[0] = '\0';
	count_plan("eswitch mlx5, VFs unbound: in place", pol, &pf, false, 0, "eswitch legacy->switchdev=2");

	pf.eswitch_mode = ESWITCH_SWITCHDEV;
	count_plan("eswitch holds: nothing", pol, &pf, false, 0, "");
	pf.eswitch_mode = ESWITCH_UNSET;
	count_plan("eswitch unknown: refused", pol, &pf, false, -EOPNOTSUPP, "");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n");
	count_plan("eswitch-mode unset: never planned", pol, &pf, false, 0, "");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 3\neswitch-mode = legacy\n");
	live_init(&pf, 2);
	snprintf(pf.driver, sizeof(pf.driver), "ice");
	pf.eswitch_mode = ESWITCH_SWITCHDEV;
	vfs[1].in_use = true;
	snprintf(vfs[1].owner, sizeof(vfs[1].owner), "domain vm1");
	tap_is_int(plan_pf_count(pol, &pf, NULL, &pl), 0, "eswitch ice, VF in use");
	tap_is_int(pl.refused, -EBUSY, "eswitch ice, VF in use: refused -EBUSY");
	tap_is_int(pl.n, 0, "eswitch ice, VF in use: no actions");
	tap_ok(strstr(pl.why, "vf1 (0000:01:10.1) is in use by domain vm1; changing eswitch-mode switchdev -> legacy "
			      "would destroy it") != NULL, "why: %s", pl.why);
	plan_free(&pl);
	count_plan("eswitch ice, VF in use, --force", pol, &pf, true, 0,
		   "numvfs 2->0; eswitch switchdev->legacy=1; numvfs 0->3");
	snprintf(pf.driver, sizeof(pf.driver), "netdevsim");
	count_plan("eswitch netdevsim, VF in use: in place, then the count as usual", pol, &pf, false, -EBUSY, "");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\neswitch-mode = legacy\n");
	count_plan("eswitch netdevsim, VF in use, same count: in place", pol, &pf, false, 0,
		   "eswitch switchdev->legacy=1");
}

static void mtu_plan(const char *what, const struct pf_policy *pol, const struct pf_live *live, bool force,
		     int refused, unsigned skipped, const char *want)
{
	struct plan_opts o = { .force = force };
	struct plan pl = { 0 };

	tap_is_int(plan_pf_mtu(pol, live, &o, &pl), 0, what);
	tap_is_int(pl.refused, refused, what);
	tap_is_int(pl.skipped_mtu, skipped, what);
	tap_is_str(render(&pl), want, what);
	plan_free(&pl);
}

/* A PF at MTU 1500 (range 68-9216) with n VFs on igbvf, netdevs at 1500 (range 68-9198). */
static void live_mtu(struct pf_live *pf, unsigned n)
{
	live_init(pf, n);
	pf->mtu = (struct link_mtu){ 1500, 68, 9216 };
	for (unsigned i = 0; i < n; i++) {
		snprintf(vfs[i].driver, sizeof(vfs[i].driver), "igbvf");
		snprintf(vfs[i].netdev, sizeof(vfs[i].netdev), "eth%u", 10 + i);
		vfs[i].mtu = (struct link_mtu){ 1500, 68, 9198 };
	}
}

/* mtu: the PF's before its VFs' going up, after them coming down; bounds before any write. */
static void test_mtu(void)
{
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = kernel\nmtu = 9000\n");
	struct pf_live pf;
	struct plan pl = { 0 };

	live_mtu(&pf, 2);
	mtu_plan("mtu up: PF first", pol, &pf, false, 0, 0,
		 "pf mtu 1500->9000=9000; vf0 mtu 1500->9000=9000; vf1 mtu 1500->9000=9000");
	pf.mtu.mtu = vfs[0].mtu.mtu = vfs[1].mtu.mtu = 9000;
	mtu_plan("mtu holds: nothing", pol, &pf, false, 0, 0, "");
	vfs[1].mtu.mtu = 1500;
	mtu_plan("mtu: only what differs", pol, &pf, false, 0, 0, "vf1 mtu 1500->9000=9000");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = kernel\nmtu = 1400\n");
	live_mtu(&pf, 2);
	mtu_plan("mtu down: PF last", pol, &pf, false, 0, 0,
		 "vf0 mtu 1500->1400=1400; vf1 mtu 1500->1400=1400; pf mtu 1500->1400=1400");

	/* A VF carrying host traffic keeps its MTU unless --force. */
	snprintf(vfs[0].host_use, sizeof(vfs[0].host_use), "eth10 has address 192.0.2.5/24");
	mtu_plan("mtu: VF in host use skipped", pol, &pf, false, 0, 1,
		 "vf1 mtu 1500->1400=1400; pf mtu 1500->1400=1400");
	mtu_plan("mtu: VF in host use, --force", pol, &pf, true, 0, 0,
		 "vf0 mtu 1500->1400=1400; vf1 mtu 1500->1400=1400; pf mtu 1500->1400=1400");

	/* vfio-pci VFs (policy or live) get theirs from the guest. */
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nmtu = 9000\n[vf a 1]\nvf-driver = kernel\n");
	live_mtu(&pf, 2);
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "vfio-pci");
	mtu_plan("mtu: VFs on vfio-pci left alone", pol, &pf, false, 0, 0, "pf mtu 1500->9000=9000");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = kernel\n");
	live_mtu(&pf, 2);
	mtu_plan("mtu not in the policy: never touched", pol, &pf, false, 0, 0, "");
	count_plan("mtu not in the policy: count plan", pol, &pf, false, 0, "autoprobe 0->1=1");

	/* Out of a netdev's range: refused before any write, in the count plan too. */
	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\nvf-driver = kernel\nmtu = 9200\n");
	live_mtu(&pf, 2);
	count_plan("mtu above a VF's max: count plan refused", pol, &pf, false, -ERANGE, "");
	tap_is_int(plan_pf_count(pol, &pf, NULL, &pl), 0, "mtu refused: why");
	tap_is_str(pl.why, "mtu 9200 is above the maximum 9198 of eth10", "mtu refused: why");
	plan_free(&pl);
	mtu_plan("mtu above a VF's max: mtu plan refused", pol, &pf, false, -ERANGE, 0, "");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\nmtu = 9217\n");
	count_plan("mtu above the PF's max: refused", pol, &pf, false, -ERANGE, "");
	pf.mtu.max = 0;
	count_plan("mtu: max 0 is no maximum", pol, &pf, false, 0, "numvfs 2->4");
	pf.mtu.min = 1280;
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nmtu = 1000\n");
	count_plan("mtu below the PF's min: refused", pol, &pf, false, -ERANGE, "");
	pf.ifname[0] = '\0';
	count_plan("mtu without a PF netdev: refused", pol, &pf, false, -ENODEV, "");
}

static void test_converged(void)
{
	const struct pf_policy *pol;
	struct pf_live pf;

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n");
	live_init(&pf, 4);
	count_plan("converged: phase 1", pol, &pf, false, 0, "");
	vfs_plan("converged: phase 2", pol, &pf, "");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\nvlan = 100\nqos = 2\nvlan-proto = 802.1ad\n"
		     "trust = on\nspoofchk = off\nlink-state = enable\nmax-tx-rate = 1000\n"
		     "min-tx-rate = 100\nquery-rss = on\n"
		     "[vf a 2]\nmac = 02:00:00:00:00:02\n[vf a 3]\nvf-driver = kernel\nmac = none\n");
	live_init(&pf, 4);
	for (unsigned i = 0; i < 4; i++) {
		vfs[i].vlan = 100;
		vfs[i].qos = 2;
		vfs[i].vlan_proto = ETH_P_8021AD_;
		vfs[i].trust = 1;
		vfs[i].spoofchk = 0;
		vfs[i].link_state = LINK_STATE_ENABLE;
		vfs[i].max_tx_rate = 1000;
		vfs[i].min_tx_rate = 100;
		vfs[i].query_rss = 1;
	}
	parse_mac("02:00:00:00:00:02", vfs[2].mac);
	parse_mac("02:99:00:00:00:03", vfs[3].mac);
	snprintf(vfs[3].driver, sizeof(vfs[3].driver), "ixgbevf");
	count_plan("converged, every key set: phase 1", pol, &pf, false, 0, "");
	vfs_plan("converged, every key set: phase 2", pol, &pf, "");

	/* vlan 0: qos and protocol do not matter */
	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nvlan-proto = 802.1ad\n");
	live_init(&pf, 1);
	vfs[0].qos = 5;
	vfs[0].vlan_proto = 0;
	vfs_plan("vlan 0: live qos and proto ignored", pol, &pf, "");
}

static void test_drift(void)
{
	const struct pf_policy *pol;
	struct pf_live pf;
	char want[128], m[MAC_STR_LEN];
	uint8_t mac[MAC_LEN];

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n");
	live_init(&pf, 4);
	parse_mac("02:00:00:00:00:09", vfs[1].mac);
	mac_derive(perm, 1, mac);
	snprintf(want, sizeof(want), "vf1 mac %s", format_mac(mac, m));
	vfs_plan("mac drift: mac_derive(perm, 1)", pol, &pf, want);

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n[vf a 2]\nmac = 02:00:00:00:00:02\n");
	live_init(&pf, 4);
	vfs_plan("fixed mac drift", pol, &pf, "vf2 mac 02:00:00:00:00:02");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\n[vf a 2]\nmac = none\n");
	live_init(&pf, 4);
	parse_mac("02:00:00:00:00:09", vfs[2].mac);
	vfs_plan("mac none: any live mac is fine", pol, &pf, "");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n[vf a 1]\nvlan = 100\nqos = 3\n");
	live_init(&pf, 2);
	vfs_plan("vlan drift", pol, &pf, "vf1 vlan 100/3/8100");
	vfs[1].vlan = 100;
	vfs_plan("qos drift", pol, &pf, "vf1 vlan 100/3/8100");
	vfs[1].qos = 3;
	vfs_plan("vlan converged", pol, &pf, "");
	vfs[1].vlan_proto = ETH_P_8021AD_;
	vfs_plan("vlan-proto drift to 802.1Q", pol, &pf, "vf1 vlan 100/3/8100");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n[vf a 1]\nvlan = 100\nvlan-proto = 802.1ad\n");
	live_init(&pf, 2);
	vfs[1].vlan = 100;
	{
		struct plan pl = { 0 };

		tap_is_int(plan_pf_vfs(pol, &pf, &pl), 0, "vlan-proto drift to 802.1ad");
		tap_is_str(render(&pl), "vf1 vlan 100/0/88a8", "vlan-proto drift: one vlan action");
		tap_is_str(pl.n == 1 ? action_key_name(&pl.a[0]) : "", "vlan-proto",
			   "action_key_name of an 802.1ad vlan action");
		tap_is_str(pl.n == 1 ? pl.a[0].from : "", "100 qos 0 802.1Q", "vlan action from");
		tap_is_str(pl.n == 1 ? pl.a[0].to : "", "100 qos 0 802.1ad", "vlan action to");
		plan_free(&pl);
	}
	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nvlan = 5\n");
	live_init(&pf, 1);
	{
		struct plan pl = { 0 };

		plan_pf_vfs(pol, &pf, &pl);
		tap_is_str(pl.n == 1 ? action_key_name(&pl.a[0]) : "", "vlan",
			   "action_key_name of an 802.1Q vlan action");
		plan_free(&pl);
	}

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n");
	live_init(&pf, 2);
	vfs[0].spoofchk = 0;
	vfs_plan("spoofchk drift", pol, &pf, "vf0 spoofchk 1");
	live_init(&pf, 2);
	vfs[1].trust = 1;
	vfs_plan("trust drift", pol, &pf, "vf1 trust 0");
	live_init(&pf, 2);
	vfs[1].link_state = LINK_STATE_DISABLE;
	vfs_plan("link-state drift", pol, &pf, "vf1 link-state 0");
	live_init(&pf, 2);
	vfs[0].query_rss = 1;
	vfs_plan("query-rss drift", pol, &pf, "vf0 query-rss 0");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nmax-tx-rate = 1000\n");
	live_init(&pf, 1);
	vfs_plan("max-tx-rate drift", pol, &pf, "vf0 max-tx-rate 1000/0");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nmax-tx-rate = 1000\nmin-tx-rate = 100\n");
	live_init(&pf, 1);
	vfs[0].max_tx_rate = 500;
	vfs[0].min_tx_rate = 100;
	vfs_plan("max-tx-rate drift keeps the live min", pol, &pf, "vf0 max-tx-rate 1000/100");
	vfs[0].max_tx_rate = 1000;
	vfs[0].min_tx_rate = 0;
	vfs_plan("min-tx-rate drift carries the wanted max", pol, &pf, "vf0 min-tx-rate 1000/100");
	vfs[0].max_tx_rate = 0;
	vfs_plan("both rates drift", pol, &pf, "vf0 max-tx-rate 1000/0; vf0 min-tx-rate 1000/100");

	/* The driver does not report the flag: only a non-default wish counts. */
	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\n");
	live_init(&pf, 1);
	vfs[0].spoofchk = vfs[0].trust = vfs[0].link_state = vfs[0].query_rss = -1;
	vfs_plan("unreported flags, policy defaults", pol, &pf, "");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nspoofchk = off\ntrust = on\nlink-state = enable\n"
		     "query-rss = on\n");
	vfs_plan("unreported flags, non-default policy", pol, &pf,
		 "vf0 spoofchk 0; vf0 trust 1; vf0 link-state 1; vf0 query-rss 1");

	/* Fewer live VFs than wanted (dry run before creation) and a VF without PCI address. */
	pol = policy("[pf a]\ndevice = eth0\nvfs = 4\ntrust = on\n");
	live_init(&pf, 2);
	for (unsigned i = 0; i < 2; i++)
		vfs[i].trust = 1;
	vfs[0].pci[0] = '\0';
	vfs[1].trust = 0;
	vfs_plan("only live VFs with a PCI address", pol, &pf, "vf1 trust 1");
}

static void test_driver(void)
{
	const struct pf_policy *pol;
	struct pf_live pf;
	char want[128], m[MAC_STR_LEN];
	uint8_t mac[MAC_LEN];

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n");
	live_init(&pf, 2);
	vfs[1].driver[0] = '\0';
	vfs_plan("vfio-pci: unbound", pol, &pf, "vf1 driver none->vfio-pci=0");
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "ixgbevf");
	vfs_plan("vfio-pci: kernel driver bound", pol, &pf, "vf1 driver ixgbevf->vfio-pci=0");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 3\nvf-driver = kernel\n");
	live_init(&pf, 3);
	snprintf(vfs[0].driver, sizeof(vfs[0].driver), "ixgbevf");
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "ixgbevf");
	snprintf(vfs[1].override, sizeof(vfs[1].override), "vfio-pci");
	vfs_plan("kernel: vfio-pci bound or override set is drift", pol, &pf,
		 "vf1 driver ixgbevf (override vfio-pci)->kernel=1; vf2 driver vfio-pci->kernel=1");
	vfs[1].override[0] = vfs[2].driver[0] = '\0';
	snprintf(vfs[2].driver, sizeof(vfs[2].driver), "iavf");
	vfs_plan("kernel: any kernel driver", pol, &pf, "");
	vfs[2].driver[0] = '\0';
	vfs_plan("kernel: unbound", pol, &pf, "vf2 driver none->kernel=1");

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = none\n");
	live_init(&pf, 2);
	vfs[0].driver[0] = '\0';
	vfs_plan("none: vfio-pci bound", pol, &pf, "vf1 driver vfio-pci->none=2");

	/* A kernel VF driver reads its MAC at probe only. */
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = kernel\n");
	live_init(&pf, 2);
	snprintf(vfs[0].driver, sizeof(vfs[0].driver), "igbvf");
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "igbvf");
	parse_mac("02:00:00:00:00:09", vfs[1].mac);
	mac_derive(perm, 1, mac);
	snprintf(want, sizeof(want), "vf1 mac %s; vf1 rebind igbvf", format_mac(mac, m));
	vfs_plan("kernel driver, mac change: rebind", pol, &pf, want);
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "vfio-pci");
	snprintf(want, sizeof(want), "vf1 mac %s; vf1 driver vfio-pci->kernel=1", format_mac(mac, m));
	vfs_plan("mac and driver change: no rebind", pol, &pf, want);
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\n");
	snprintf(vfs[0].driver, sizeof(vfs[0].driver), "vfio-pci");
	snprintf(want, sizeof(want), "vf1 mac %s", format_mac(mac, m));
	vfs_plan("vfio-pci, mac change: no rebind", pol, &pf, want);
}

/*
 * Every vf-driver transition (issue 15, item 11): the autoprobe the policy
 * implies is planned with or without a count change, and each VF as
 * vfwarden leaves it (or the kernel creates it) is judged by its driver
 * and by the driver_override that decides its next probe.
 */
static void test_transitions(void)
{
	static const char *const pols[] = {
		[VF_DRIVER_VFIO] = "vfio-pci", [VF_DRIVER_KERNEL] = "kernel", [VF_DRIVER_NONE] = "none",
	};
	static const struct {
		const char *what, *driver, *override;
		enum vf_driver is;
		int autoprobe; /* as the policy it was converged to left it */
	} from[] = {
		{ "vfio-pci", "vfio-pci", "vfio-pci", VF_DRIVER_VFIO, 0 },
		{ "kernel, autoprobe on", "igbvf", "", VF_DRIVER_KERNEL, 1 },
		{ "kernel, pinned under autoprobe off", "igbvf", "igbvf", VF_DRIVER_KERNEL, 0 },
		{ "none", "", "none", VF_DRIVER_NONE, 0 },
		{ "none, as created with autoprobe off", "", "", VF_DRIVER_NONE, 0 },
	};
	char text[128], what[160], want[128];
	struct pf_live pf;

	for (size_t f = 0; f < ELEMENTSOF(from); f++)
		for (unsigned to = 0; to < ELEMENTSOF(pols); to++) {
			int ap = to == VF_DRIVER_KERNEL;

			snprintf(text, sizeof(text), "[pf a]\ndevice = eth0\nvfs = 1\nvf-driver = %s\n", pols[to]);
			const struct pf_policy *pol = policy(text);

			live_init(&pf, 1);
			pf.autoprobe = from[f].autoprobe;
			snprintf(vfs[0].driver, sizeof(vfs[0].driver), "%s", from[f].driver);
			snprintf(vfs[0].override, sizeof(vfs[0].override), "%s", from[f].override);
			snprintf(what, sizeof(what), "%s -> %s, 1 VF: autoprobe", from[f].what, pols[to]);
			if (pf.autoprobe != ap)
				snprintf(want, sizeof(want), "autoprobe %d->%d=%d", pf.autoprobe, ap, ap);
			else
				want[0] = '\0';
			count_plan(what, pol, &pf, false, 0, want);
			snprintf(what, sizeof(what), "%s -> %s, 1 VF: driver", from[f].what, pols[to]);
			if (from[f].is != (enum vf_driver)to)
				snprintf(want, sizeof(want), "vf0 driver %s->%s=%u",
					 from[f].driver[0] ? from[f].driver : "none", pols[to], to);
			else
				want[0] = '\0';
			vfs_plan(what, pol, &pf, want);

			/* 1 -> 2 VFs: the new VFs are on igbvf with autoprobe on, else unbound. */
			snprintf(text, sizeof(text), "[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = %s\n", pols[to]);
			pol = policy(text);
			snprintf(what, sizeof(what), "%s -> %s, 1 -> 2 VFs: autoprobe", from[f].what, pols[to]);
			snprintf(want, sizeof(want), "%snumvfs 1->2", pf.autoprobe != ap ? (ap ? "autoprobe 0->1=1; " : "autoprobe 1->0=0; ") : "");
			count_plan(what, pol, &pf, false, 0, want);
			live_init(&pf, 2);
			for (unsigned i = 0; i < 2; i++)
				snprintf(vfs[i].driver, sizeof(vfs[i].driver), "%s", ap ? "igbvf" : "");
			snprintf(what, sizeof(what), "%s -> %s, 1 -> 2 VFs: driver", from[f].what, pols[to]);
			vfs_plan(what, pol, &pf, to == VF_DRIVER_VFIO ? "vf0 driver none->vfio-pci=0; vf1 driver none->vfio-pci=0" : "");
		}

	/* An override left by another tool decides the next probe: drift. */
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nvf-driver = none\n");

	live_init(&pf, 1);
	vfs[0].driver[0] = '\0';
	snprintf(vfs[0].override, sizeof(vfs[0].override), "vfio-pci");
	vfs_plan("none, unbound with override vfio-pci: drift", pol, &pf,
		 "vf0 driver none (override vfio-pci)->none=2");
	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvf-driver = kernel\n[vf a 1]\nvf-driver = vfio-pci\n");
	live_init(&pf, 2);
	snprintf(vfs[0].driver, sizeof(vfs[0].driver), "igbvf");
	count_plan("mixed, same count, autoprobe off: nothing", pol, &pf, false, 0, "");
	pf.autoprobe = 1;
	count_plan("mixed, same count, autoprobe on: off", pol, &pf, false, 0, "autoprobe 1->0=0");
	vfs_plan("mixed: igbvf and vfio-pci hold", pol, &pf, "");
}

static void test_in_use(void)
{
	const struct pf_policy *pol;
	struct pf_live pf;
	struct plan pl = { 0 };

	pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvlan = 10\ntrust = on\n");
	live_init(&pf, 2);
	vfs[0].vlan = 10;
	vfs[0].trust = 1;
	parse_mac("02:00:00:00:00:09", vfs[1].mac);
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "ixgbevf");
	vfs[1].in_use = true;
	tap_is_int(plan_pf_vfs(pol, &pf, &pl), 0, "in-use VF");
	tap_is_str(render(&pl), "vf1 trust 1", "in-use VF: no driver, mac or vlan action; trust still planned");
	tap_is_int(pl.skipped_in_use, 1, "in-use VF: skipped_in_use");
	plan_free(&pl);

	vfs[1].vlan = 10;
	vfs[1].trust = 1;
	mac_derive(perm, 1, vfs[1].mac);
	snprintf(vfs[1].driver, sizeof(vfs[1].driver), "vfio-pci");
	tap_is_int(plan_pf_vfs(pol, &pf, &pl), 0, "in-use VF, converged");
	tap_is_str(render(&pl), "", "in-use VF, converged: nothing");
	tap_is_int(pl.skipped_in_use, 0, "in-use VF, converged: nothing skipped");
	plan_free(&pl);
}

static void test_unknown(void)
{
	const struct pf_policy *pol;
	struct pf_live pf;
	char want[256], m[MAC_STR_LEN];
	uint8_t mac[MAC_LEN];

	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\n");
	live_init(&pf, 1);
	vfs[0].nl_valid = false;
	mac_derive(perm, 0, mac);
	snprintf(want, sizeof(want),
		 "vf0 mac %s; vf0 vlan 0/0/8100; vf0 spoofchk 1; vf0 trust 0; vf0 link-state 0; "
		 "vf0 max-tx-rate 0/0; vf0 min-tx-rate 0/0; vf0 query-rss 0",
		 format_mac(mac, m));
	vfs_plan("netlink unknown: every attribute, driver already right", pol, &pf, want);

	pol = policy("[pf a]\ndevice = eth0\nvfs = 1\nmac = none\nvf-driver = none\n");
	vfs[0].driver[0] = '\0';
	vfs_plan("netlink unknown, mac = none: no mac action", pol, &pf,
		 "vf0 vlan 0/0/8100; vf0 spoofchk 1; vf0 trust 0; vf0 link-state 0; "
		 "vf0 max-tx-rate 0/0; vf0 min-tx-rate 0/0; vf0 query-rss 0");
}

static void test_key_names(void)
{
	struct action a = { .type = ACT_NUMVFS };

	tap_is_str(action_key_name(&a), "vfs", "action_key_name numvfs");
	a.type = ACT_VF_ATTR;
	a.key = KEY_MAX_TX_RATE;
	tap_is_str(action_key_name(&a), "max-tx-rate", "action_key_name max-tx-rate");
	a.key = KEY_VLAN;
	a.u.attr.vlan_proto = ETH_P_8021Q_;
	tap_is_str(action_key_name(&a), "vlan", "action_key_name 802.1Q vlan");
	a.u.attr.vlan_proto = ETH_P_8021AD_;
	tap_is_str(action_key_name(&a), "vlan-proto", "action_key_name 802.1ad vlan");
}

int main(void)
{
	test_count();
	test_host_use();
	test_eswitch();
	test_mtu();
	test_converged();
	test_drift();
	test_driver();
	test_transitions();
	test_in_use();
	test_unknown();
	test_key_names();
	policy_free(&pol_store);
	return tap_done();
}
