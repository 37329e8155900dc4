/* SPDX-License-Identifier: MIT */
/*
 * status: every SR-IOV PF on the host and its VFs, as the kernel reports
 * them, with the policy's label and a drift mark where they differ.
 * The JSON form (schema "vfwarden-status/2") is documented in README.md
 * and vfwarden(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "devlink.h"
#include "match.h"
#include "records.h"
#include "state.h"
#include "virt.h"

#define STATUS_SCHEMA "vfwarden-status/2"

/* stdout, or the temporary file behind --output. */
static FILE *out;

/* A host PF as status shows it: what the policy says of it, read once. */
struct pf_view {
	struct pf_live *pf;
	/*
	 * NULL: unmanaged, ambiguous (or the policy is invalid). Else &eff:
	 * the policy with running domains' settings over it
	 * (records_overlay()), whose VFs drift only from that.
	 */
	const struct pf_policy *pol;
	const struct pf_policy *policy; /* as written */
	struct pf_policy eff;
	/*
	 * The section governing the PF when it says manage = no: pol is NULL
	 * then, as no policy applies (no wanted count, no drift), but the PF
	 * keeps its label.
	 */
	const struct pf_policy *unmanaged;
	/* Ambiguous (match.h): the labels of the sections naming it, and why. */
	const char *amb[2];
	char amb_why[256];
	unsigned in_use, drift, reset_pending;
	bool have_last;
	struct last_apply last;
};

/* What to show: the PFs on the host and the policy PFs that are absent. */
struct view {
	struct pf_view *pfs;
	unsigned n_pfs;
	const struct pf_policy **absent;
	unsigned n_absent;
	bool host_has_pfs;
	const struct host *host;
	struct match m; /* empty when the policy is invalid */
	/* libvirt's domains (virt_query(): 0 when it answered) */
	int virt_r;
	struct virt_domains virt;
};

static void help(void)
{
	printf("Usage: vfwarden [-c FILE] status [--json | --prometheus] [--output FILE] [PF...]\n\n"
	       "Show one line per SR-IOV PF (label, interface, driver, VFs present/wanted/max,\n"
	       "link), PFs the policy names that are absent, then every VF: a '*' marks a\n"
	       "value that differs from the policy and DRIFT lists those keys. PF... shows\n"
	       "only those PFs (interface name, PCI address, sysfs path, permanent MAC or\n"
	       "policy label). --json prints the same as JSON (vfwarden-status/2);\n"
	       "--prometheus prints metrics in the node_exporter textfile format.\n"
	       "--output FILE replaces FILE atomically instead of writing to stdout.\n");
}

static const char *flag_str(int v)
{
	return v < 0 ? "-" : v ? "on" : "off";
}

/* The DRIFT column: "vfs" when the VF count differs, then the VF's keys. */
/* vf_drift(), and mtu (bit KEY_MTU) where VF j's netdev takes the policy's (plan.h). */
static uint32_t vf_drift_mtu(const struct pf_policy *pol, const struct pf_live *pf, unsigned j)
{
	struct vf_live want;
	uint32_t d;

	vf_wanted(pol, pf, j, &want);
	d = vf_drift(pol, &want, &pf->vf[j]);
	if (vf_takes_mtu(pol, pf, j) && pf->vf[j].mtu.mtu && pf->vf[j].mtu.mtu != pol->mtu)
		d |= 1u << KEY_MTU;
	return d;
}

/* A PF's MTU differs from its policy's. */
static bool pf_mtu_drift(const struct pf_live *pf, const struct pf_policy *pol)
{
	return pol && pol->mtu && pf->mtu.mtu && pf->mtu.mtu != pol->mtu;
}

static void drift_list(bool count_drift, uint32_t d, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (count_drift)
		n = (size_t)snprintf(buf, size, "vfs");
	for (int k = 0; k < _KEY_MAX; k++)
		if (d & (1u << k))
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "",
					      vf_key_name((enum vf_key)k));
	if (!buf[0])
		snprintf(buf, size, "-");
}

static json_object *json_flag(int v)
{
	return v < 0 ? NULL : json_object_new_boolean(v);
}

/* "pid N (comm)", as sysfs.c writes a vfio group's holder: pid and comm added to o. */
static void holder_json(json_object *o, const char *holder)
{
	unsigned long pid;
	const char *c = strstr(holder, " ("), *e = strrchr(holder, ')');
	char num[24];

	if (strncmp(holder, "pid ", 4) != 0 || !c || !e || e < c ||
	    (size_t)(c - holder - 4) >= sizeof(num))
		return;
	snprintf(num, sizeof(num), "%.*s", (int)(c - holder - 4), holder + 4);
	if (parse_uint(num, INT_MAX, &pid) < 0)
		return;
	json_object_object_add(o, "pid", json_object_new_int((int)pid));
	json_object_object_add(o, "comm", json_object_new_string_len(c + 2, (int)(e - c - 2)));
}

/*
 * The VF's user as an object: {"kind": "domain", "name": "vm1"} from the
 * hook's record, {"kind": "process", "pid": 4242, "comm": "qemu-system-x86"}
 * from an open /dev/vfio group; a domain whose process is known has both.
 */
static json_object *owner_json(const struct vf_live *vf)
{
	json_object *o;

	if (!vf->owner[0])
		return NULL;
	o = json_object_new_object();
	if (strncmp(vf->owner, "domain ", 7) == 0) {
		json_object_object_add(o, "kind", json_object_new_string("domain"));
		json_object_object_add(o, "name", json_object_new_string(vf->owner + 7));
	} else
		json_object_object_add(o, "kind", json_object_new_string("process"));
	holder_json(o, vf->holder[0] ? vf->holder : vf->owner);
	return o;
}

