/* SPDX-License-Identifier: MIT */
/*
 * show: what the policy means on this host, as sshd -T and git config
 * --show-origin show theirs. For each [pf] section: the PF it governs here
 * and why, then every PF key and every VF key with its effective value and
 * where that comes from (FILE:LINE, [defaults] FILE:LINE, or default).
 * VFs whose settings all come from the same lines are one group, so 4096
 * VFs set alike are one block. Only reads: no lock, as status.
 * The JSON form (schema "vfwarden-show/1") is documented in README.md and
 * vfwarden(8).
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "match.h"
#include "vfattr.h"

#define SHOW_SCHEMA "vfwarden-show/1"
/* The column of "# origin" in the text form. */
#define ORIGIN_COL 32

struct show {
	const struct policy *p;
	const struct host *h;
	const struct match *m;
	bool json;
	json_object *settings; /* the object emit() fills, with json */
	unsigned n_shown;      /* blocks printed, text */
	/*
	 * A selector section named by its PF (show enp1s0) shows that PF
	 * alone; by its label, or without operands, every PF it governs.
	 */
	bool *whole; /* per section */
	bool *named; /* per host PF */
};

static void help(void)
{
	printf("Usage: vfwarden [-c FILE] show [--json] [PF...]\n\n"
	       "Show the effective settings of each [pf] section of the policy and of each\n"
	       "of its VFs, every value with where it comes from: FILE:LINE, [defaults]\n"
	       "FILE:LINE, or default (built in); and which PF of this host the section\n"
	       "governs and why. VFs set alike are shown as one range. PF... shows only\n"
	       "those (interface name, PCI address, sysfs path, permanent MAC or policy\n"
	       "label), and says why a PF no section governs is not. --json prints the\n"
	       "same as JSON (vfwarden-show/1).\n");
}

/* Where a setting comes from: "default", "[defaults] FILE:LINE" or "FILE:LINE". */
static const char *origin_text(const struct policy *p, const struct origin *at, char *buf, size_t size)
{
	const struct section *s = policy_section_of(p, at);

	if (!s)
		snprintf(buf, size, "default");
	else
		snprintf(buf, size, "%s%s:%u", s->kind == SECTION_DEFAULTS ? "[defaults] " : "", at->file,
			 at->line);
	return buf;
}

static json_object *origin_json(const struct policy *p, const struct origin *at)
{
	static const char *const kinds[] = { [SECTION_DEFAULTS] = "defaults", [SECTION_PF] = "pf",
					     [SECTION_VF] = "vf" };
	const struct section *s = policy_section_of(p, at);
	json_object *o = json_object_new_object();
	char sn[64];

	json_object_object_add(o, "kind", json_object_new_string(s ? kinds[s->kind] : "default"));
	json_object_object_add(o, "file", s ? json_object_new_string(at->file) : NULL);
	json_object_object_add(o, "line", s ? json_object_new_int((int)at->line) : NULL);
	json_object_object_add(o, "section",
			       s ? json_object_new_string(policy_section_name(s, sn, sizeof(sn))) : NULL);
	return o;
}

/* A VF key's value as the policy writes it: a name, a number, a flag; mac auto, none or the MAC. */
static json_object *vf_value_json(enum vf_key k, const struct vf_conf *c)
{
	char buf[MAC_STR_LEN];

	switch (vf_keys[k].kind) {
	case VK_DRIVER:
		return json_object_new_string(vf_driver_name(c->driver));
	case VK_MAC:
		return json_object_new_string(c->mac_mode == MAC_AUTO	? "auto"
					      : c->mac_mode == MAC_NONE ? "none"
									: format_mac(c->mac, buf));
	case VK_UINT:
		return json_object_new_int64(vf_attr_get(k, &c->attrs));
	case VK_FLAG:
		return json_object_new_boolean(vf_attr_get(k, &c->attrs) > 0);
	case VK_ENUM:
		return json_object_new_string(vf_attr_str(k, &c->attrs, buf, sizeof(buf)));
	}
	return NULL;
}

