/* SPDX-License-Identifier: MIT */
/*
 * status: every SR-IOV PF on the host and its VFs, as the kernel reports
 * them, with the policy's label and a drift mark where they differ.
 * The JSON form (schema "vfwarden-status/1") is documented in README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "state.h"

/* stdout, or the temporary file behind --output. */
static FILE *out;

static void help(void)
{
	printf("Usage: vfwarden [-c FILE] status [--json | --prometheus] [--output FILE]\n\n"
	       "Show every SR-IOV PF and its VFs; a '*' marks a value that differs from the\n"
	       "policy and DRIFT lists those keys. --json prints the same as JSON;\n"
	       "--prometheus prints metrics in the node_exporter textfile format.\n"
	       "--output FILE replaces FILE atomically instead of writing to stdout.\n");
}

static const char *flag_str(int v)
{
	return v < 0 ? "-" : v ? "on" : "off";
}

/* The DRIFT column: "vfs" when the VF count differs, then the VF's keys. */
static void drift_list(bool count_drift, uint32_t d, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (count_drift)
		n = (size_t)snprintf(buf, size, "vfs");
	for (int k = 0; k < _KEY_VF_MAX; k++)
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

static json_object *vf_json(const struct vf_live *vf, uint32_t drift, bool managed)
{
	json_object *o = json_object_new_object(), *d = json_object_new_array();
	char m[MAC_STR_LEN];

	json_object_object_add(o, "index", json_object_new_int((int)vf->idx));
	json_object_object_add(o, "pci", json_object_new_string(vf->pci));
	json_object_object_add(o, "driver", vf->driver[0] ? json_object_new_string(vf->driver) : NULL);
	json_object_object_add(o, "netdev", vf->netdev[0] ? json_object_new_string(vf->netdev) : NULL);
	json_object_object_add(o, "iommu_group", vf->iommu_group >= 0 ? json_object_new_int(vf->iommu_group) : NULL);
	if (vf->nl_valid) {
		json_object_object_add(o, "mac", json_object_new_string(format_mac(vf->mac, m)));
		json_object_object_add(o, "vlan", json_object_new_int((int)vf->vlan));
		json_object_object_add(o, "qos", json_object_new_int((int)vf->qos));
		json_object_object_add(o, "vlan_proto", json_object_new_string(vlan_proto_name(vf->vlan_proto)));
		json_object_object_add(o, "spoofchk", json_flag(vf->spoofchk));
		json_object_object_add(o, "trust", json_flag(vf->trust));
		json_object_object_add(o, "link_state",
				       vf->link_state < 0 ? NULL
							  : json_object_new_string(link_state_name((enum link_state)vf->link_state)));
		json_object_object_add(o, "max_tx_rate", json_object_new_int64(vf->max_tx_rate));
		json_object_object_add(o, "min_tx_rate", json_object_new_int64(vf->min_tx_rate));
		json_object_object_add(o, "query_rss", json_flag(vf->query_rss));
	}
	json_object_object_add(o, "in_use", json_object_new_boolean(vf->in_use));
	json_object_object_add(o, "owner", vf->owner[0] ? json_object_new_string(vf->owner) : NULL);
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (drift & (1u << k))
			json_object_array_add(d, json_object_new_string(vf_key_name((enum vf_key)k)));
	json_object_object_add(o, "managed", json_object_new_boolean(managed));
	json_object_object_add(o, "drift", d);
	return o;
}

#define MARK(bit) ((drift & (1u << (bit))) ? "*" : "")

/* Colour only on a terminal, and never with NO_COLOR set. */
static bool colour;
static const int widths[] = { 10, 10, 12, 3, 12, 9, 18, 14, 5, 5, 7, 9, 12, 0 };

/*
 * One row, aligned by the visible width: drift (a '*' value, the DRIFT
 * list) in red, a VF in use in bold, what the driver does not report dim.
 */
static void print_cells(const char *const cells[ELEMENTSOF(widths)])
{
	for (size_t i = 0; i < ELEMENTSOF(widths); i++) {
		const char *c = cells[i], *on = "";
		size_t n = strlen(c);
		bool last = i + 1 == ELEMENTSOF(widths);

		if (colour && n && c[n - 1] == '*')
			on = "\033[1;31m";
		else if (colour && last && !streq(c, "-"))
			on = "\033[31m";
		else if (colour && i == 12 && !streq(c, "-"))
			on = "\033[1m";
		else if (colour && i >= 8 && i <= 10 && streq(c, "-"))
			on = "\033[2m";
		fprintf(out, "%s%s%s", on, c, *on ? "\033[0m" : "");
		if (!last)
			fprintf(out, "%*s", (int)(n < (size_t)widths[i] ? (size_t)widths[i] - n : 0) + 1, "");
	}
	fputc('\n', out);
}

static void print_row(const char *label, const struct pf_live *pf, const struct vf_live *vf,
		      bool count_drift, uint32_t drift)
{
	char m[MAC_STR_LEN], vlan[32], rate[32], dl[160], mac[24];

	if (!vf) {
		fprintf(out, "%-10s %-10s %-12s %-3s %-12s %-9s %-18s %-14s %-5s %-5s %-7s %-9s %-12s %s\n", label,
		       pf->ifname[0] ? pf->ifname : "-", pf->pci, "-", "-", "-", "-", "-", "-", "-", "-", "-",
		       "-", count_drift ? "vfs" : "-");
		return;
	}
	drift_list(count_drift, drift, dl, sizeof(dl));
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
	char sp[8], tr[8], ls[12], drv[40];

	snprintf(sp, sizeof(sp), "%s%s", vf->nl_valid ? flag_str(vf->spoofchk) : "-", MARK(KEY_SPOOFCHK));
	snprintf(tr, sizeof(tr), "%s%s", vf->nl_valid ? flag_str(vf->trust) : "-", MARK(KEY_TRUST));
	snprintf(ls, sizeof(ls), "%s%s",
		 vf->nl_valid && vf->link_state >= 0 ? link_state_name((enum link_state)vf->link_state) : "-",
		 MARK(KEY_LINK_STATE));
	snprintf(drv, sizeof(drv), "%s%s", vf->driver[0] ? vf->driver : "none", MARK(KEY_VF_DRIVER));
	char idx[12];
	const char *cells[] = { label, pf->ifname[0] ? pf->ifname : "-", pf->pci, idx, vf->pci, drv, mac,
				vlan, sp, tr, ls, rate, vf->owner[0] ? vf->owner : "-", dl };

	snprintf(idx, sizeof(idx), "%u", vf->idx);
	print_cells(cells);
}

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

static void prom_pf(const char *metric, const struct pf_live *pf, const struct pf_policy *pol,
		    unsigned long value)
{
	fprintf(out, "%s{pf=\"", metric);
	prom_label(pf->ifname[0] ? pf->ifname : "");
	fprintf(out, "\",pci=\"%s\",label=\"", pf->pci);
	prom_label(pol ? pol->label : "");
	fprintf(out, "\"} %lu\n", value);
}

static const char *const prom_help[][3] = {
	{ "vfwarden_pf_vfs", "gauge", "VFs present on the PF (sriov_numvfs)." },
	{ "vfwarden_pf_vfs_wanted", "gauge", "VFs the policy wants on the PF (absent when unmanaged)." },
	{ "vfwarden_pf_vfs_total", "gauge", "VFs the PF can have (sriov_totalvfs)." },
	{ "vfwarden_pf_vfs_in_use", "gauge", "VFs in use by a VM (open vfio group or hook record)." },
	{ "vfwarden_pf_vfs_drift", "gauge", "Managed VFs whose live settings differ from the policy." },
};

static void prom_header(unsigned i)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", prom_help[i][0], prom_help[i][2], prom_help[i][0],
		prom_help[i][1]);
}

