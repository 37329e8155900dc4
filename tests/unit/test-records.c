/* SPDX-License-Identifier: MIT */
/* The hook's records: format, parse, staleness, and the overlay on the policy. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "plan.h"
#include "records.h"
#include "tap.h"

static struct policy pol_store;

static const struct pf_policy *policy(const char *text)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");

	policy_free(&pol_store);
	if (!f || policy_parse_stream(&pol_store, f, "t.conf") < 0 || policy_validate(&pol_store) < 0 ||
	    pol_store.n_pfs != 1) {
		printf("Bail out! test policy does not parse\n");
		exit(1);
	}
	fclose(f);
	return &pol_store.pfs[0];
}

static void test_format(void)
{
	struct vf_record r = { .domain = "vm1" }, back;
	char buf[2048];

	tap_is_int(record_add(&r, "vf-driver", "vfio-pci"), 0, "add vf-driver");
	tap_is_int(record_add(&r, "trust", "on"), 0, "add trust");
	tap_is_int(record_add(&r, "mac", "52:54:00:aa:bb:01"), 0, "add mac");
	/* A later setting of a key replaces it and applies last. */
	tap_is_int(record_add(&r, "trust", "off"), 0, "add trust again");
	tap_is_int(record_add(&r, "trsut", "on"), -EINVAL, "an unknown key is refused");
	tap_is_int(record_add(&r, "vlan", "4096"), -EINVAL, "a bad value is refused");
	tap_is_int(record_format(&r, buf, sizeof(buf)), 62, "format: length");
	tap_is_str(buf, "domain=vm1\nvf-driver=vfio-pci\nmac=52:54:00:aa:bb:01\ntrust=off\n", "format");
	tap_is_int(record_format(&r, buf, 20), -ENOBUFS, "format: too small a buffer");
	r.reset_pending = true;
	record_format(&r, buf, sizeof(buf));
	tap_is_int(record_parse(buf, &back), 0, "parse what format wrote");
	tap_is_str(back.domain, "vm1", "parse: domain");
	tap_is_int(back.n_set, 3, "parse: settings");
	tap_is_str(back.set[2].key, "trust", "parse: order kept");
	tap_ok(back.reset_pending, "parse: reset-pending");
	/* What the hook wrote before settings were recorded. */
	tap_is_int(record_parse("domain=old\nmac=52:54:00:aa:bb:01\nvlan=42\n", &back), 0,
		   "parse: an older record");
	tap_is_int(back.n_set, 2, "parse: an older record's settings");
	tap_ok(!back.reset_pending, "parse: not reset-pending");
	tap_is_int(record_parse("mac=52:54:00:aa:bb:01\ndomain=x\n", &back), -EBADMSG,
		   "parse: domain= not first");
	tap_is_int(record_parse("domain=x\nbogus=1\n", &back), -EBADMSG, "parse: unknown key");
	tap_is_int(record_parse("", &back), -EBADMSG, "parse: empty");
}

static void test_apply(void)
{
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 2\nvlan = 100\ntrust = on\nmax-tx-rate = 1000\n");
	struct vf_record r = { .domain = "vm1" };
	struct vf_conf c = pol->vf[0];
	char err[200];

	record_add(&r, "vlan", "42");
	record_add(&r, "trust", "off");
	tap_is_int(record_apply(&r, &c, err, sizeof(err)), 0, "apply");
	tap_is_int(c.vlan, 42, "apply: vlan from the record");
	tap_ok(!c.trust, "apply: trust from the record");
	tap_is_int(c.max_tx_rate, 1000, "apply: max-tx-rate from the policy");
	record_add(&r, "min-tx-rate", "2000");
	c = pol->vf[0];
	tap_is_int(record_apply(&r, &c, err, sizeof(err)), -EINVAL, "apply: min-tx-rate above max-tx-rate");
	tap_is_str(err, "min-tx-rate 2000 is above max-tx-rate 1000", "apply: says why");
}

static struct vf_live vfs[2];

static void live_init(struct pf_live *pf)
{
	memset(pf, 0, sizeof(*pf));
	memset(vfs, 0, sizeof(vfs));
	snprintf(pf->pci, sizeof(pf->pci), "0000:01:00.0");
	snprintf(pf->ifname, sizeof(pf->ifname), "eth0");
	pf->numvfs = pf->n_vf = 2;
	pf->vf = vfs;
	for (unsigned i = 0; i < 2; i++) {
		vfs[i].idx = i;
		snprintf(vfs[i].pci, sizeof(vfs[i].pci), "0000:01:10.%u", i);
		record_scan(&vfs[i]);
	}
}

/* What the planner would change on pf against eff, as "vfN key ..." count. */
static unsigned planned(const struct pf_policy *eff, const struct pf_live *pf, enum vf_key key)
{
	struct plan pl = { 0 };
	unsigned n = 0;

	plan_pf_vfs(eff, pf, &pl);
	for (unsigned i = 0; i < pl.n; i++)
		n += pl.a[i].type == ACT_VF_ATTR && pl.a[i].key == key;
	plan_free(&pl);
	return n;
}