/*
 * A PF key's value; null where the policy leaves it unset. No default:
 * a new PF key must say here how it is shown (-Wswitch).
 */
static json_object *pf_value_json(const struct pf_policy *pol, enum vf_key k)
{
	json_object *a;
	char id[10];

	switch (k) {
	case KEY_DEVICE:
		return json_object_new_string(pol->device);
	case KEY_VFS:
		return json_object_new_int((int)pol->vfs);
	case KEY_PF_UP:
		return json_object_new_boolean(pol->pf_up);
	case KEY_ALLOW_DOMAIN:
		a = json_object_new_array();
		for (int i = 0; i < _KEY_VF_MAX; i++)
			if (pol->allow_domain & (1u << i))
				json_object_array_add(a, json_object_new_string(vf_key_name((enum vf_key)i)));
		return a;
	case KEY_ESWITCH_MODE:
		return pol->eswitch_mode == ESWITCH_UNSET
			       ? NULL
			       : json_object_new_string(eswitch_mode_name(pol->eswitch_mode));
	case KEY_MANAGE:
		return json_object_new_boolean(pol->manage);
	case KEY_MTU:
		return pol->mtu ? json_object_new_int((int)pol->mtu) : NULL;
	case KEY_DRIVER:
		return pol->sel.driver[0] ? json_object_new_string(pol->sel.driver) : NULL;
	case KEY_PCI_ID:
		snprintf(id, sizeof(id), "%04x:%04x", pol->sel.vendor, pol->sel.device);
		return pol->sel.pci_id ? json_object_new_string(id) : NULL;
	/* VF keys: vf_value_json() */
	case KEY_VF_DRIVER: case KEY_MAC: case KEY_VLAN: case KEY_QOS: case KEY_VLAN_PROTO:
	case KEY_SPOOFCHK: case KEY_TRUST: case KEY_LINK_STATE: case KEY_MAX_TX_RATE:
	case KEY_MIN_TX_RATE: case KEY_QUERY_RSS: case _KEY_MAX:
		break;
	}
	return NULL;
}

/* The text of a value: as the policy would write it ("unset" for null, "none" for an empty list). */
static const char *value_text(json_object *v, char *buf, size_t size)
{
	size_t n = 0, len;

	switch (json_object_get_type(v)) {
	case json_type_null:
		snprintf(buf, size, "unset");
		break;
	case json_type_boolean:
		snprintf(buf, size, "%s", json_object_get_boolean(v) ? "on" : "off");
		break;
	case json_type_int:
		snprintf(buf, size, "%lld", (long long)json_object_get_int64(v));
		break;
	case json_type_array:
		len = json_object_array_length(v);
		snprintf(buf, size, "%s", len ? "" : "none");
		for (size_t i = 0; i < len && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
					      json_object_get_string(json_object_array_get_idx(v, i)));
		break;
	default:
		snprintf(buf, size, "%s", json_object_get_string(v));
		break;
	}
	return buf;
}

/* One setting: "key = value    # origin", or {"value": …, "origin": …} in s->settings. Takes value. */
static void emit(struct show *s, const char *key, json_object *value, const struct origin *at)
{
	char v[256], kv[320], w[300];
	json_object *e;

	if (s->json) {
		e = json_object_new_object();
		json_object_object_add(e, "value", value);
		json_object_object_add(e, "origin", origin_json(s->p, at));
		json_object_object_add(s->settings, key, e);
		return;
	}
	snprintf(kv, sizeof(kv), "%s = %s", key, value_text(value, v, sizeof(v)));
	printf("%-*s  # %s\n", ORIGIN_COL, kv, origin_text(s->p, at, w, sizeof(w)));
	json_object_put(value);
}

/*
 * Why a section governs a PF: one row per key that selects PFs. A row
 * applies when the section sets its key; matched() says what of the PF's
 * matched the value, as words ("interface name") and as the PF has it.
 */
struct why_row {
	enum vf_key key;
	bool (*matched)(const struct pf_policy *pol, const struct pf_live *pf, const char **what,
			char *host, size_t size);
};