static void prom_last_apply(bool policy_ok)
{
	struct last_apply l;

	fprintf(out, "# HELP vfwarden_policy_valid Whether the policy parses and validates.\n"
		     "# TYPE vfwarden_policy_valid gauge\nvfwarden_policy_valid %d\n", policy_ok);
	if (last_apply_read(&l) < 0)
		return;
	fprintf(out, "# HELP vfwarden_last_apply_timestamp_seconds When the last apply ran.\n"
		     "# TYPE vfwarden_last_apply_timestamp_seconds gauge\n"
		     "vfwarden_last_apply_timestamp_seconds %lld\n", (long long)l.time);
	fprintf(out, "# HELP vfwarden_last_apply_exit_status Exit status of the last apply (0: all of the policy holds).\n"
		     "# TYPE vfwarden_last_apply_exit_status gauge\nvfwarden_last_apply_exit_status %d\n", l.status);
	fprintf(out, "# HELP vfwarden_last_apply_changes Changes the last apply made.\n"
		     "# TYPE vfwarden_last_apply_changes gauge\nvfwarden_last_apply_changes %u\n", l.changes);
	fprintf(out, "# HELP vfwarden_last_apply_failures Changes the last apply could not make, by attribute.\n"
		     "# TYPE vfwarden_last_apply_failures gauge\n");
	for (unsigned i = 0; i < l.n_failed; i++) {
		fprintf(out, "vfwarden_last_apply_failures{attribute=\"");
		prom_label(l.failed[i].key);
		fprintf(out, "\"} %u\n", l.failed[i].count);
	}
}