/* A VF key's value as vf_keys[] says: a MAC or a name as a string, a number, a flag; null where not reported. */
static json_object *attr_json(enum vf_key k, const struct vf_attrs *v)
{
	char buf[MAC_STR_LEN];
	long long x;

	switch (vf_keys[k].kind) {
	case VK_MAC:
		return json_object_new_string(vf_attr_str(k, v, buf, sizeof(buf)));
	case VK_UINT:
		return json_object_new_int64(vf_attr_get(k, v));
	case VK_FLAG:
		return json_flag((int)vf_attr_get(k, v));
	default:
		x = vf_attr_get(k, v);
		return x < 0 ? NULL : json_object_new_string(vf_attr_str(k, v, buf, sizeof(buf)));
	}
}

/* The libvirt domains that reference the VF, running or defined; null when libvirt did not answer. */
static json_object *domains_json(const struct view *v, const char *pci)
{
	json_object *a;

	if (v->virt_r < 0)
		return NULL;
	a = json_object_new_array();
	for (unsigned i = 0; i < v->virt.n_ref; i++) {
		const struct virt_ref *r = &v->virt.ref[i];
		const struct virt_dom *d = &v->virt.dom[r->dom];
		json_object *o;

		if (!streq(r->pci, pci))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(d->name));
		json_object_object_add(o, "state", json_object_new_string(virt_state_name(d->state)));
		json_object_object_add(o, "active", json_object_new_boolean(d->active));
		json_object_object_add(o, "autostart", json_object_new_boolean(d->autostart));
		json_object_object_add(o, "uses", json_object_new_boolean(r->live));
		json_object_array_add(a, o);
	}
	return a;
}

static const char *virt_status_name(int r)
{
	switch (r) {
	case 0:
		return "ok";
	case -ESRCH:
		return "not-running";
	case -EOPNOTSUPP:
		return "no-library";
	case -ETIMEDOUT:
		return "timeout";
	default:
		return "error";
	}
}

static json_object *vf_json(const struct view *v, const struct vf_live *vf, uint32_t drift, bool managed)
{
	json_object *o = json_object_new_object(), *d = json_object_new_array();

	json_object_object_add(o, "index", json_object_new_int((int)vf->idx));
	json_object_object_add(o, "pci", json_object_new_string(vf->pci));
	json_object_object_add(o, "driver", vf->driver[0] ? json_object_new_string(vf->driver) : NULL);
	json_object_object_add(o, "netdev", vf->netdev[0] ? json_object_new_string(vf->netdev) : NULL);
	json_object_object_add(o, "iommu_group", vf->iommu_group >= 0 ? json_object_new_int(vf->iommu_group) : NULL);
	for (int k = 0; k < _KEY_VF_MAX && vf->nl_valid; k++)
		if (vf_keys[k].ifla)
			json_object_object_add(o, vf_keys[k].json, attr_json((enum vf_key)k, &vf->attrs));
	json_object_object_add(o, "in_use", json_object_new_boolean(vf->in_use));
	json_object_object_add(o, "owner", owner_json(vf));
	json_object_object_add(o, "reset_pending", json_object_new_boolean(vf->reset_pending));
	json_object_object_add(o, "mtu", vf->mtu.mtu ? json_object_new_int((int)vf->mtu.mtu) : NULL);
	for (int k = 0; k < _KEY_MAX; k++)
		if (drift & (1u << k))
			json_object_array_add(d, json_object_new_string(vf_key_name((enum vf_key)k)));
	json_object_object_add(o, "managed", json_object_new_boolean(managed));
	json_object_object_add(o, "drift", d);
	json_object_object_add(o, "domains", domains_json(v, vf->pci));
	json_object_object_add(o, "representor", vf->rep[0] ? json_object_new_string(vf->rep) : NULL);
	return o;
}

/* The label of the section governing the PF (with manage = no too), or NULL. */
static const char *view_label(const struct pf_view *pv)
{
	return pv->pol ? pv->pol->label : pv->unmanaged ? pv->unmanaged->label : NULL;
}

/* A selector section's selectors, null for a section with device. */
static json_object *selected_by_json(const struct pf_policy *pol)
{
	json_object *o;
	char id[10];

	if (!pol || !pol->selector)
		return NULL;
	o = json_object_new_object();
	snprintf(id, sizeof(id), "%04x:%04x", pol->sel.vendor, pol->sel.device);
	json_object_object_add(o, "driver", pol->sel.driver[0] ? json_object_new_string(pol->sel.driver) : NULL);
	json_object_object_add(o, "pci_id", pol->sel.pci_id ? json_object_new_string(id) : NULL);
	return o;
}

