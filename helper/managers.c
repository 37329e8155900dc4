/* SPDX-License-Identifier: MIT */
/* Other tools' SR-IOV settings, found in their files (managers.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>

#include "managers.h"

static const char *const kind_names[_MGR_MAX] = {
	[MGR_NM] = "NetworkManager",
	[MGR_LINK] = "systemd .link",
	[MGR_NETWORK] = "systemd-networkd",
	[MGR_NETPLAN] = "netplan",
	[MGR_SCRIPT] = "a script",
};

const char *manager_kind_name(enum manager_kind k)
{
	return k < _MGR_MAX ? kind_names[k] : "?";
}

/* Directories of each kind, the one that wins a file name first (as each tool masks). */
static const char *const nm_dirs[] = { "/etc/NetworkManager/system-connections",
				       "/run/NetworkManager/system-connections",
				       "/usr/lib/NetworkManager/system-connections", NULL };
static const char *const networkd_dirs[] = { "/etc/systemd/network", "/run/systemd/network",
					     "/usr/local/lib/systemd/network", "/usr/lib/systemd/network",
					     "/lib/systemd/network", NULL };
static const char *const netplan_dirs[] = { "/run/netplan", "/etc/netplan", "/lib/netplan", NULL };
static const char *const unit_dirs[] = { "/etc/systemd/system", NULL };

struct scan {
	const struct host *h;
	const bool *named;
	uint8_t (*mac)[MAC_LEN]; /* each PF's current address, from sysfs */
	bool *have_mac;
	struct manager_hits *out;
	const char *path; /* the file being read */
};

static struct manager_hit *hit_add(struct scan *s, enum manager_kind k, int pf, unsigned line, const char *what)
{
	struct manager_hit *x;

	if (s->out->n == MANAGERS_HITS_MAX) {
		s->out->truncated = true;
		return NULL;
	}
	x = &s->out->hit[s->out->n++];
	x->kind = k;
	x->pf = pf;
	x->line = line;
	x->unread = 0;
	snprintf(x->what, sizeof(x->what), "%s", what);
	snprintf(x->file, sizeof(x->file), "%s", s->path);
	return x;
}

static bool pf_has_mac(const struct scan *s, unsigned k, const char *text)
{
	const struct pf_live *pf = &s->h->pf[k];
	uint8_t m[MAC_LEN];

	if (parse_mac(text, m) < 0)
		return false;
	return (pf->have_perm_mac && memcmp(pf->perm_mac, m, MAC_LEN) == 0) ||
	       (s->have_mac[k] && memcmp(s->mac[k], m, MAC_LEN) == 0);
}

/* A regular file, whole, NUL-terminated: -EFBIG when larger than the cap, -EINVAL not a file (masked). */
static int read_small(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL; /* a symlink to /dev/null masks a file: nothing to read */
	if (st.st_size > MANAGERS_FILE_MAX)
		return -EFBIG;
	if (!(buf = malloc(MANAGERS_FILE_MAX + 2)))
		return -ENOMEM;
	/* The size may grow after fstat(): read to one past the cap to know. */
	while ((n = read(fd, buf + len, MANAGERS_FILE_MAX + 1 - len)) > 0)
		if ((len += (size_t)n) > MANAGERS_FILE_MAX)
			return -EFBIG;
	if (n < 0)
		return -errno;
	buf[len] = '\0';
	*ret = buf;
	buf = NULL;
	return 0;
}

/* The next line of *cur (split in place), its leading and trailing blanks cut; NULL at the end. */
static char *next_line(char **cur, unsigned *lineno)
{
	char *l = *cur, *nl, *e;

	if (!l || !*l)
		return NULL;
	nl = strchr(l, '\n');
	*cur = nl ? nl + 1 : NULL;
	if (nl)
		*nl = '\0';
	(*lineno)++;
	e = l + strlen(l);
	while (e > l && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return l;
}

struct mfile {
	unsigned dir;
	char name[256];
};

static int mfile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mfile *)a)->name, ((const struct mfile *)b)->name);
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return name[0] != '.' && n > m && streq(name + n - m, suffix);
}