static void test_overlay(const char *dir)
{
	const struct pf_policy *pol = policy("[pf a]\ndevice = eth0\nvfs = 2\ntrust = on\nmax-tx-rate = 1000\n");
	struct vf_record r = { .domain = "vm1" };
	struct pf_policy eff;
	struct pf_live pf;
	struct timeval old[2] = { { 1000, 0 }, { 1000, 0 } };
	char p[PATH_MAX];

	record_add(&r, "vf-driver", "vfio-pci");
	record_add(&r, "mac", "52:54:00:aa:bb:01");
	record_add(&r, "trust", "off");
	tap_is_int(record_write("0000:01:10.0", &r), 0, "write a record");
	live_init(&pf);
	tap_ok(record_live(&vfs[0]) && vfs[0].in_use, "a fresh record is live and in use");
	tap_ok(!record_live(&vfs[1]), "no record, not live");
	tap_is_int(records_overlay(pol, &pf, &eff), 0, "overlay");
	tap_ok(eff.vf != pol->vf, "overlay: own vf[] when a record applies");
	tap_ok(!eff.vf[0].trust && eff.vf[0].mac_mode == MAC_FIXED, "overlay: the domain's trust and mac");
	tap_is_int(eff.vf[0].max_tx_rate, 1000, "overlay: the policy's max-tx-rate (the domain did not set it)");
	tap_ok(eff.vf[1].trust, "overlay: the other VF keeps the policy");
	/* The VF as the domain has it: nothing to change for trust; for max-tx-rate, the policy's. */
	vfs[0].nl_valid = vfs[1].nl_valid = true;
	vfs[0].trust = 0;
	vfs[0].max_tx_rate = 500;
	tap_is_int(planned(&eff, &pf, KEY_TRUST), 1, "plan: trust of vf1 only, vf0 keeps the domain's");
	tap_is_int(planned(pol, &pf, KEY_TRUST), 2, "plan without overlay: trust of both");
	tap_is_int(planned(&eff, &pf, KEY_MAX_TX_RATE), 2, "plan: a key the domain did not set still reaches its VF");
	records_overlay_free(pol, &eff);
	tap_ok(eff.vf == pol->vf, "overlay freed");

	/* The hook gives the VF to its domain: in use, but its mac is set (plan_opts.for_domain). */
	{
		struct plan pl = { 0 };
		struct plan_opts po = { .for_domain = true, .domain_vf = 0 };
		unsigned mac = 0;

		plan_pf_vfs(pol, &pf, &pl);
		for (unsigned i = 0; i < pl.n; i++)
			mac += pl.a[i].type == ACT_VF_ATTR && pl.a[i].key == KEY_MAC && pl.a[i].vf == 0;
		tap_ok(vfs[0].in_use && mac == 0 && pl.skipped_in_use == 1, "plan: an in-use VF keeps its mac");
		plan_free(&pl);
		plan_pf_vfs_opts(pol, &pf, &po, &pl);
		for (unsigned i = 0; i < pl.n; i++)
			mac += pl.a[i].type == ACT_VF_ATTR && pl.a[i].key == KEY_MAC && pl.a[i].vf == 0;
		tap_ok(mac == 1 && pl.skipped_in_use == 0, "plan for_domain: the domain's VF gets its mac");
		plan_free(&pl);
	}

	/* Marked reset-pending: the domain's settings no longer count. */
	tap_is_int(record_mark_reset_pending("0000:01:10.0", "other"), -ENOENT,
		   "mark: a record of another domain is left alone");
	tap_is_int(record_mark_reset_pending("0000:01:10.0", "vm1"), 0, "mark reset-pending");
	tap_is_int(record_mark_reset_pending("0000:01:10.0", "vm1"), 0, "mark again: idempotent");
	live_init(&pf);
	tap_ok(vfs[0].reset_pending && vfs[0].stale_record && !vfs[0].in_use,
	       "reset-pending: stale, not in use");
	tap_is_int(records_overlay(pol, &pf, &eff), 0, "overlay of a reset-pending record");
	tap_ok(eff.vf == pol->vf, "overlay: the policy alone");
	records_overlay_free(pol, &eff);
	snprintf(p, sizeof(p), "%s/run/reset-pending", dir);
	tap_ok(access(p, F_OK) == 0, "mark: the flag vfwarden-reset.path watches");

	/* Older than the grace and no pid file: the domain is gone. */
	record_write("0000:01:10.0", &r);
	snprintf(p, sizeof(p), "%s/run/vf/0000:01:10.0", dir);
	utimes(p, old);
	live_init(&pf);
	tap_ok(vfs[0].stale_record && !record_live(&vfs[0]), "an old record without a pid file is stale");
	records_overlay(pol, &pf, &eff);
	tap_ok(eff.vf == pol->vf, "overlay: a stale record is not applied");
	records_overlay_free(pol, &eff);
	/* One this version cannot read, but that names its domain, still counts. */
	{
		FILE *f = fopen(p, "we");

		fputs("domain=vm2\nfuture-key=1\n", f);
		fclose(f);
	}
	live_init(&pf);
	tap_ok(vfs[0].in_use && streq(vfs[0].owner, "domain vm2"), "an unreadable record still names its domain");
	records_overlay(pol, &pf, &eff);
	tap_ok(eff.vf == pol->vf, "overlay: an unreadable record is not applied");
	records_overlay_free(pol, &eff);
	tap_is_int(record_remove("0000:01:10.0"), 0, "remove");
	tap_is_int(record_read("0000:01:10.0", &r), -ENOENT, "read: none");
	tap_is_int(record_read("../../etc", &r), -EINVAL, "read: not a PCI address");
}

int main(void)
{
	char dir[] = "/tmp/test-records.XXXXXX";

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(roots.run, sizeof(roots.run), "%s/run", dir);
	snprintf(roots.qemu_run, sizeof(roots.qemu_run), "%s/qemu", dir);
	snprintf(roots.proc, sizeof(roots.proc), "%s/proc", dir);
	snprintf(roots.sys, sizeof(roots.sys), "%s/sys", dir);
	test_format();
	test_apply();
	test_overlay(dir);
	policy_free(&pol_store);
	{
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/run/vf", dir);
		rmdir(p);
		snprintf(p, sizeof(p), "%s/run/reset-pending", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/run", dir);
		rmdir(p);
		rmdir(dir);
	}
	return tap_done();
}