static json_object *pf_json(const struct view *view, const struct pf_view *v)
{
	const struct pf_live *pf = v->pf;
	const struct pf_policy *pol = v->pol, *sec = pol ? pol : v->unmanaged;
	json_object *o = json_object_new_object(), *vfs = json_object_new_array();
	json_object *amb = v->amb[0] ? json_object_new_array() : NULL;
	char m[MAC_STR_LEN];

	for (unsigned i = 0; amb && i < 2 && v->amb[i]; i++)
		json_object_array_add(amb, json_object_new_string(v->amb[i]));
	json_object_object_add(o, "label", view_label(v) ? json_object_new_string(view_label(v)) : NULL);
	json_object_object_add(o, "section", sec ? json_object_new_string(sec->section) : NULL);
	json_object_object_add(o, "selected_by", selected_by_json(sec));
	json_object_object_add(o, "interface", pf->ifname[0] ? json_object_new_string(pf->ifname) : NULL);
	json_object_object_add(o, "pci", json_object_new_string(pf->pci));
	json_object_object_add(o, "driver", pf->driver[0] ? json_object_new_string(pf->driver) : NULL);
	json_object_object_add(o, "permanent_mac",
			       pf->have_perm_mac ? json_object_new_string(format_mac(pf->perm_mac, m)) : NULL);
	json_object_object_add(o, "totalvfs", json_object_new_int((int)pf->totalvfs));
	json_object_object_add(o, "numvfs", json_object_new_int((int)pf->numvfs));
	json_object_object_add(o, "policy_vfs", pol ? json_object_new_int((int)pol->vfs) : NULL);
	json_object_object_add(o, "drivers_autoprobe", pf->autoprobe < 0 ? NULL : json_object_new_boolean(pf->autoprobe));
	json_object_object_add(o, "link_up", json_object_new_boolean(pf->up));
	json_object_object_add(o, "drift", json_object_new_boolean((pol && pol->vfs != pf->numvfs) || pf_mtu_drift(pf, pol)));
	json_object_object_add(o, "mtu", pf->mtu.mtu ? json_object_new_int((int)pf->mtu.mtu) : NULL);
	json_object_object_add(o, "policy_mtu", pol && pol->mtu ? json_object_new_int((int)pol->mtu) : NULL);
	json_object_object_add(o, "ambiguous", amb);
	json_object_object_add(o, "managed", json_object_new_boolean(pol != NULL));
	json_object_object_add(o, "vfs", vfs);
	json_object_object_add(o, "eswitch_mode", pf->eswitch_mode == ESWITCH_UNSET ? NULL
				: json_object_new_string(eswitch_mode_name(pf->eswitch_mode)));
	json_object_object_add(o, "policy_eswitch_mode", !pol || pol->eswitch_mode == ESWITCH_UNSET ? NULL
				: json_object_new_string(eswitch_mode_name(pol->eswitch_mode)));
	for (unsigned i = 0; i < pf->n_vf; i++) {
		bool managed = pol && i < pol->vfs;

		json_object_array_add(vfs, vf_json(view, &pf->vf[i], managed ? vf_drift_mtu(pol, pf, i) : 0, managed));
	}
	return o;
}

static void print_json(const struct view *v, bool policy_ok)
{
	json_object *root = json_object_new_object(), *pfs = json_object_new_array(),
		    *absent = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_string(STATUS_SCHEMA));
	json_object_object_add(root, "policy_valid", json_object_new_boolean(policy_ok));
	json_object_object_add(root, "pfs", pfs);
	json_object_object_add(root, "absent_pfs", absent);
	json_object_object_add(root, "libvirt", json_object_new_string(virt_status_name(v->virt_r)));
	for (unsigned i = 0; i < v->n_pfs; i++)
		json_object_array_add(pfs, pf_json(v, &v->pfs[i]));
	for (unsigned i = 0; i < v->n_absent; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "label", json_object_new_string(v->absent[i]->label));
		json_object_object_add(o, "device", v->absent[i]->selector ? NULL
					: json_object_new_string(v->absent[i]->device));
		json_object_object_add(o, "selected_by", selected_by_json(v->absent[i]));
		json_object_object_add(o, "policy_vfs", json_object_new_int((int)v->absent[i]->vfs));
		json_object_array_add(absent, o);
	}
	fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* --- the tables: columns as wide as their widest cell ------------------ */

#define TABLE_COLS 14

struct table {
	unsigned n_cols, n_rows;
	size_t width[TABLE_COLS];
	char **cells; /* n_rows * n_cols */
};

static int table_add(struct table *t, const char *const *row)
{
	char **c = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));

	if (!c)
		return -ENOMEM;
	t->cells = c;
	c += t->n_rows * t->n_cols;
	for (unsigned i = 0; i < t->n_cols; i++) {
		size_t n = strlen(row[i]);

		if (!(c[i] = strdup(row[i]))) {
			while (i--)
				free(c[i]);
			return -ENOMEM;
		}
		if (n > t->width[i])
			t->width[i] = n;
	}
	t->n_rows++;
	return 0;
}