/* Adds dir's files ending in suffix that no earlier directory had. */
static int collect_dir(unsigned di, const char *dir, const char *suffix, struct mfile *f, unsigned *n)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (path_join(p, sizeof(p), "%s%s", roots.etc, dir) < 0 || !(d = opendir(p)))
		return 0;
	while ((e = readdir(d)) && *n < MANAGERS_DIR_FILES_MAX) {
		bool seen = false;

		if (!has_suffix(e->d_name, suffix) || strlen(e->d_name) >= sizeof(f->name))
			continue;
		for (unsigned i = 0; i < *n && !seen; i++)
			seen = streq(f[i].name, e->d_name);
		if (seen)
			continue;
		f[*n].dir = di;
		snprintf(f[*n].name, sizeof(f->name), "%s", e->d_name);
		(*n)++;
	}
	closedir(d);
	return 0;
}

typedef void (*file_fn)(struct scan *s, char *text);

/*
 * One file given to fn. One that exists but cannot be read (too large, no
 * permission: NetworkManager keyfiles are 0600) is a hit of its own, for
 * any PF: it may set VFs. A masked one (not a regular file) is nothing.
 */
static int scan_file(struct scan *s, enum manager_kind k, const char *path, file_fn fn)
{
	_cleanup_free_ char *text = NULL;
	struct manager_hit *x;
	int r;

	s->path = path;
	r = read_small(path, &text);
	if (r == -ENOMEM)
		return r;
	if (r < 0 && r != -ENOENT && r != -EINVAL && (x = hit_add(s, k, MGR_ANY_PF, 0, "")))
		x->unread = -r;
	if (r == 0)
		fn(s, text);
	return 0;
}

/* Every file of a kind, by name as the tool orders them, each read whole and given to fn. */
static int scan_kind(struct scan *s, enum manager_kind k, const char *const *dirs, const char *suffix,
		     file_fn fn)
{
	_cleanup_free_ struct mfile *f = calloc(MANAGERS_DIR_FILES_MAX, sizeof(*f));
	char p[PATH_MAX];
	unsigned n = 0;

	if (!f)
		return -ENOMEM;
	for (unsigned di = 0; dirs[di]; di++)
		collect_dir(di, dirs[di], suffix, f, &n);
	qsort(f, n, sizeof(*f), mfile_cmp);
	for (unsigned i = 0; i < n; i++)
		if (path_join(p, sizeof(p), "%s%s/%s", roots.etc, dirs[f[i].dir], f[i].name) == 0 &&
		    scan_file(s, k, p, fn) < 0)
			return -ENOMEM;
	return 0;
}

/* ---- INI-like files: NetworkManager keyfiles, systemd units ---- */

typedef void (*ini_fn)(void *st, const char *sec, const char *key, const char *val, unsigned line);