static bool device_matched(const struct pf_policy *pol, const struct pf_live *pf, const char **what,
			   char *host, size_t size)
{
	char m[MAC_STR_LEN];

	switch (pol->device_kind) {
	case DEVICE_IFNAME:
		*what = "interface name";
		snprintf(host, size, "%s", pf->ifname);
		break;
	case DEVICE_PCI:
		*what = "PCI address";
		snprintf(host, size, "%s", pf->pci);
		break;
	case DEVICE_MAC:
		*what = "permanent MAC";
		snprintf(host, size, "%s", pf->have_perm_mac ? format_mac(pf->perm_mac, m) : "");
		break;
	}
	return pf_match_policy(pf, pol);
}

static bool driver_matched(const struct pf_policy *pol, const struct pf_live *pf, const char **what,
			   char *host, size_t size)
{
	*what = "driver";
	snprintf(host, size, "%s", pf->driver);
	return pol->selector && pol->sel.driver[0] && streq(pol->sel.driver, pf->driver);
}

static bool pci_id_matched(const struct pf_policy *pol, const struct pf_live *pf, const char **what,
			   char *host, size_t size)
{
	*what = "PCI vendor and device";
	snprintf(host, size, "%04x:%04x", pf->vendor, pf->device_id);
	return pol->selector && pol->sel.pci_id && pf->have_ids && pol->sel.vendor == pf->vendor &&
	       pol->sel.device == pf->device_id;
}

static const struct why_row why_rows[] = {
	{ KEY_DEVICE, device_matched },
	{ KEY_DRIVER, driver_matched },
	{ KEY_PCI_ID, pci_id_matched },
};

static void why(struct show *s, const struct pf_policy *pol, const struct pf_live *pf, json_object *arr)
{
	for (size_t i = 0; i < ELEMENTSOF(why_rows); i++) {
		const struct why_row *r = &why_rows[i];
		const struct origin *at = &pol->key_at[r->key];
		const char *what = "";
		char host[64], v[256], w[300];
		json_object *value, *o;

		if (!at->file || (r->key == KEY_DEVICE && pol->selector) ||
		    !r->matched(pol, pf, &what, host, sizeof(host)))
			continue;
		value = pf_value_json(pol, r->key);
		if (!s->json) {
			printf("# why: %s = %s (%s) matched the %s\n", vf_key_name(r->key),
			       value_text(value, v, sizeof(v)), origin_text(s->p, at, w, sizeof(w)), what);
			json_object_put(value);
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "key", json_object_new_string(vf_key_name(r->key)));
		json_object_object_add(o, "value", value);
		json_object_object_add(o, "origin", origin_json(s->p, at));
		json_object_object_add(o, "matched", json_object_new_string(what));
		json_object_object_add(o, "host", json_object_new_string(host));
		json_object_array_add(arr, o);
	}
}

/* Every setting of two VFs comes from the same line (or both are built in): their values are equal too. */
static bool vf_same(const struct vf_conf *a, const struct vf_conf *b)
{
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (!a->at[k].file != !b->at[k].file || a->at[k].file_idx != b->at[k].file_idx ||
		    a->at[k].line != b->at[k].line)
			return false;
	return true;
}

/* The VFs as ranges of VFs set alike: [vf LABEL 0-6] blocks, or {"first", "last", "settings"}. */
static void show_vfs(struct show *s, const struct pf_policy *pol, json_object *arr)
{
	for (unsigned lo = 0, hi; lo < pol->vfs; lo = hi + 1) {
		json_object *o = NULL;

		for (hi = lo; hi + 1 < pol->vfs && vf_same(&pol->vf[lo], &pol->vf[hi + 1]); hi++)
			;
		if (s->json) {
			o = json_object_new_object();
			json_object_object_add(o, "first", json_object_new_int((int)lo));
			json_object_object_add(o, "last", json_object_new_int((int)hi));
			s->settings = json_object_new_object();
			json_object_object_add(o, "settings", s->settings);
			json_object_array_add(arr, o);
		} else if (lo == hi)
			printf("[vf %s %u]\n", pol->label, lo);
		else
			printf("[vf %s %u-%u]\n", pol->label, lo, hi);
		for (int k = 0; k < _KEY_VF_MAX; k++)
			emit(s, vf_key_name((enum vf_key)k), vf_value_json((enum vf_key)k, &pol->vf[lo]),
			     &pol->vf[lo].at[k]);
	}
}