static void table_free(struct table *t)
{
	for (unsigned i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_rows = 0;
}

/* Colour only on a terminal, and never with NO_COLOR set. */
static bool colour;

/*
 * Row 0 is the header. colour_of picks a cell's colour: drift (a '*' value,
 * the DRIFT list) in red, a VF in use in bold, what the driver does not
 * report dim.
 */
static void table_print(const struct table *t, const char *(*colour_of)(unsigned col, const char *cell, bool last))
{
	for (unsigned r = 0; r < t->n_rows; r++) {
		for (unsigned i = 0; i < t->n_cols; i++) {
			const char *c = t->cells[r * t->n_cols + i];
			bool last = i + 1 == t->n_cols;
			const char *on = colour && r > 0 ? colour_of(i, c, last) : "";

			fprintf(out, "%s%s%s", on, c, *on ? "\033[0m" : "");
			if (!last)
				fprintf(out, "%*s", (int)(t->width[i] - strlen(c)) + 2, "");
		}
		fputc('\n', out);
	}
}

static const char *vf_colour(unsigned col, const char *c, bool last)
{
	size_t n = strlen(c);

	if (n && c[n - 1] == '*')
		return "\033[1;31m";
	if (last && streq(c, "unmanaged"))
		return "\033[2m";
	if (last && !streq(c, "-"))
		return "\033[31m";
	if (col == 12 && !streq(c, "-"))
		return "\033[1m";
	if (col >= 8 && col <= 10 && streq(c, "-"))
		return "\033[2m";
	return "";
}

static const char *pf_colour(unsigned col, const char *c, bool last)
{
	size_t n = strlen(c);

	if ((n && c[n - 1] == '*') || (last && strncmp(c, "absent", 6) == 0) ||
	    (col == 0 && streq(c, "ambiguous")))
		return "\033[1;31m";
	if (last && !streq(c, "up"))
		return "\033[2m";
	return "";
}

#define MARK(bit) ((drift & (1u << (bit))) ? "*" : "")

/* DRIFT is "unmanaged" for the VFs of a PF with manage = no: nothing to differ from. */
static int vf_row(struct table *t, const char *label, const struct pf_live *pf, const struct vf_live *vf,
		  const char *own, bool count_drift, uint32_t drift, bool unmanaged)
{
	char m[MAC_STR_LEN], vlan[32], rate[32], dl[160], mac[24], sp[8], tr[8], ls[12], drv[40], idx[12];
	char owner[400];
	const char *cells[] = { label, pf->ifname[0] ? pf->ifname : "-", pf->pci, idx, vf->pci, drv, mac,
				vlan, sp, tr, ls, rate, owner, dl };

	/* A release that left the reset to the next apply (records.h). */
	snprintf(owner, sizeof(owner), "%.380s%s", own, vf->reset_pending ? " (reset pending)" : "");

	drift_list(count_drift, drift, dl, sizeof(dl));
	if (unmanaged)
		snprintf(dl, sizeof(dl), "unmanaged");
	if (vf->nl_valid) {
		snprintf(mac, sizeof(mac), "%s%s", format_mac(vf->mac, m), MARK(KEY_MAC));
		if (vf->vlan)
			snprintf(vlan, sizeof(vlan), "%u/%u/%s%s", vf->vlan, vf->qos,
				 vlan_proto_name(vf->vlan_proto),
				 (drift & ((1u << KEY_VLAN) | (1u << KEY_VLAN_PROTO))) ? "*" : "");
		else
			snprintf(vlan, sizeof(vlan), "0%s", MARK(KEY_VLAN));
		snprintf(rate, sizeof(rate), "%u/%u%s", vf->max_tx_rate, vf->min_tx_rate,
			 (drift & ((1u << KEY_MAX_TX_RATE) | (1u << KEY_MIN_TX_RATE))) ? "*" : "");
	} else {
		strcpy(mac, "-");
		strcpy(vlan, "-");
		strcpy(rate, "-");
	}
	snprintf(sp, sizeof(sp), "%s%s", vf->nl_valid ? flag_str(vf->spoofchk) : "-", MARK(KEY_SPOOFCHK));
	snprintf(tr, sizeof(tr), "%s%s", vf->nl_valid ? flag_str(vf->trust) : "-", MARK(KEY_TRUST));
	snprintf(ls, sizeof(ls), "%s%s",
		 vf->nl_valid && vf->link_state >= 0 ? link_state_name((enum link_state)vf->link_state) : "-",
		 MARK(KEY_LINK_STATE));
	snprintf(drv, sizeof(drv), "%s%s", vf->driver[0] ? vf->driver : "none", MARK(KEY_VF_DRIVER));
	snprintf(idx, sizeof(idx), "%u", vf->idx);
	return table_add(t, cells);
}

/* The PF column: the policy's label, "ambiguous" (match.h) or "-". */
static const char *pf_label(const struct pf_view *pv)
{
	return view_label(pv) ? view_label(pv) : pv->amb[0] ? "ambiguous" : "-";
}

/* OWNER: who uses the VF, then the defined domains that reference it ("reserved: vm3 (shut off)"). */
static const char *owner_cell(const struct view *v, const struct vf_live *vf, char *buf, size_t size)
{
	char doms[256];

	if (v->virt_r < 0 || !virt_describe(&v->virt, vf->pci, VIRT_DEFINED, false, doms, sizeof(doms)))
		return vf->owner[0] ? vf->owner : "-";
	snprintf(buf, size, "%s%sreserved: %s", vf->owner, vf->owner[0] ? "; " : "", doms);
	return buf;
}

static int vf_table(const struct view *v)
{
	static const char *const head[] = { "PF", "IFACE", "PCI", "VF", "VF-PCI", "DRIVER", "MAC", "VLAN/QOS",
					    "SPOOF", "TRUST", "LINK", "RATE", "OWNER", "DRIFT" };
	struct table t = { .n_cols = ELEMENTSOF(head) };
	int r = table_add(&t, head);

	for (unsigned i = 0; r == 0 && i < v->n_pfs; i++) {
		const struct pf_view *pv = &v->pfs[i];
		const struct pf_policy *pol = pv->pol;

		for (unsigned j = 0; r == 0 && j < pv->pf->n_vf; j++) {
			uint32_t d = pol && j < pol->vfs ? vf_drift_mtu(pol, pv->pf, j) : 0;
			char owner[384];

			r = vf_row(&t, pf_label(pv), pv->pf, &pv->pf->vf[j],
				   owner_cell(v, &pv->pf->vf[j], owner, sizeof(owner)),
				   pol && pol->vfs != pv->pf->numvfs, d, pv->unmanaged != NULL);
		}
	}
	if (r == 0 && t.n_rows > 1) {
		fputc('\n', out);
		table_print(&t, vf_colour);
	}
	table_free(&t);
	return r;
}

static bool shows_eswitch(const struct pf_view *pv)
{
	return pv->pf->eswitch_mode == ESWITCH_SWITCHDEV ||
	       (pv->pol && pv->pol->eswitch_mode != ESWITCH_UNSET);
}

/*
 * PFs in switchdev mode, or whose policy sets eswitch-mode: the mode ('*'
 * where it is not the policy's) and each VF's representor netdev.
 */
static int rep_table(const struct view *v)
{
	static const char *const head[] = { "PF", "IFACE", "PCI", "ESWITCH", "VF", "REPRESENTOR" };
	struct table t = { .n_cols = ELEMENTSOF(head) };
	int r = table_add(&t, head);

	for (unsigned i = 0; r == 0 && i < v->n_pfs; i++) {
		const struct pf_view *pv = &v->pfs[i];
		const struct pf_live *pf = pv->pf;
		char mode[16], idx[12] = "-";
		const char *row[] = { view_label(pv) ? view_label(pv) : "-", pf->ifname[0] ? pf->ifname : "-", pf->pci,
				      mode, idx, "-" };

		if (!shows_eswitch(pv))
			continue;
		snprintf(mode, sizeof(mode), "%s%s", eswitch_mode_name(pf->eswitch_mode),
			 pv->pol && pv->pol->eswitch_mode && pv->pol->eswitch_mode != pf->eswitch_mode ? "*" : "");
		if (pf->eswitch_mode != ESWITCH_SWITCHDEV || !pf->n_vf) {
			r = table_add(&t, row);
			continue;
		}
		for (unsigned j = 0; r == 0 && j < pf->n_vf; j++) {
			snprintf(idx, sizeof(idx), "%u", j);
			row[5] = pf->vf[j].rep[0] ? pf->vf[j].rep : "-";
			r = table_add(&t, row);
		}
	}
	if (r == 0 && t.n_rows > 1) {
		fputc('\n', out);
		table_print(&t, pf_colour);
	}
	table_free(&t);
	return r;
}

/* LINK: up, down, or no-carrier (up without a cable or peer). */
static const char *pf_link(const struct pf_live *pf)
{
	if (!pf->ifname[0])
		return "-";
	return !pf->up ? "down" : pf->carrier ? "up" : "no-carrier";
}

/* MTU: the PF's, and the policy's after a slash and '*' where they differ. */
static const char *pf_mtu_cell(const struct pf_live *pf, const struct pf_policy *pol, char *buf, size_t size)
{
	if (!pf->mtu.mtu)
		snprintf(buf, size, "-");
	else if (pf_mtu_drift(pf, pol))
		snprintf(buf, size, "%u/%u*", pf->mtu.mtu, pol->mtu);
	else
		snprintf(buf, size, "%u", pf->mtu.mtu);
	return buf;
}

/* Whether a shown PF's policy sets mtu: the PF table then has an MTU column. */
static bool shows_mtu(const struct view *v)
{
	for (unsigned i = 0; i < v->n_pfs; i++)
		if (v->pfs[i].pol && v->pfs[i].pol->mtu)
			return true;
	for (unsigned i = 0; i < v->n_absent; i++)
		if (v->absent[i]->mtu)
			return true;
	return false;
}

/*
 * One line per PF: label, interface, PCI, driver, VFs present/wanted/max,
 * link, and MTU where a policy sets one (the table is as before without).
 */
static int pf_table(const struct view *v)
{
	static const char *const head[] = { "PF", "IFACE", "PCI", "DRIVER", "VFS", "LINK", "MTU" };
	struct table t = { .n_cols = ELEMENTSOF(head) - !shows_mtu(v) };
	int r = table_add(&t, head);

	for (unsigned i = 0; r == 0 && i < v->n_pfs; i++) {
		const struct pf_live *pf = v->pfs[i].pf;
		const struct pf_policy *pol = v->pfs[i].pol;
		char vfs[48], want[12], mtu[24];
		const char *row[] = { pf_label(&v->pfs[i]), pf->ifname[0] ? pf->ifname : "-", pf->pci,
				      pf->driver[0] ? pf->driver : "none", vfs, pf_link(pf),
				      pf_mtu_cell(pf, pol, mtu, sizeof(mtu)) };

		snprintf(want, sizeof(want), "%u", pol ? pol->vfs : 0);
		snprintf(vfs, sizeof(vfs), "%u/%s/%u%s", pf->numvfs, pol ? want : "-", pf->totalvfs,
			 pol && pol->vfs != pf->numvfs ? "*" : "");
		r = table_add(&t, row);
	}
	for (unsigned i = 0; r == 0 && i < v->n_absent; i++) {
		const struct pf_policy *pol = v->absent[i];
		char vfs[24];
		const char *row[] = { pol->label, !pol->selector && pol->device_kind == DEVICE_IFNAME ? pol->device : "-",
				      !pol->selector && pol->device_kind == DEVICE_PCI ? pol->device : "-", "-", vfs,
				      "absent", "-" };

		snprintf(vfs, sizeof(vfs), "-/%u/-", pol->vfs);
		r = table_add(&t, row);
	}
	if (r == 0 && t.n_rows > 1)
		table_print(&t, pf_colour);
	for (unsigned i = 0; r == 0 && i < v->n_pfs; i++)
		if (v->pfs[i].amb[0])
			fprintf(out, "ambiguous: %s; apply leaves it alone\n", v->pfs[i].amb_why);
	for (unsigned i = 0; r == 0 && i < v->n_pfs; i++) {
		const struct pf_policy *u = v->pfs[i].unmanaged;

		if (u)
			fprintf(out, "unmanaged: [pf %s] has manage = no (%s:%u): vfwarden writes nothing to %s or its VFs\n",
				u->label, u->manage_at.file, u->manage_at.line, v->pfs[i].pf->pci);
	}
	table_free(&t);
	return r;
}

static int print_tables(const struct view *v)
{
	int r;

	if (!v->host_has_pfs)
		fprintf(out, "No SR-IOV PF on this host: no network device offers VFs (sriov_totalvfs).\n"
			     "Run 'vfwarden doctor' to see why (IOMMU, SR-IOV off in the firmware, driver).\n%s",
			v->n_absent ? "\n" : "");
	if ((r = pf_table(v)) < 0 || (r = vf_table(v)) < 0)
		return r;
	return rep_table(v);
}

/* --- Prometheus text format ------------------------------------------- */

/* Prometheus label values: backslash, double quote and newline escaped. */
static void prom_label(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void prom_header(const char *name, const char *help_text)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help_text, name);
}