/* Calls fn for each key=value and once per section header (key NULL). */
static void ini_walk(char *text, ini_fn fn, void *st)
{
	char sec[64] = "", *l, *eq;
	unsigned line = 0;

	while ((l = next_line(&text, &line))) {
		while (isspace((unsigned char)*l))
			l++;
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			size_t n = strcspn(l + 1, "]");

			snprintf(sec, sizeof(sec), "%.*s", (int)n, l + 1);
			fn(st, sec, NULL, NULL, line);
			continue;
		}
		if (!(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		for (char *e = eq; e > l && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		eq++;
		while (isspace((unsigned char)*eq))
			eq++;
		fn(st, sec, l, eq, line);
	}
}

struct nm_conn {
	unsigned sriov_line;
	char ifname[64];
	char mac[64];
};

static void nm_key(void *st, const char *sec, const char *key, const char *val, unsigned line)
{
	struct nm_conn *c = st;

	if (!key && streq(sec, "sriov") && !c->sriov_line)
		c->sriov_line = line;
	else if (key && streq(sec, "connection") && streq(key, "interface-name"))
		snprintf(c->ifname, sizeof(c->ifname), "%s", val);
	else if (key && (streq(sec, "ethernet") || streq(sec, "802-3-ethernet")) && streq(key, "mac-address"))
		snprintf(c->mac, sizeof(c->mac), "%s", val);
}

/* A connection binds to a device by interface-name and mac-address (NetworkManager: the permanent one). */
static void nm_file(struct scan *s, char *text)
{
	struct nm_conn c = { 0 };

	ini_walk(text, nm_key, &c);
	if (!c.sriov_line)
		return;
	if (!c.ifname[0] && !c.mac[0]) {
		hit_add(s, MGR_NM, MGR_ANY_PF, c.sriov_line, "[sriov]");
		return;
	}
	for (unsigned k = 0; k < s->h->n_pf; k++)
		if (s->named[k] && (!c.ifname[0] || streq(c.ifname, s->h->pf[k].ifname)) &&
		    (!c.mac[0] || pf_has_mac(s, k, c.mac)))
			hit_add(s, MGR_NM, (int)k, c.sriov_line, "[sriov]");
}

/* ---- systemd .link and .network: [Match] ---- */

enum { M_NAME, M_MAC, M_PERM_MAC, M_DRIVER, M_PATH, _M_MAX };

struct sd_file {
	bool link;             /* .link: OriginalName=, SR-IOVVirtualFunctions= */
	bool any_match;        /* [Match] has a key: an empty [Match] makes systemd ignore the file */
	char cond[_M_MAX][512]; /* each key's values, space-separated, as systemd accumulates them */
	bool invert[_M_MAX];
	unsigned sriov_line;
	const char *what;
};

static int sd_match_key(const struct sd_file *f, const char *key)
{
	if (streq(key, f->link ? "OriginalName" : "Name"))
		return M_NAME;
	if (streq(key, "MACAddress"))
		return M_MAC;
	if (streq(key, "PermanentMACAddress"))
		return M_PERM_MAC;
	if (streq(key, "Driver"))
		return M_DRIVER;
	if (streq(key, "Path"))
		return M_PATH;
	return -1; /* Type=, Property=, Host=...: not modelled, counted as matching */
}

static void sd_key(void *st, const char *sec, const char *key, const char *val, unsigned line)
{
	struct sd_file *f = st;
	int m;

	if (!key) {
		if (streq(sec, "SR-IOV") && !f->sriov_line) {
			f->sriov_line = line;
			f->what = "[SR-IOV]";
		}
		return;
	}
	if (f->link && streq(sec, "Link") && streq(key, "SR-IOVVirtualFunctions") && *val) {
		f->sriov_line = line;
		f->what = "SR-IOVVirtualFunctions=";
	}
	if (!streq(sec, "Match"))
		return;
	f->any_match = true;
	if ((m = sd_match_key(f, key)) < 0)
		return;
	if (!*val) { /* an empty assignment resets the list */
		f->cond[m][0] = '\0';
		f->invert[m] = false;
		return;
	}
	if (*val == '!') {
		f->invert[m] = true;
		val++;
	}
	size_t n = strlen(f->cond[m]);

	snprintf(f->cond[m] + n, sizeof(f->cond[m]) - n, "%s%s", n ? " " : "", val);
}

/* Whether one of the space-separated patterns matches: globs, or MAC addresses. */
static bool sd_list_matches(const struct scan *s, unsigned k, int m, const char *list, const char *value)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (m == M_MAC || m == M_PERM_MAC) {
			uint8_t a[MAC_LEN];
			const struct pf_live *pf = &s->h->pf[k];

			if (parse_mac(t, a) < 0)
				continue;
			if (m == M_MAC ? s->have_mac[k] && !memcmp(s->mac[k], a, MAC_LEN)
				       : pf->have_perm_mac && !memcmp(pf->perm_mac, a, MAC_LEN))
				return true;
		} else if (value[0] && fnmatch(t, value, 0) == 0)
			return true;
	}
	return false;
}

/*
 * systemd's [Match]: every key given must match. OriginalName= is held
 * against the PF's name now, not the kernel's name before udev renamed it.
 */
static bool sd_matches(const struct scan *s, const struct sd_file *f, unsigned k)
{
	const struct pf_live *pf = &s->h->pf[k];
	char path[32];

	snprintf(path, sizeof(path), "pci-%s", pf->pci);
	const char *value[_M_MAX] = { [M_NAME] = pf->ifname, [M_DRIVER] = pf->driver, [M_PATH] = path };

	for (int m = 0; m < _M_MAX; m++)
		if (f->cond[m][0] && sd_list_matches(s, k, m, f->cond[m], value[m] ? value[m] : "") == f->invert[m])
			return false;
	return true;
}

static void sd_file(struct scan *s, char *text, bool link)
{
	struct sd_file f = { .link = link };

	ini_walk(text, sd_key, &f);
	if (!f.sriov_line || !f.any_match)
		return;
	for (unsigned k = 0; k < s->h->n_pf; k++)
		if (s->named[k] && sd_matches(s, &f, k))
			hit_add(s, link ? MGR_LINK : MGR_NETWORK, (int)k, f.sriov_line, f.what);
}

static void link_file(struct scan *s, char *text)
{
	sd_file(s, text, true);
}

static void network_file(struct scan *s, char *text)
{
	sd_file(s, text, false);
}

/* ---- netplan: a line scan of the YAML's block style ---- */

#define NETPLAN_ENTRIES_MAX 64