static json_object *pf_live_json(const struct pf_live *pf)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "interface", pf->ifname[0] ? json_object_new_string(pf->ifname) : NULL);
	json_object_object_add(o, "pci", json_object_new_string(pf->pci));
	json_object_object_add(o, "driver", pf->driver[0] ? json_object_new_string(pf->driver) : NULL);
	return o;
}

/* "0000:01:00.0 (enp1s0, igb)" */
static const char *pf_text(const struct pf_live *pf, char *buf, size_t size)
{
	snprintf(buf, size, "%s (%s, %s)", pf->pci, pf->ifname[0] ? pf->ifname : "no interface",
		 pf->driver[0] ? pf->driver : "no driver");
	return buf;
}

/* Section i's state on this host: "matched" (its PF in *pf), "absent" or "ambiguous" (why in buf). */
static const char *section_state(const struct show *s, unsigned i, const struct pf_live **pf, char *buf,
				 size_t size)
{
	const struct match_entry *e = &s->m->by_sec[i];
	size_t n;

	*pf = NULL;
	buf[0] = '\0';
	switch (e->state) {
	case MATCH_ONE:
		*pf = &s->h->pf[e->pf[0]];
		return "matched";
	case MATCH_NONE:
		snprintf(buf, size, "no SR-IOV PF on this host matches [pf %s]", s->p->pfs[i].label);
		return "absent";
	case MATCH_AMBIGUOUS:
		match_why_section(e, s->p, s->h, buf, size);
		n = strlen(buf);
		snprintf(buf + n, size - n, "; apply leaves it alone");
		return "ambiguous";
	}
	return "?";
}

/* One [pf] block: pol as it applies to pf, or (pf NULL) not matched, state and reason saying why. */
static void show_block(struct show *s, const struct pf_policy *pol, const struct pf_live *pf, const char *state,
		       const char *reason, json_object *pfs)
{
	const struct section *sec = policy_section_of(s->p, &pol->at);
	const struct origin *hdr_at = sec ? &sec->at : &pol->at;
	char w[300], t[128], hdr[80];
	json_object *o, *whys = NULL, *vfs = NULL;

	if (s->json) {
		o = json_object_new_object();
		whys = json_object_new_array();
		vfs = json_object_new_array();
		s->settings = json_object_new_object();
		json_object_object_add(o, "label", json_object_new_string(pol->label));
		json_object_object_add(o, "section", json_object_new_string(pol->section));
		json_object_object_add(o, "origin", origin_json(s->p, hdr_at));
		json_object_object_add(o, "state", json_object_new_string(state));
		json_object_object_add(o, "reason", reason[0] ? json_object_new_string(reason) : NULL);
		json_object_object_add(o, "pf", pf ? pf_live_json(pf) : NULL);
		json_object_object_add(o, "why", whys);
		json_object_object_add(o, "settings", s->settings);
		json_object_object_add(o, "vfs", vfs);
		json_object_array_add(pfs, o);
	} else {
		if (s->n_shown++)
			putchar('\n');
		snprintf(hdr, sizeof(hdr), "[pf %s]", pol->label);
		printf("%-*s  # %s\n", ORIGIN_COL, hdr, origin_text(s->p, hdr_at, w, sizeof(w)));
		if (pf)
			printf("# matched %s\n", pf_text(pf, t, sizeof(t)));
		else
			printf("# not matched (%s): %s\n", state, reason);
	}
	if (pf)
		why(s, pol, pf, whys);
	for (int k = _KEY_VF_MAX; k < _KEY_MAX; k++)
		/* device, or the selectors: only those the section has */
		if (!((k == KEY_DEVICE || k == KEY_DRIVER || k == KEY_PCI_ID) && !pol->key_at[k].file))
			emit(s, vf_key_name((enum vf_key)k), pf_value_json(pol, (enum vf_key)k),
			     &pol->key_at[k]);
	show_vfs(s, pol, vfs);
}