/*
 * A PF's labels: device (the interface, named as node_exporter names it),
 * pci and the policy's label; device and label are left out, never empty,
 * when there is no interface or no policy for the PF.
 */
static void prom_pf_sample(const char *name, const struct pf_view *v, const char *key, const char *val,
			   unsigned long long value)
{
	fprintf(out, "%s{", name);
	if (v->pf->ifname[0]) {
		fputs("device=\"", out);
		prom_label(v->pf->ifname);
		fputs("\",", out);
	}
	fprintf(out, "pci=\"%s\"", v->pf->pci);
	if (view_label(v)) {
		fputs(",label=\"", out);
		prom_label(view_label(v));
		fputc('"', out);
	}
	if (key) {
		fprintf(out, ",%s=\"", key);
		prom_label(val);
		fputc('"', out);
	}
	fprintf(out, "} %llu\n", value);
}

enum pf_metric {
	M_VFS, M_WANTED, M_MAX, M_IN_USE, M_DRIFT, M_RESET_PENDING, M_AMBIGUOUS, M_LAST_TIME, M_LAST_STATUS,
	M_LAST_CHANGES, M_MANAGED, _M_MAX
};

static const char *const pf_metrics[_M_MAX][2] = {
	[M_VFS] = { "vfwarden_pf_vfs", "VFs present on the PF (sriov_numvfs)." },
	[M_WANTED] = { "vfwarden_pf_vfs_wanted", "VFs the policy wants on the PF (absent when unmanaged)." },
	[M_MAX] = { "vfwarden_pf_vfs_max", "VFs the PF can have (sriov_totalvfs)." },
	[M_IN_USE] = { "vfwarden_pf_vfs_in_use", "VFs in use by a VM (open vfio group or hook record)." },
	[M_DRIFT] = { "vfwarden_pf_vfs_drift", "Managed VFs whose live settings differ from the policy." },
	[M_RESET_PENDING] = { "vfwarden_pf_vfs_reset_pending",
			      "VFs whose VM stopped but whose reset waits for the next apply." },
	[M_AMBIGUOUS] = { "vfwarden_pf_ambiguous",
			  "Whether the policy names the PF ambiguously (two sections, or one naming two PFs): apply leaves it alone." },
	[M_LAST_TIME] = { "vfwarden_pf_last_apply_timestamp_seconds", "When an apply last converged the PF." },
	[M_LAST_STATUS] = { "vfwarden_pf_last_apply_exit_status",
			    "Outcome of the PF's last apply (0: the policy holds, 3: not all of it)." },
	[M_LAST_CHANGES] = { "vfwarden_pf_last_apply_changes", "Changes the PF's last apply made." },
	[M_MANAGED] = { "vfwarden_pf_managed",
			"Whether vfwarden manages the PF (one [pf] section governs it, without manage = no)." },
};