struct np_entry {
	char id[64];
	bool has_match;
	char name[64], mac[32], driver[64]; /* match: */
	unsigned vfc_line;                 /* virtual-function-count: */
	char link[64];                     /* link: (this entry is a VF of that one) */
	unsigned link_line;
};

struct np_state {
	int eth_indent, entry_indent, match_indent; /* -1: not inside */
	struct np_entry e[NETPLAN_ENTRIES_MAX];
	unsigned n;
};

/* "key: value" into key and value (quotes and a trailing comment cut); false for other lines. */
static bool yaml_kv(char *l, char **key, char **val)
{
	char *c = strchr(l, ':'), *v, *h;

	if (!c || l[0] == '-')
		return false;
	*c = '\0';
	v = c + 1;
	while (isspace((unsigned char)*v))
		v++;
	if ((h = strstr(v, " #")))
		*h = '\0';
	for (char *e = v + strlen(v); e > v && isspace((unsigned char)e[-1]);)
		*--e = '\0';
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		v++;
	}
	n = strlen(l);
	if (n >= 2 && (l[0] == '"' || l[0] == '\'') && l[n - 1] == l[0]) {
		l[n - 1] = '\0';
		l++;
	}
	*key = l;
	*val = v;
	return true;
}

static void np_entry_key(struct np_state *st, int ind, const char *key, const char *val, unsigned line)
{
	struct np_entry *e = &st->e[st->n - 1];

	if (st->match_indent >= 0 && ind > st->match_indent) {
		if (streq(key, "name"))
			snprintf(e->name, sizeof(e->name), "%s", val);
		else if (streq(key, "macaddress"))
			snprintf(e->mac, sizeof(e->mac), "%s", val);
		else if (streq(key, "driver"))
			snprintf(e->driver, sizeof(e->driver), "%s", val);
		return;
	}
	st->match_indent = -1;
	if (streq(key, "match")) {
		e->has_match = true;
		st->match_indent = ind;
	} else if (streq(key, "virtual-function-count") && !e->vfc_line)
		e->vfc_line = line;
	else if (streq(key, "link") && ind > st->entry_indent && *val) {
		snprintf(e->link, sizeof(e->link), "%s", val);
		e->link_line = line;
	}
}

static void np_line(struct np_state *st, int ind, const char *key, const char *val, unsigned line)
{
	if (st->eth_indent >= 0 && ind <= st->eth_indent)
		st->eth_indent = -1;
	if (st->eth_indent < 0) {
		if (streq(key, "ethernets") && !*val) {
			st->eth_indent = ind;
			st->entry_indent = -1;
		}
		return;
	}
	if (st->entry_indent < 0)
		st->entry_indent = ind;
	if (ind == st->entry_indent) {
		st->match_indent = -1;
		if (st->n == NETPLAN_ENTRIES_MAX)
			return;
		memset(&st->e[st->n], 0, sizeof(st->e[0]));
		snprintf(st->e[st->n++].id, sizeof(st->e[0].id), "%s", key);
		return;
	}
	if (st->n && ind > st->entry_indent)
		np_entry_key(st, ind, key, val, line);
}

/* netplan: match: name/macaddress/driver, else the ID is the interface's name. */
static bool np_matches(const struct scan *s, const struct np_entry *e, unsigned k)
{
	const struct pf_live *pf = &s->h->pf[k];

	if (!e->has_match)
		return streq(e->id, pf->ifname);
	if (!e->name[0] && !e->mac[0] && !e->driver[0])
		return false;
	return (!e->name[0] || (pf->ifname[0] && fnmatch(e->name, pf->ifname, 0) == 0)) &&
	       (!e->mac[0] || pf_has_mac(s, k, e->mac)) &&
	       (!e->driver[0] || (pf->driver[0] && fnmatch(e->driver, pf->driver, 0) == 0));
}

/* One PF entry's hits: its own count, and the VF entries that name it with link:. */
static void np_entry_hits(struct scan *s, const struct np_state *st, const struct np_entry *e)
{
	unsigned vf_line = 0;

	for (unsigned j = 0; j < st->n && !vf_line; j++)
		if (streq(st->e[j].link, e->id))
			vf_line = st->e[j].link_line;
	if (!e->vfc_line && !vf_line)
		return;
	for (unsigned k = 0; k < s->h->n_pf; k++)
		if (s->named[k] && np_matches(s, e, k))
			hit_add(s, MGR_NETPLAN, (int)k, e->vfc_line ? e->vfc_line : vf_line,
				e->vfc_line ? "virtual-function-count" : "link: of a VF entry");
}