/*
 * Section i: one block, or for a selector section one per PF it selects,
 * as apply converges each (labelled LABEL/IFNAME).
 */
static void show_section(struct show *s, unsigned i, json_object *pfs)
{
	const struct pf_policy *pol = &s->p->pfs[i];
	const struct pf_live *pf;
	char reason[400], sel[96];
	bool shown = false;

	if (!pol->selector) {
		const char *state = section_state(s, i, &pf, reason, sizeof(reason));

		show_block(s, pol, pf, state, reason, pfs);
		return;
	}
	for (unsigned k = 0; k < s->h->n_pf; k++) {
		const struct match_entry *e = &s->m->by_pf[k];

		if (!e->selected || !match_involves(s->m, i, k) || !(s->whole[i] || s->named[k]))
			continue;
		shown = true;
		if (e->state == MATCH_AMBIGUOUS) {
			size_t n = strlen(match_why_pf(e, s->p, s->h, reason, sizeof(reason)));

			snprintf(reason + n, sizeof(reason) - n, "; apply leaves it alone");
			show_block(s, pol, NULL, "ambiguous", reason, pfs);
		} else
			show_block(s, match_policy_of(s->m, s->p, k), &s->h->pf[k], "matched", "", pfs);
	}
	if (!shown) {
		snprintf(reason, sizeof(reason), "no PF on this host that a [pf] with device does not name has %s",
			 pf_select_str(&pol->sel, sel, sizeof(sel)));
		show_block(s, pol, NULL, "absent", reason, pfs);
	}
}

/* A PF named on the command line that no section governs, and why. */
static void show_ungoverned(struct show *s, unsigned k, json_object *arr)
{
	const struct match_entry *e = &s->m->by_pf[k];
	const struct pf_live *pf = &s->h->pf[k];
	char why[300], t[128];
	json_object *o;

	if (e->state == MATCH_AMBIGUOUS) {
		size_t n = strlen(match_why_pf(e, s->p, s->h, why, sizeof(why)));

		snprintf(why + n, sizeof(why) - n, "; apply leaves it alone");
	} else
		snprintf(why, sizeof(why), "no [pf] section names it");
	if (!s->json) {
		if (s->n_shown++)
			putchar('\n');
		printf("# %s: not governed: %s\n", pf_text(pf, t, sizeof(t)), why);
		return;
	}
	o = pf_live_json(pf);
	json_object_object_add(o, "ambiguous", json_object_new_boolean(e->state == MATCH_AMBIGUOUS));
	json_object_object_add(o, "reason", json_object_new_string(why));
	json_object_array_add(arr, o);
}

/* The policy section an operand names by label, or -1. */
static int label_find(const struct policy *p, const char *spec)
{
	for (unsigned i = 0; i < p->n_pfs; i++)
		if (streq(p->pfs[i].label, spec))
			return (int)i;
	return -1;
}

/*
 * What to show: every section, or those the operands name by label or by
 * their PF, and the PFs named that no section governs. An operand that
 * names nothing is an error, the rest are still shown (as status).
 */
static int select_shown(const struct show *s, const struct cli_operands *ops, bool *sec_sel, bool *pf_sel)
{
	int ret = EXIT_OK;

	for (unsigned i = 0; i < s->p->n_pfs; i++)
		sec_sel[i] = s->whole[i] = !ops->n;
	for (int i = 0; i < ops->n; i++) {
		int k = host_find(s->h, ops->v[i]), l = label_find(s->p, ops->v[i]);

		if (l >= 0)
			sec_sel[l] = s->whole[l] = true;
		if (k >= 0 && s->m->by_pf[k].state == MATCH_ONE)
			sec_sel[s->m->by_pf[k].sec[0]] = s->named[k] = true;
		else if (k >= 0)
			pf_sel[k] = true;
		if (k < 0 && l < 0) {
			log_err("vfwarden: no SR-IOV PF '%s' on this host or in the policy", ops->v[i]);
			ret = EXIT_PARTIAL;
		}
	}
	return ret;
}