/* The value of metric m for a PF; false when the PF has none. */
static bool pf_metric_value(enum pf_metric m, const struct pf_view *v, unsigned long long *val)
{
	switch (m) {
	case M_VFS: *val = v->pf->numvfs; return true;
	case M_WANTED: *val = v->pol ? v->pol->vfs : 0; return v->pol;
	case M_MAX: *val = v->pf->totalvfs; return true;
	case M_IN_USE: *val = v->in_use; return true;
	case M_DRIFT: *val = v->drift; return v->pol;
	case M_RESET_PENDING: *val = v->reset_pending; return true;
	case M_AMBIGUOUS: *val = v->amb[0] != NULL; return true;
	case M_LAST_TIME: *val = (unsigned long long)v->last.time; return v->have_last;
	case M_LAST_STATUS: *val = (unsigned long long)v->last.status; return v->have_last;
	case M_LAST_CHANGES: *val = v->last.changes; return v->have_last;
	case M_MANAGED: *val = v->pol != NULL; return true;
	case _M_MAX: break;
	}
	return false;
}

static void prom_last_apply(void)
{
	struct last_apply l;

	if (last_apply_read(&l) < 0)
		return;
	prom_header("vfwarden_last_apply_timestamp_seconds", "When the last apply ran (any PF).");
	fprintf(out, "vfwarden_last_apply_timestamp_seconds %lld\n", (long long)l.time);
	prom_header("vfwarden_last_apply_exit_status", "Exit status of the last apply (0: all of the policy holds).");
	fprintf(out, "vfwarden_last_apply_exit_status %d\n", l.status);
	prom_header("vfwarden_last_apply_changes", "Changes the last apply made.");
	fprintf(out, "vfwarden_last_apply_changes %u\n", l.changes);
	prom_header("vfwarden_last_apply_failures", "Changes the last apply could not make, by attribute.");
	for (unsigned i = 0; i < l.n_failed; i++) {
		fputs("vfwarden_last_apply_failures{attribute=\"", out);
		prom_label(l.failed[i].key);
		fprintf(out, "\"} %u\n", l.failed[i].count);
	}
}

static void prometheus(const struct policy *p, bool policy_ok, const struct view *v)
{
	prom_header("vfwarden_build_info", "vfwarden's version; always 1.");
	fprintf(out, "vfwarden_build_info{version=\"%s\"} 1\n", VFWARDEN_VERSION);
	prom_header("vfwarden_policy_valid", "Whether the policy parses and validates.");
	fprintf(out, "vfwarden_policy_valid %d\n", policy_ok);
	for (unsigned m = 0; m < _M_MAX; m++) {
		prom_header(pf_metrics[m][0], pf_metrics[m][1]);
		for (unsigned i = 0; i < v->n_pfs; i++) {
			unsigned long long val;

			if (pf_metric_value((enum pf_metric)m, &v->pfs[i], &val))
				prom_pf_sample(pf_metrics[m][0], &v->pfs[i], NULL, NULL, val);
		}
	}
	prom_header("vfwarden_pf_last_apply_failures", "Changes the PF's last apply could not make, by attribute.");
	for (unsigned i = 0; i < v->n_pfs; i++)
		for (unsigned k = 0; v->pfs[i].have_last && k < v->pfs[i].last.n_failed; k++)
			prom_pf_sample("vfwarden_pf_last_apply_failures", &v->pfs[i], "attribute",
				       v->pfs[i].last.failed[k].key, v->pfs[i].last.failed[k].count);
	prom_header("vfwarden_policy_pf_present", "Whether a PF the policy names is on the host.");
	for (unsigned i = 0; policy_ok && i < p->n_pfs; i++) {
		fputs("vfwarden_policy_pf_present{label=\"", out);
		prom_label(p->pfs[i].label);
		fprintf(out, "\"} %d\n", v->m.by_sec[i].state != MATCH_NONE);
	}
	prom_last_apply();
}