static void netplan_file(struct scan *s, char *text)
{
	_cleanup_free_ struct np_state *st = calloc(1, sizeof(*st));
	unsigned line = 0;
	char *l, *key, *val;

	if (!st)
		return;
	st->eth_indent = st->entry_indent = st->match_indent = -1;
	while ((l = next_line(&text, &line))) {
		int ind = (int)strspn(l, " ");

		if (!l[ind] || l[ind] == '#' || !yaml_kv(l + ind, &key, &val))
			continue;
		np_line(st, ind, key, val, line);
	}
	for (unsigned i = 0; i < st->n; i++)
		np_entry_hits(s, st, &st->e[i]);
}

/* ---- services and rc.local that write sriov_numvfs ---- */

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* word in line, not as part of a longer name. */
static bool has_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	if (!n)
		return false;
	for (const char *p = strstr(line, word); p; p = strstr(p + 1, word))
		if ((p == line || !is_word_char(p[-1])) && !is_word_char(p[n]))
			return true;
	return false;
}

/* Whether a line names some device: a PCI address, or /net/NAME/ with no shell variable. */
static bool names_a_device(const char *l)
{
	const char *p;

	for (p = l; *p; p++) {
		unsigned d, b, s, f;
		int n = 0;

		if (isxdigit((unsigned char)*p) && sscanf(p, "%4x:%2x:%2x.%1x%n", &d, &b, &s, &f, &n) == 4 && n == 12)
			return true;
	}
	for (p = strstr(l, "/net/"); p; p = strstr(p + 1, "/net/"))
		if (p[5] && p[5] != '$' && p[5] != '*' && p[5] != '"' && p[5] != '/')
			return true;
	return false;
}

static void script_file(struct scan *s, char *text)
{
	unsigned line = 0;
	char *l;

	while ((l = next_line(&text, &line))) {
		bool hit = false;

		while (isspace((unsigned char)*l))
			l++;
		if (*l == '#' || *l == ';' || !strstr(l, "sriov_numvfs"))
			continue;
		for (unsigned k = 0; k < s->h->n_pf; k++)
			if (s->named[k] && (has_word(l, s->h->pf[k].pci) || has_word(l, s->h->pf[k].ifname))) {
				hit_add(s, MGR_SCRIPT, (int)k, line, "sriov_numvfs");
				hit = true;
			}
		/* A line that names another device is about that one; one with a variable may be any PF. */
		if (!hit && !names_a_device(l))
			hit_add(s, MGR_SCRIPT, MGR_ANY_PF, line, "sriov_numvfs");
	}
}

static void read_macs(struct scan *s)
{
	for (unsigned k = 0; k < s->h->n_pf; k++) {
		char p[PATH_MAX], buf[64];

		s->have_mac[k] = s->h->pf[k].ifname[0] &&
				 path_join(p, sizeof(p), "%s/class/net/%s/address", roots.sys, s->h->pf[k].ifname) == 0 &&
				 read_line_file(p, buf, sizeof(buf)) == 0 && parse_mac(buf, s->mac[k]) == 0;
	}
}

int managers_scan(const struct host *h, const bool *named, struct manager_hits *ret)
{
	unsigned n = h->n_pf ? h->n_pf : 1;
	_cleanup_free_ uint8_t(*mac)[MAC_LEN] = calloc(n, sizeof(*mac));
	_cleanup_free_ bool *have = calloc(n, sizeof(*have));
	struct scan s = { .h = h, .named = named, .mac = mac, .have_mac = have, .out = ret };
	char rc[PATH_MAX];
	int r;

	ret->n = 0;
	ret->truncated = false;
	if (!mac || !have)
		return -ENOMEM;
	read_macs(&s);
	if ((r = scan_kind(&s, MGR_NM, nm_dirs, ".nmconnection", nm_file)) < 0 ||
	    (r = scan_kind(&s, MGR_LINK, networkd_dirs, ".link", link_file)) < 0 ||
	    (r = scan_kind(&s, MGR_NETWORK, networkd_dirs, ".network", network_file)) < 0 ||
	    (r = scan_kind(&s, MGR_NETPLAN, netplan_dirs, ".yaml", netplan_file)) < 0 ||
	    (r = scan_kind(&s, MGR_SCRIPT, unit_dirs, ".service", script_file)) < 0 ||
	    (path_join(rc, sizeof(rc), "%s/etc/rc.local", roots.etc) == 0 &&
	     (r = scan_file(&s, MGR_SCRIPT, rc, script_file)) < 0))
		return r;
	return 0;
}