static json_object *errors_json(const struct policy *p)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < p->n_errors; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(p->errors[i].at.file));
		json_object_object_add(o, "line", json_object_new_int((int)p->errors[i].at.line));
		json_object_object_add(o, "message", json_object_new_string(p->errors[i].msg));
		json_object_array_add(a, o);
	}
	return a;
}

/* Everything selected, as text or as one JSON document; policy_ok false: the errors alone. */
static void show_all(struct show *s, bool policy_ok, const bool *sec_sel, const bool *pf_sel)
{
	json_object *root = NULL, *pfs = NULL, *ung = NULL;

	if (s->json) {
		root = json_object_new_object();
		pfs = json_object_new_array();
		ung = json_object_new_array();
		json_object_object_add(root, "schema", json_object_new_string(SHOW_SCHEMA));
		json_object_object_add(root, "policy_valid", json_object_new_boolean(policy_ok));
		json_object_object_add(root, "errors", errors_json(s->p));
		json_object_object_add(root, "pfs", pfs);
		json_object_object_add(root, "ungoverned", ung);
	}
	for (unsigned i = 0; policy_ok && i < s->p->n_pfs; i++)
		if (sec_sel[i])
			show_section(s, i, pfs);
	for (unsigned k = 0; policy_ok && k < s->h->n_pf; k++)
		if (pf_sel[k])
			show_ungoverned(s, k, ung);
	if (policy_ok && !s->json && !s->p->n_pfs)
		printf("# the policy has no [pf] section\n");
	if (root) {
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_SPACED |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
}

static int parse_args(int argc, char **argv, struct cli_operands *ops, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = cli_getopt(argc, argv, "jh", opts, ops)) != -1) {
		switch (c) {
		case 1:
			break;
		case 'j':
			*json = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	return -1;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	struct cli_operands ops = { .v = calloc((size_t)argc + 1, sizeof(char *)) };
	struct show s = { 0 };
	struct policy p;
	struct host h = { 0 };
	struct match m = { 0 };
	_cleanup_free_ bool *sec_sel = NULL, *pf_sel = NULL, *whole = NULL, *named = NULL;
	bool policy_ok;
	int r, ret = EXIT_OK;

	if (!ops.v)
		return EXIT_SYSTEM;
	if ((r = parse_args(argc, argv, &ops, &s.json)) >= 0) {
		free(ops.v);
		return r;
	}
	policy_ok = cli_load_policy(cli, &p, false) == 0;
	if (!policy_ok) {
		log_err("vfwarden: policy invalid: nothing to show");
		ret = EXIT_POLICY;
	}
	/* Without the host's PFs the policy is still worth showing: every section "absent". */
	if ((r = host_scan(&h)) < 0) {
		log_warn("vfwarden: cannot read %s/bus/pci/devices: %s: no PF matched", roots.sys, strerror(-r));
		host_free(&h);
		h = (struct host){ 0 };
	}
	sec_sel = calloc(p.n_pfs + 1, sizeof(bool));
	pf_sel = calloc(h.n_pf + 1, sizeof(bool));
	s.whole = whole = calloc(p.n_pfs + 1, sizeof(bool));
	s.named = named = calloc(h.n_pf + 1, sizeof(bool));
	if (!sec_sel || !pf_sel || !whole || !named || (policy_ok && match_build(&m, &p, &h) < 0)) {
		ret = EXIT_SYSTEM;
		goto out;
	}
	s.p = &p;
	s.h = &h;
	s.m = &m;
	if (policy_ok && (r = select_shown(&s, &ops, sec_sel, pf_sel)) != EXIT_OK)
		ret = r;
	show_all(&s, policy_ok, sec_sel, pf_sel);
out:
	match_free(&m);
	free(ops.v);
	host_free(&h);
	policy_free(&p);
	return ret;
}

const struct command cmd_show = { "show", "show the effective policy, each value with its origin", run };