/* --output: write to FILE.tmp, rename over FILE, as the textfile collector wants. */
static int output_open(const char *path, char *tmp, size_t size)
{
	int fd;

	if (path_join(tmp, size, "%s.tmp", path) < 0)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	out = fdopen(fd, "we");
	if (!out) {
		close(fd);
		return -errno;
	}
	return 0;
}

static int output_close(const char *path, const char *tmp, bool ok)
{
	int r = 0;

	if (fflush(out) != 0 || fsync(fileno(out)) < 0)
		r = -errno;
	fclose(out);
	out = stdout;
	if (r == 0 && ok && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0 || !ok)
		unlink(tmp);
	return r;
}

/* The policy PF an operand names by label, or -1. */
static int policy_find_label(const struct policy *p, const char *spec)
{
	for (unsigned i = 0; i < p->n_pfs; i++)
		if (streq(p->pfs[i].label, spec))
			return (int)i;
	return -1;
}

/*
 * Which PFs to show: every one, or those the operands name (as apply
 * takes them, or by policy label). An operand that names nothing is an
 * error, the rest are still shown: EXIT_OK or EXIT_PARTIAL.
 */
static int select_pfs(const struct policy *p, bool policy_ok, const struct host *h, const struct match *m,
		      const struct cli_operands *ops, bool *host_sel, bool *pol_sel)
{
	int ret = EXIT_OK;

	for (unsigned i = 0; i < h->n_pf; i++)
		host_sel[i] = !ops->n;
	for (unsigned i = 0; policy_ok && i < p->n_pfs; i++)
		pol_sel[i] = !ops->n;
	for (int i = 0; i < ops->n; i++) {
		int k = host_find(h, ops->v[i]), l = policy_ok ? policy_find_label(p, ops->v[i]) : -1;

		if (k >= 0)
			host_sel[k] = true;
		if (l >= 0) {
			pol_sel[l] = true;
			for (unsigned j = 0; j < 2; j++)
				if (m->by_sec[l].pf[j] >= 0)
					host_sel[m->by_sec[l].pf[j]] = true;
			/* A selector section: every PF it governs or is ambiguous on. */
			for (unsigned j = 0; p->pfs[l].selector && j < h->n_pf; j++)
				host_sel[j] |= match_involves(m, (unsigned)l, j);
		}
		if (k < 0 && l < 0) {
			log_err("vfwarden: no SR-IOV PF '%s' on this host or in the policy", ops->v[i]);
			ret = EXIT_PARTIAL;
		}
	}
	return ret;
}

/* Read the selected PFs once: users, VF settings, counts, last apply. 0 or -ENOMEM. */
static int view_fill(struct pf_view *pv, struct pf_live *pf, const struct pf_policy *pol, struct nlh *nl)
{
	int r;

	pv->pf = pf;
	pv->policy = pol;
	pf_scan_users(pf);
	if (pf->ifname[0] && (r = nlh_read_pf(nl, pf)) < 0)
		log_warn("%s: cannot read VF settings: %s", pf->ifname, strerror(-r));
	if (pol && (r = records_overlay(pol, pf, &pv->eff)) < 0)
		return r;
	pol = pv->pol = pol ? &pv->eff : NULL;
	for (unsigned j = 0; j < pf->n_vf; j++) {
		pv->in_use += pf->vf[j].in_use;
		pv->reset_pending += pf->vf[j].reset_pending;
	}
	/* A VF netdev's MTU: of those on a kernel driver (vfio-pci VFs have theirs in the guest). */
	for (unsigned j = 0; j < pf->n_vf; j++)
		if (pf->vf[j].netdev[0] && pf->vf[j].driver[0] && !streq(pf->vf[j].driver, "vfio-pci"))
			nlh_read_mtu(nl, pf->vf[j].netdev, &pf->vf[j].mtu);
	for (unsigned j = 0; pol && j < pf->n_vf && j < pol->vfs; j++)
		pv->drift += vf_drift_mtu(pol, pf, j) != 0;
	pv->have_last = last_apply_read_pf(pf->pci, &pv->last) == 0;
	/* Most drivers have no eswitch (EOPNOTSUPP): the mode stays unknown, silently. */
	if (devlink_eswitch_get(pf->pci, &pf->eswitch_mode) < 0)
		pf->eswitch_mode = ESWITCH_UNSET;
	if (pf->eswitch_mode == ESWITCH_SWITCHDEV && (r = devlink_read_reps(pf)) < 0)
		log_warn("%s: cannot read the representors of its VFs: %s", pf->pci, strerror(-r));
	return 0;
}

static int view_build(struct view *v, const struct policy *p, bool policy_ok, struct host *h,
		      struct nlh *nl, const struct cli_operands *ops)
{
	_cleanup_free_ bool *host_sel = calloc(h->n_pf + 1, sizeof(bool));
	_cleanup_free_ bool *pol_sel = calloc(p->n_pfs + 1, sizeof(bool));
	int ret, r;