static int prometheus(const struct policy *p, bool policy_ok, struct host *h, struct nlh *nl)
{
	for (unsigned m = 0; m < ELEMENTSOF(prom_help); m++) {
		prom_header(m);
		for (unsigned i = 0; i < h->n_pf; i++) {
			struct pf_live *pf = &h->pf[i];
			int k = policy_ok ? cli_policy_for(p, pf) : -1;
			const struct pf_policy *pol = k >= 0 ? &p->pfs[k] : NULL;
			unsigned long v = 0;

			if (m == 0) {
				/* read once, on the first metric */
				pf_scan_users(pf);
				if (pf->ifname[0])
					nlh_read_pf(nl, pf);
			}
			switch (m) {
			case 0: v = pf->numvfs; break;
			case 1:
				if (!pol)
					continue;
				v = pol->vfs;
				break;
			case 2: v = pf->totalvfs; break;
			case 3:
				for (unsigned j = 0; j < pf->n_vf; j++)
					v += pf->vf[j].in_use;
				break;
			case 4:
				if (!pol)
					continue;
				for (unsigned j = 0; j < pf->n_vf && j < pol->vfs; j++) {
					struct vf_live want;

					vf_wanted(pol, pf, j, &want);
					v += vf_drift(pol, &want, &pf->vf[j]) != 0;
				}
				break;
			}
			prom_pf(prom_help[m][0], pf, pol, v);
		}
	}
	prom_last_apply(policy_ok);
	return 0;
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

static int run(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *output = NULL;
	char tmp[PATH_MAX];
	bool prom = false;
	struct policy p;
	struct host h = { 0 };
	struct nlh *nl = NULL;
	bool json = false, policy_ok;
	json_object *root = NULL, *pfs = NULL;
	struct cli_operands ops = { 0 };
	int c, r, ret = EXIT_OK;

	out = stdout;
	while ((c = cli_getopt(argc, argv, "jo:h", opts, &ops)) != -1) {
		switch (c) {
		case 1:
			break;
		case 'j':
			json = true;
			break;
		case 'P':
			prom = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (ops.n) {
		log_err("vfwarden status: unexpected argument '%s'", ops.first);
		return EXIT_USAGE;
	}
	if (json && prom) {
		log_err("vfwarden status: --json and --prometheus exclude each other");
		return EXIT_USAGE;
	}
	colour = !json && !prom && !output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (output && (r = output_open(output, tmp, sizeof(tmp))) < 0) {
		log_err("vfwarden status: cannot write '%s': %s", output, strerror(-r));
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
	if (prom) {
		prometheus(&p, policy_ok, &h, nl);
		goto out;
	}
	if (json) {
		root = json_object_new_object();
		pfs = json_object_new_array();
		json_object_object_add(root, "schema", json_object_new_string("vfwarden-status/1"));
		json_object_object_add(root, "policy_valid", json_object_new_boolean(policy_ok));
		json_object_object_add(root, "pfs", pfs);
	} else
		fprintf(out, "%-10s %-10s %-12s %-3s %-12s %-9s %-18s %-14s %-5s %-5s %-7s %-9s %-12s %s\n", "PF",
		       "IFACE", "PCI", "VF", "VF-PCI", "DRIVER", "MAC", "VLAN/QOS", "SPOOF", "TRUST", "LINK",
		       "RATE", "OWNER", "DRIFT");

	for (unsigned i = 0; i < h.n_pf; i++) {
		struct pf_live *pf = &h.pf[i];
		int k = policy_ok ? cli_policy_for(&p, pf) : -1;
		const struct pf_policy *pol = k >= 0 ? &p.pfs[k] : NULL;
		bool count_drift = pol && pol->vfs != pf->numvfs;
		json_object *o = NULL, *vfs = NULL;
		char m[MAC_STR_LEN];

		pf_scan_users(pf);
		if (pf->ifname[0] && (r = nlh_read_pf(nl, pf)) < 0)
			log_warn("%s: cannot read VF settings: %s", pf->ifname, strerror(-r));
		if (json) {
			o = json_object_new_object();
			vfs = json_object_new_array();
			json_object_object_add(o, "label", pol ? json_object_new_string(pol->label) : NULL);
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
			json_object_object_add(o, "drift", json_object_new_boolean(count_drift));
			json_object_object_add(o, "vfs", vfs);
			json_object_array_add(pfs, o);
		}
		if (!pf->n_vf && !json)
			print_row(pol ? pol->label : "-", pf, NULL, count_drift, 0);
		for (unsigned v = 0; v < pf->n_vf; v++) {
			struct vf_live want;
			uint32_t d = 0;
			bool managed = pol && v < pol->vfs;

			if (managed) {
				vf_wanted(pol, pf, v, &want);
				d = vf_drift(pol, &want, &pf->vf[v]);
			}
			if (json)
				json_object_array_add(vfs, vf_json(&pf->vf[v], d, managed));
			else
				print_row(pol ? pol->label : "-", pf, &pf->vf[v], count_drift, d);
		}
	}
	if (json)
		fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_SPACED |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	if (output && (r = output_close(output, tmp, ret != EXIT_SYSTEM)) < 0) {
		log_err("vfwarden status: cannot write '%s': %s", output, strerror(-r));
		ret = EXIT_SYSTEM;
	}
	json_object_put(root);
	nlh_close(nl);
	host_free(&h);
	policy_free(&p);
	return ret;
}

const struct command cmd_status = { "status", "show PFs, VFs and drift from the policy", run };