	v->pfs = calloc(h->n_pf + 1, sizeof(*v->pfs));
	v->absent = calloc(p->n_pfs + 1, sizeof(*v->absent));
	if (!host_sel || !pol_sel || !v->pfs || !v->absent)
		return -ENOMEM;
	v->host = h;
	v->host_has_pfs = h->n_pf > 0;
	if (policy_ok && match_build(&v->m, p, h) < 0)
		return -ENOMEM;
	ret = select_pfs(p, policy_ok, h, &v->m, ops, host_sel, pol_sel);
	for (unsigned i = 0; i < h->n_pf; i++) {
		struct pf_view *pv = &v->pfs[v->n_pfs];
		const struct pf_policy *pol;

		if (!host_sel[i])
			continue;
		pol = match_policy_of(&v->m, p, i);
		if (pol && !pol->manage) {
			pv->unmanaged = pol;
			pol = NULL;
		}
		if ((r = view_fill(pv, &h->pf[i], pol, nl)) < 0)
			return r;
		if (policy_ok && v->m.by_pf[i].state == MATCH_AMBIGUOUS) {
			const struct match_entry *e = &v->m.by_pf[i];

			pv->amb[0] = p->pfs[e->sec[0]].label;
			pv->amb[1] = e->sec[1] >= 0 ? p->pfs[e->sec[1]].label : NULL;
			match_why_pf(e, p, h, pv->amb_why, sizeof(pv->amb_why));
		}
		v->n_pfs++;
	}
	for (unsigned i = 0; policy_ok && i < p->n_pfs; i++)
		if (pol_sel[i] && v->m.by_sec[i].state == MATCH_NONE)
			v->absent[v->n_absent++] = &p->pfs[i];
	return ret;
}

/*
 * libvirt names the domain of a VF that a running domain uses, also
 * without the hook's record (a domain started before vfwarden was
 * installed or libvirtd loaded the hook).
 */
static void view_add_virt(struct view *v)
{
	v->virt_r = virt_query(&v->virt);
	if (v->virt_r == -ETIMEDOUT)
		log_warn("vfwarden: libvirt did not answer within %us: domains not shown", VIRT_TIMEOUT_MS / 1000);
	else if (v->virt_r == -EIO)
		log_warn("vfwarden: libvirt: %s: domains not shown", v->virt.err);
	else if (v->virt_r == -EOPNOTSUPP)
		log_warn("vfwarden: libvirt runs but its library cannot be loaded: domains not shown");
	for (unsigned i = 0; v->virt_r == 0 && i < v->n_pfs; i++) {
		struct pf_view *pv = &v->pfs[i];

		for (unsigned j = 0; j < pv->pf->n_vf; j++) {
			struct vf_live *vf = &pv->pf->vf[j];
			char names[sizeof(vf->owner) - 7];

			/* A hook record names the domain already; a holding process is kept as its pid. */
			if (strncmp(vf->owner, "domain ", 7) == 0 ||
			    !virt_describe(&v->virt, vf->pci, VIRT_LIVE, true, names, sizeof(names)))
				continue;
			snprintf(vf->owner, sizeof(vf->owner), "domain %s", names);
			pv->in_use += !vf->in_use;
			vf->in_use = true;
		}
	}
}

static int parse_args(int argc, char **argv, struct cli_operands *ops, bool *json, bool *prom,
		      const char **output)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = cli_getopt(argc, argv, "jo:h", opts, ops)) != -1) {
		switch (c) {
		case 1:
			break;
		case 'j':
			*json = true;
			break;
		case 'P':
			*prom = true;
			break;
		case 'o':
			*output = optarg;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (*json && *prom) {
		log_err("vfwarden: --json and --prometheus exclude each other");
		return EXIT_USAGE;
	}
	return -1;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	const char *output = NULL;
	char tmp[PATH_MAX];
	bool json = false, prom = false, policy_ok;
	struct policy p;
	struct host h = { 0 };
	struct nlh *nl = NULL;
	struct view v = { 0 };
	struct cli_operands ops = { .v = calloc((size_t)argc + 1, sizeof(char *)) };
	int r, ret = EXIT_OK;

	out = stdout;
	if (!ops.v)
		return EXIT_SYSTEM;
	if ((r = parse_args(argc, argv, &ops, &json, &prom, &output)) >= 0) {
		free(ops.v);
		return r;
	}
	colour = !json && !prom && !output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (output && (r = output_open(output, tmp, sizeof(tmp))) < 0) {
		log_err("vfwarden: cannot write '%s': %s", output, strerror(-r));
		free(ops.v);
		return EXIT_SYSTEM;
	}
	/* An invalid policy still leaves the host worth showing. */
	policy_ok = cli_load_policy(cli, &p, false) == 0;
	if (!policy_ok) {
		log_err("vfwarden: policy invalid: showing the host without it");
		ret = EXIT_POLICY;
	}
	if ((r = host_scan(&h)) < 0) {
		log_err("vfwarden: cannot read %s/bus/pci/devices: %s", roots.sys, strerror(-r));
		ret = EXIT_SYSTEM;
		goto out;
	}
	if ((r = nlh_open(&nl)) < 0) {
		log_err("vfwarden: cannot open rtnetlink: %s", strerror(-r));
		ret = EXIT_SYSTEM;
		goto out;
	}
	if ((r = view_build(&v, &p, policy_ok, &h, nl, &ops)) < 0) {
		ret = EXIT_SYSTEM;
		goto out;
	}
	if (r != EXIT_OK && ret == EXIT_OK)
		ret = r;
	v.virt_r = -ESRCH;
	if (!prom)
		view_add_virt(&v);
	if (prom)
		prometheus(&p, policy_ok, &v);
	else if (json)
		print_json(&v, policy_ok);
	else if (print_tables(&v) < 0)
		ret = EXIT_SYSTEM;
out:
	if (output && (r = output_close(output, tmp, ret != EXIT_SYSTEM)) < 0) {
		log_err("vfwarden: cannot write '%s': %s", output, strerror(-r));
		ret = EXIT_SYSTEM;
	}
	for (unsigned i = 0; i < v.n_pfs; i++)
		if (v.pfs[i].policy)
			records_overlay_free(v.pfs[i].policy, &v.pfs[i].eff);
	virt_free(&v.virt);
	free(v.pfs);
	free(v.absent);
	match_free(&v.m);
	free(ops.v);
	nlh_close(nl);
	host_free(&h);
	policy_free(&p);
	return ret;
}

const struct command cmd_status = { "status", "show PFs, VFs and drift from the policy", run };
