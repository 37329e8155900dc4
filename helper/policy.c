/* SPDX-License-Identifier: MIT */
/*
 * The policy: INI files split by inih, everything else checked here.
 *
 * Debian's inih is built with INI_HANDLER_LINENO 0 and INI_MAX_LINE 200 and
 * no realloc: the handler gets no line number and a longer line would be
 * split in two silently. So lines reach inih through our own reader, which
 * counts lines, takes the section headers itself (inih does not report an
 * empty section), rejects over-long settings and malformed lines, and strips
 * leading blanks so an indented key is never taken as a continuation line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"

static const char *const key_names[_KEY_MAX] = {
	[KEY_VF_DRIVER] = "vf-driver",
	[KEY_MAC] = "mac",
	[KEY_VLAN] = "vlan",
	[KEY_QOS] = "qos",
	[KEY_VLAN_PROTO] = "vlan-proto",
	[KEY_SPOOFCHK] = "spoofchk",
	[KEY_TRUST] = "trust",
	[KEY_LINK_STATE] = "link-state",
	[KEY_MAX_TX_RATE] = "max-tx-rate",
	[KEY_MIN_TX_RATE] = "min-tx-rate",
	[KEY_QUERY_RSS] = "query-rss",
	[KEY_DEVICE] = "device",
	[KEY_VFS] = "vfs",
	[KEY_PF_UP] = "pf-up",
	[KEY_ALLOW_DOMAIN] = "allow-domain",
};

static const char *const driver_names[] = {
	[VF_DRIVER_VFIO] = "vfio-pci",
	[VF_DRIVER_KERNEL] = "kernel",
	[VF_DRIVER_NONE] = "none",
};

static const char *const link_state_names[] = {
	[LINK_STATE_AUTO] = "auto",
	[LINK_STATE_ENABLE] = "enable",
	[LINK_STATE_DISABLE] = "disable",
};

const char *vf_key_name(enum vf_key k)
{
	return k < _KEY_MAX ? key_names[k] : "?";
}

const char *vf_driver_name(enum vf_driver d)
{
	return d <= VF_DRIVER_NONE ? driver_names[d] : "?";
}

const char *link_state_name(enum link_state s)
{
	return s <= LINK_STATE_DISABLE ? link_state_names[s] : "?";
}

const char *vlan_proto_name(uint16_t proto)
{
	return proto == ETH_P_8021AD_ ? "802.1ad" : "802.1Q";
}

static const struct vf_conf vf_conf_builtin = {
	.driver = VF_DRIVER_VFIO,
	.mac_mode = MAC_AUTO,
	.vlan_proto = ETH_P_8021Q_,
	.spoofchk = true,
	.link_state = LINK_STATE_AUTO,
};

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
}

void policy_free(struct policy *p)
{
	for (unsigned i = 0; i < p->n_files; i++)
		free(p->files[i]);
	for (unsigned i = 0; i < p->n_pfs; i++)
		free(p->pfs[i].vf);
	free(p->files);
	free(p->sections);
	free(p->errors);
	free(p->pfs);
	policy_init(p);
}

static void error_at(struct policy *p, const struct origin *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void error_at(struct policy *p, const struct origin *at, const char *fmt, ...)
{
	struct policy_error e = { .at = *at };
	struct policy_error *n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);

	/* One resolved mistake can show up for many VFs: report it once. */
	for (unsigned i = 0; i < p->n_errors; i++)
		if (p->errors[i].at.file_idx == e.at.file_idx &&
		    p->errors[i].at.line == e.at.line && streq(p->errors[i].msg, e.msg))
			return;

	n = realloc(p->errors, (p->n_errors + 1) * sizeof(*n));
	if (!n)
		return;
	p->errors = n;
	p->errors[p->n_errors++] = e;
}

/* "FILE:LINE" of an origin, for messages naming an earlier setting. */
static const char *where(const struct origin *at, char *buf, size_t size)
{
	if (!at->file)
		snprintf(buf, size, "built-in default");
	else
		snprintf(buf, size, "%s:%u", at->file, at->line);
	return buf;
}

static int origin_cmp(const struct origin *a, const struct origin *b)
{
	if (a->file_idx != b->file_idx)
		return a->file_idx < b->file_idx ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return 0;
}

struct parse_ctx {
	struct policy *p;
	FILE *f;
	unsigned file_idx;
	unsigned line;
	int cur; /* section index; -1 none yet; -2 a bad header, keys ignored */
	char *buf;
	size_t bufsz;
};

static struct origin ctx_origin(const struct parse_ctx *c)
{
	return (struct origin){ .file = c->p->files[c->file_idx], .file_idx = c->file_idx,
				.line = c->line };
}

static int parse_range(const char *s, unsigned *lo, unsigned *hi)
{
	char a[16], b[16];
	const char *dash = strchr(s, '-');
	unsigned long x, y;

	if (!dash) {
		if (parse_uint(s, VFS_MAX - 1, &x) < 0)
			return -EINVAL;
		*lo = *hi = (unsigned)x;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return -EINVAL;
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = '\0';
	strcpy(b, dash + 1);
	if (parse_uint(a, VFS_MAX - 1, &x) < 0 || parse_uint(b, VFS_MAX - 1, &y) < 0 || x > y)
		return -EINVAL;
	*lo = (unsigned)x;
	*hi = (unsigned)y;
	return 0;
}

static void section_header(struct parse_ctx *c, char *s)
{
	struct policy *p = c->p;
	struct origin at = ctx_origin(c);
	struct section sec = { .at = at };
	struct section *n;
	char *end = strchr(s, ']');
	char *tok[4];
	unsigned ntok = 0;
	char *save = NULL;

	char orig[256];

	snprintf(orig, sizeof(orig), "%s", s);
	c->cur = -2;
	if (!end || end[1] != '\0') {
		error_at(p, &at, "malformed section header '%s'", s);
		return;
	}
	*end = '\0';
	for (char *t = strtok_r(s + 1, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ntok == ELEMENTSOF(tok)) {
			ntok++;
			break;
		}
		tok[ntok++] = t;
	}

	if (ntok == 1 && streq(tok[0], "defaults"))
		sec.kind = SECTION_DEFAULTS;
	else if (ntok == 2 && streq(tok[0], "pf"))
		sec.kind = SECTION_PF;
	else if (ntok == 3 && streq(tok[0], "vf"))
		sec.kind = SECTION_VF;
	else {
		error_at(p, &at, "unknown section '%s' (expected [defaults], [pf LABEL] or [vf LABEL INDEX])",
			 orig);
		return;
	}

	if (sec.kind != SECTION_DEFAULTS) {
		if (!label_valid(tok[1])) {
			error_at(p, &at, "invalid label '%s': one word of letters, digits, '-' or '_', at most 32",
				 tok[1]);
			return;
		}
		strcpy(sec.label, tok[1]);
	}
	if (sec.kind == SECTION_VF && parse_range(tok[2], &sec.vf_lo, &sec.vf_hi) < 0) {
		error_at(p, &at, "invalid VF index '%s': a number or a range such as 0-3, below %d",
			 tok[2], VFS_MAX);
		return;
	}
	if (sec.kind == SECTION_PF) {
		for (unsigned i = 0; i < p->n_sections; i++) {
			char w[300];

			if (p->sections[i].kind == SECTION_PF && streq(p->sections[i].label, sec.label)) {
				error_at(p, &at, "duplicate section [pf %s], first at %s", sec.label,
					 where(&p->sections[i].at, w, sizeof(w)));
				return;
			}
		}
	}

	n = realloc(p->sections, (p->n_sections + 1) * sizeof(*n));
	if (!n) {
		error_at(p, &at, "out of memory");
		return;
	}
	p->sections = n;
	p->sections[p->n_sections] = sec;
	c->cur = (int)p->n_sections++;
}

/*
 * As inih splits it: the name ends at '=' or ':', or at a ';' after a blank,
 * which starts a comment; inih drops a line of the last kind without a call.
 */
static bool is_setting(const char *s)
{
	for (const char *t = s; *t; t++) {
		if (*t == '=' || *t == ':')
			return true;
		if (*t == ';' && t > s && (t[-1] == ' ' || t[-1] == '\t'))
			return false;
	}
	return false;
}

/* fgets-style reader handed to inih; see the comment at the top. */
static char *policy_reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;

	for (;;) {
		ssize_t n = getline(&c->buf, &c->bufsz, c->f);
		char *s;
		size_t len;

		if (n < 0)
			return NULL;
		c->line++;
		s = c->buf;
		s[strcspn(s, "\r\n")] = '\0';
		if (c->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3;
		s += strspn(s, " \t");
		len = strlen(s);
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			s[--len] = '\0';

		if (len == 0 || s[0] == ';' || s[0] == '#')
			continue;
		if (s[0] == '[') {
			char *semi = strstr(s, " ;");

			if (semi) {
				*semi = '\0';
				len = strlen(s);
				while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
					s[--len] = '\0';
			}
			section_header(c, s);
			continue;
		}
		if ((int)len + 2 > num) {
			struct origin at = ctx_origin(c);

			error_at(c->p, &at, "line too long (%zu characters, at most %d)", len, num - 2);
			continue;
		}
		if (!is_setting(s)) {
			struct origin at = ctx_origin(c);

			error_at(c->p, &at, "expected 'key = value', got '%.64s'", s);
			continue;
		}
		memcpy(str, s, len);
		str[len] = '\n';
		str[len + 1] = '\0';
		return str;
	}
}

static int key_lookup(const char *name)
{
	for (int k = 0; k < _KEY_MAX; k++)
		if (streq(key_names[k], name))
			return k;
	return -1;
}

static const char *section_name(const struct section *s, char *buf, size_t size)
{
	switch (s->kind) {
	case SECTION_DEFAULTS:
		snprintf(buf, size, "[defaults]");
		break;
	case SECTION_PF:
		snprintf(buf, size, "[pf %s]", s->label);
		break;
	case SECTION_VF:
		if (s->vf_lo == s->vf_hi)
			snprintf(buf, size, "[vf %s %u]", s->label, s->vf_lo);
		else
			snprintf(buf, size, "[vf %s %u-%u]", s->label, s->vf_lo, s->vf_hi);
		break;
	}
	return buf;
}

static int key_lookup(const char *name);

/*
 * allow-domain = trust, max-tx-rate: the VF settings a domain may choose in
 * its <metadata>. vf-driver is not among them: the hook binds vfio-pci.
 */
static int parse_allow_domain(struct section *s, const char *v, char *err, size_t errsz)
{
	char buf[256], *rest = buf, *t;
	uint32_t set = 0;

	if (streq(v, "none")) {
		s->allow_domain = 0;
		return 0;
	}
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf) || !*v)
		goto bad;
	while ((t = strsep(&rest, ","))) {
		size_t l;
		int k;

		t += strspn(t, " \t");
		l = strlen(t);
		while (l && (t[l - 1] == ' ' || t[l - 1] == '\t'))
			t[--l] = '\0';
		k = key_lookup(t);
		if (k < 0 || k >= _KEY_VF_MAX || k == KEY_VF_DRIVER) {
			snprintf(err, errsz,
				 "invalid allow-domain '%s': '%s' is not a VF setting a domain may choose",
				 v, t);
			return -EINVAL;
		}
		if (set & (1u << k)) {
			snprintf(err, errsz, "invalid allow-domain '%s': '%s' listed twice", v, t);
			return -EINVAL;
		}
		set |= 1u << k;
	}
	if (!set)
		goto bad;
	s->allow_domain = set;
	return 0;
bad:
	snprintf(err, errsz, "invalid allow-domain '%s' (none, or VF settings separated by commas)", v);
	return -EINVAL;
}

static int parse_value(struct section *s, int key, const char *v, char *err, size_t errsz)
{
	unsigned long n;
	bool b;
	int r;

	switch (key) {
	case KEY_VF_DRIVER:
		for (unsigned i = 0; i < ELEMENTSOF(driver_names); i++)
			if (streq(v, driver_names[i])) {
				s->vf.driver = (enum vf_driver)i;
				return 0;
			}
		snprintf(err, errsz, "invalid vf-driver '%s' (vfio-pci, kernel or none)", v);
		return -EINVAL;
	case KEY_MAC:
		if (streq(v, "auto")) {
			s->vf.mac_mode = MAC_AUTO;
			return 0;
		}
		if (streq(v, "none")) {
			s->vf.mac_mode = MAC_NONE;
			return 0;
		}
		if (parse_mac(v, s->vf.mac) < 0) {
			snprintf(err, errsz, "invalid mac '%s' (auto, none or xx:xx:xx:xx:xx:xx)", v);
			return -EINVAL;
		}
		if (mac_is_zero(s->vf.mac)) {
			snprintf(err, errsz, "invalid mac '%s': all zero", v);
			return -EINVAL;
		}
		if (mac_is_multicast(s->vf.mac)) {
			snprintf(err, errsz, "invalid mac '%s': multicast", v);
			return -EINVAL;
		}
		s->vf.mac_mode = MAC_FIXED;
		return 0;
	case KEY_VLAN:
		if ((r = parse_uint(v, 4095, &n)) < 0) {
			snprintf(err, errsz, "invalid vlan '%s' (0-4095)", v);
			return r;
		}
		s->vf.vlan = (unsigned)n;
		return 0;
	case KEY_QOS:
		if ((r = parse_uint(v, 7, &n)) < 0) {
			snprintf(err, errsz, "invalid qos '%s' (0-7)", v);
			return r;
		}
		s->vf.qos = (unsigned)n;
		return 0;
	case KEY_VLAN_PROTO:
		if (streq(v, "802.1Q"))
			s->vf.vlan_proto = ETH_P_8021Q_;
		else if (streq(v, "802.1ad"))
			s->vf.vlan_proto = ETH_P_8021AD_;
		else {
			snprintf(err, errsz, "invalid vlan-proto '%s' (802.1Q or 802.1ad)", v);
			return -EINVAL;
		}
		return 0;
	case KEY_SPOOFCHK:
	case KEY_TRUST:
	case KEY_QUERY_RSS:
	case KEY_PF_UP:
		if (parse_bool(v, &b) < 0) {
			snprintf(err, errsz, "invalid %s '%s' (on or off)", key_names[key], v);
			return -EINVAL;
		}
		if (key == KEY_SPOOFCHK)
			s->vf.spoofchk = b;
		else if (key == KEY_TRUST)
			s->vf.trust = b;
		else if (key == KEY_QUERY_RSS)
			s->vf.query_rss = b;
		else
			s->pf_up = b;
		return 0;
	case KEY_LINK_STATE:
		for (unsigned i = 0; i < ELEMENTSOF(link_state_names); i++)
			if (streq(v, link_state_names[i])) {
				s->vf.link_state = (enum link_state)i;
				return 0;
			}
		snprintf(err, errsz, "invalid link-state '%s' (auto, enable or disable)", v);
		return -EINVAL;
	case KEY_MAX_TX_RATE:
	case KEY_MIN_TX_RATE:
		if ((r = parse_uint(v, UINT32_MAX, &n)) < 0) {
			snprintf(err, errsz, "invalid %s '%s' (Mbit/s, a whole number, 0 = no limit)",
				 key_names[key], v);
			return r;
		}
		if (key == KEY_MAX_TX_RATE)
			s->vf.max_tx_rate = (unsigned)n;
		else
			s->vf.min_tx_rate = (unsigned)n;
		return 0;
	case KEY_DEVICE:
		if (parse_mac(v, s->vf.mac) == 0 || pci_addr_valid(v) || ifname_valid(v)) {
			snprintf(s->device, sizeof(s->device), "%s", v);
			return 0;
		}
		snprintf(err, errsz,
			 "invalid device '%s' (an interface name, a PCI address such as 0000:01:00.0 or a MAC)",
			 v);
		return -EINVAL;
	case KEY_ALLOW_DOMAIN:
		return parse_allow_domain(s, v, err, errsz);
	case KEY_VFS:
		if ((r = parse_uint(v, VFS_MAX, &n)) < 0) {
			snprintf(err, errsz, "invalid vfs '%s' (0-%d)", v, VFS_MAX);
			return r;
		}
		s->vfs = (unsigned)n;
		return 0;
	}
	snprintf(err, errsz, "internal error: key %d", key);
	return -EINVAL;
}

static int policy_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	struct policy *p = c->p;
	struct origin at = ctx_origin(c);
	struct section *s;
	char err[200], sn[64], w[300];
	int key;

	(void)section;
	if (c->cur == -2)
		return 1;
	if (c->cur == -1) {
		error_at(p, &at, "'%s' outside of a section", name);
		return 1;
	}
	s = &p->sections[c->cur];
	key = key_lookup(name);
	if (key < 0) {
		error_at(p, &at, "unknown key '%s'", name);
		return 1;
	}
	if ((key == KEY_DEVICE && s->kind != SECTION_PF) ||
	    ((key == KEY_VFS || key == KEY_PF_UP || key == KEY_ALLOW_DOMAIN) &&
	     s->kind == SECTION_VF)) {
		error_at(p, &at, "key '%s' is not allowed in %s", name, section_name(s, sn, sizeof(sn)));
		return 1;
	}
	if (s->set & (1u << key)) {
		error_at(p, &at, "duplicate key '%s', first set at %s", name,
			 where(&s->key_at[key], w, sizeof(w)));
		return 1;
	}
	/* An explicit MAC parsed for "device" must not leak into the VF's mac. */
	if (key == KEY_DEVICE) {
		uint8_t keep[MAC_LEN];

		memcpy(keep, s->vf.mac, MAC_LEN);
		if (parse_value(s, key, value, err, sizeof(err)) < 0)
			error_at(p, &at, "%s", err);
		else
			s->set |= 1u << key;
		memcpy(s->vf.mac, keep, MAC_LEN);
		s->key_at[key] = at;
		return 1;
	}
	if (parse_value(s, key, value, err, sizeof(err)) < 0) {
		error_at(p, &at, "%s", err);
		return 1;
	}
	s->set |= 1u << key;
	s->key_at[key] = at;
	if (key < _KEY_VF_MAX)
		s->vf.at[key] = at;
	return 1;
}

static int add_file(struct policy *p, const char *name)
{
	char **n = realloc(p->files, (p->n_files + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	p->files = n;
	p->files[p->n_files] = strdup(name);
	if (!p->files[p->n_files])
		return -ENOMEM;
	return (int)p->n_files++;
}

int policy_parse_stream(struct policy *p, FILE *f, const char *name)
{
	struct parse_ctx c = { .p = p, .f = f, .cur = -1 };
	int idx = add_file(p, name);
	int r;

	if (idx < 0)
		return idx;
	c.file_idx = (unsigned)idx;
	r = ini_parse_stream(policy_reader, &c, policy_handler, &c);
	free(c.buf);
	if (r == -2)
		return -ENOMEM;
	if (ferror(f))
		return -EIO;
	return 0;
}

int policy_check_perms(int fd, const char *what, char *msg, size_t size)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) < 0)
		return -errno;
	/* As sshd and doas: whoever can write the policy owns the host. */
	if (st.st_uid != 0 && st.st_uid != me) {
		snprintf(msg, size, "refusing %s owned by uid %u (must be root)", what, (unsigned)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		snprintf(msg, size, "refusing %s writable by %s (mode %04o): chmod go-w", what,
			 (st.st_mode & S_IWOTH) ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static void file_error(struct policy *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void file_error(struct policy *p, const char *path, const char *fmt, ...)
{
	struct origin at = { .line = 1 };
	char msg[256];
	va_list ap;
	int idx = add_file(p, path);

	if (idx < 0)
		return;
	at.file_idx = (unsigned)idx;
	at.file = p->files[idx];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_at(p, &at, "%s", msg);
}

int policy_parse_file(struct policy *p, const char *path)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct stat st;
	char msg[200];
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		file_error(p, path, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		file_error(p, path, "not a regular file");
		return -EINVAL;
	}
	r = policy_check_perms(fd, "policy file", msg, sizeof(msg));
	if (r < 0) {
		close(fd);
		file_error(p, path, "%s", msg);
		return r;
	}
	f = fdopen(fd, "re");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	r = policy_parse_stream(p, f, path);
	if (r == -EIO)
		file_error(p, path, "read error");
	return r;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && streq(d->d_name + n - 5, ".conf");
}

int policy_parse_default(struct policy *p, const char *main_file, const char *dir)
{
	struct dirent **list = NULL;
	int n, r = 0;

	if (access(main_file, F_OK) == 0)
		r = policy_parse_file(p, main_file);
	else if (errno != ENOENT) {
		r = -errno;
		file_error(p, main_file, "cannot access: %s", strerror(errno));
	}

	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? r : -errno;
	{
		char msg[200];

		if (policy_check_perms(dfd, "policy directory", msg, sizeof(msg)) < 0) {
			file_error(p, dir, "%s", msg);
			return -EPERM;
		}
	}
	n = scandir(dir, &list, conf_filter, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (path_join(path, sizeof(path), "%s/%s", dir, list[i]->d_name) == 0) {
			int q = policy_parse_file(p, path);

			if (q < 0 && r == 0)
				r = q;
		}
		free(list[i]);
	}
	free(list);
	return r;
}

static void vf_conf_merge(struct vf_conf *dst, const struct section *s)
{
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		if (!(s->set & (1u << k)))
			continue;
		switch ((enum vf_key)k) {
		case KEY_VF_DRIVER: dst->driver = s->vf.driver; break;
		case KEY_MAC:
			dst->mac_mode = s->vf.mac_mode;
			memcpy(dst->mac, s->vf.mac, MAC_LEN);
			break;
		case KEY_VLAN: dst->vlan = s->vf.vlan; break;
		case KEY_QOS: dst->qos = s->vf.qos; break;
		case KEY_VLAN_PROTO: dst->vlan_proto = s->vf.vlan_proto; break;
		case KEY_SPOOFCHK: dst->spoofchk = s->vf.spoofchk; break;
		case KEY_TRUST: dst->trust = s->vf.trust; break;
		case KEY_LINK_STATE: dst->link_state = s->vf.link_state; break;
		case KEY_MAX_TX_RATE: dst->max_tx_rate = s->vf.max_tx_rate; break;
		case KEY_MIN_TX_RATE: dst->min_tx_rate = s->vf.min_tx_rate; break;
		case KEY_QUERY_RSS: dst->query_rss = s->vf.query_rss; break;
		default: break;
		}
		dst->at[k] = s->key_at[k];
	}
}

int vf_setting_parse(const char *name, const char *value, struct vf_conf *c, enum vf_key *key,
		     char *err, size_t errsz)
{
	struct section s = { .kind = SECTION_VF };
	int k = key_lookup(name);
	int r;

	if (k < 0 || k >= _KEY_VF_MAX) {
		snprintf(err, errsz, "unknown VF setting '%s'", name);
		return -ENOENT;
	}
	if ((r = parse_value(&s, k, value, err, errsz)) < 0)
		return r;
	s.set = 1u << k;
	vf_conf_merge(c, &s);
	*key = (enum vf_key)k;
	return 0;
}

enum device_kind policy_device_kind(const char *d, uint8_t mac[MAC_LEN])
{
	if (parse_mac(d, mac) == 0)
		return DEVICE_MAC;
	if (pci_addr_valid(d))
		return DEVICE_PCI;
	return DEVICE_IFNAME;
}

static bool same_device(const struct pf_policy *a, const struct pf_policy *b)
{
	if (a->device_kind != b->device_kind)
		return false;
	if (a->device_kind == DEVICE_MAC)
		return memcmp(a->device_mac, b->device_mac, MAC_LEN) == 0;
	return streq(a->device, b->device);
}

static const struct origin *later(const struct origin *a, const struct origin *b)
{
	return origin_cmp(a, b) >= 0 ? a : b;
}

int vf_conf_check(const struct vf_conf *c, enum vf_key *key, char *err, size_t errsz)
{
	if (c->qos && !c->vlan) {
		*key = KEY_QOS;
		snprintf(err, errsz, "qos %u without a vlan", c->qos);
		return -EINVAL;
	}
	if (c->max_tx_rate && c->min_tx_rate > c->max_tx_rate) {
		*key = KEY_MIN_TX_RATE;
		snprintf(err, errsz, "min-tx-rate %u is above max-tx-rate %u", c->min_tx_rate,
			 c->max_tx_rate);
		return -EINVAL;
	}
	return 0;
}

static void check_vf(struct policy *p, const struct pf_policy *pf, unsigned idx)
{
	const struct vf_conf *c = &pf->vf[idx];
	const struct origin *l, *e;
	enum vf_key k;
	char err[200], w[300];

	if (vf_conf_check(c, &k, err, sizeof(err)) == 0)
		return;
	if (k != KEY_MIN_TX_RATE) {
		error_at(p, &c->at[k], "%s", err);
		return;
	}
	/* Blame the later of the two lines, and name the other. */
	l = later(&c->at[KEY_MIN_TX_RATE], &c->at[KEY_MAX_TX_RATE]);
	e = l == &c->at[KEY_MIN_TX_RATE] ? &c->at[KEY_MAX_TX_RATE] : &c->at[KEY_MIN_TX_RATE];
	error_at(p, l, "%s (%s)", err, where(e, w, sizeof(w)));
}

static int by_origin(const void *a, const void *b)
{
	return origin_cmp(&((const struct policy_error *)a)->at,
			  &((const struct policy_error *)b)->at);
}

int policy_validate(struct policy *p)
{
	struct section defaults = { .kind = SECTION_DEFAULTS };
	char w[300];

	/* [defaults] may appear in several files: the later setting wins. */
	for (unsigned i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];

		if (s->kind != SECTION_DEFAULTS)
			continue;
		vf_conf_merge(&defaults.vf, s);
		for (int k = 0; k < _KEY_MAX; k++)
			if (s->set & (1u << k)) {
				defaults.key_at[k] = s->key_at[k];
				if (k == KEY_VFS)
					defaults.vfs = s->vfs;
				if (k == KEY_PF_UP)
					defaults.pf_up = s->pf_up;
				if (k == KEY_ALLOW_DOMAIN)
					defaults.allow_domain = s->allow_domain;
			}
		defaults.set |= s->set;
	}

	for (unsigned i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		struct pf_policy pf = { 0 };
		struct pf_policy *n;

		if (s->kind != SECTION_PF)
			continue;
		if (!(s->set & (1u << KEY_DEVICE))) {
			/* An invalid device was reported on its own line. */
			if (!s->key_at[KEY_DEVICE].line)
				error_at(p, &s->at, "[pf %s] has no 'device'", s->label);
			continue;
		}
		strcpy(pf.label, s->label);
		strcpy(pf.device, s->device);
		pf.device_kind = policy_device_kind(pf.device, pf.device_mac);
		pf.at = s->key_at[KEY_DEVICE];
		pf.vfs = (s->set & (1u << KEY_VFS)) ? s->vfs
			 : (defaults.set & (1u << KEY_VFS)) ? defaults.vfs : 0;
		pf.pf_up = (s->set & (1u << KEY_PF_UP)) ? s->pf_up
			   : (defaults.set & (1u << KEY_PF_UP)) ? defaults.pf_up : true;
		pf.allow_domain = (s->set & (1u << KEY_ALLOW_DOMAIN)) ? s->allow_domain
				  : defaults.allow_domain;

		for (unsigned j = 0; j < p->n_pfs; j++)
			if (same_device(&p->pfs[j], &pf)) {
				/* Keep it: its other settings still get checked. */
				error_at(p, &pf.at, "device '%s' of [pf %s] is already [pf %s] (%s)",
					 pf.device, pf.label, p->pfs[j].label,
					 where(&p->pfs[j].at, w, sizeof(w)));
				break;
			}

		pf.vf = calloc(pf.vfs ? pf.vfs : 1, sizeof(*pf.vf));
		if (!pf.vf)
			return -ENOMEM;
		for (unsigned v = 0; v < pf.vfs; v++) {
			pf.vf[v] = vf_conf_builtin;
			vf_conf_merge(&pf.vf[v], &defaults);
			vf_conf_merge(&pf.vf[v], s);
		}
		n = realloc(p->pfs, (p->n_pfs + 1) * sizeof(*n));
		if (!n) {
			free(pf.vf);
			return -ENOMEM;
		}
		p->pfs = n;
		p->pfs[p->n_pfs++] = pf;
	}

	for (unsigned i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		struct pf_policy *pf = NULL;
		char sn[64];

		if (s->kind != SECTION_VF)
			continue;
		for (unsigned j = 0; j < p->n_pfs; j++)
			if (streq(p->pfs[j].label, s->label))
				pf = &p->pfs[j];
		if (!pf) {
			bool declared = false;

			for (unsigned j = 0; j < p->n_sections; j++)
				declared |= p->sections[j].kind == SECTION_PF &&
					    streq(p->sections[j].label, s->label);
			if (!declared)
				error_at(p, &s->at, "%s: there is no [pf %s]",
					 section_name(s, sn, sizeof(sn)), s->label);
			continue;
		}
		if (s->vf_hi >= pf->vfs) {
			error_at(p, &s->at, "%s: VF %u does not exist, [pf %s] has vfs = %u",
				 section_name(s, sn, sizeof(sn)), s->vf_hi, s->label, pf->vfs);
			continue;
		}
		if ((s->set & (1u << KEY_MAC)) && s->vf.mac_mode == MAC_FIXED && s->vf_hi > s->vf_lo) {
			error_at(p, &s->key_at[KEY_MAC],
				 "mac %s would be given to %u VFs; set a fixed mac in a [vf] section of one VF",
				 format_mac(s->vf.mac, sn), s->vf_hi - s->vf_lo + 1);
			continue;
		}
		/* Two [vf] sections may overlap, but not both set one key of one VF. */
		for (unsigned j = 0; j < i; j++) {
			const struct section *o = &p->sections[j];
			uint32_t both;

			if (o->kind != SECTION_VF || !streq(o->label, s->label) ||
			    o->vf_hi < s->vf_lo || s->vf_hi < o->vf_lo)
				continue;
			both = o->set & s->set;
			for (int k = 0; k < _KEY_VF_MAX; k++)
				if (both & (1u << k))
					error_at(p, &s->key_at[k], "'%s' for VF %u is also set at %s",
						 key_names[k], s->vf_lo > o->vf_lo ? s->vf_lo : o->vf_lo,
						 where(&o->key_at[k], w, sizeof(w)));
		}
		for (unsigned v = s->vf_lo; v <= s->vf_hi; v++)
			vf_conf_merge(&pf->vf[v], s);
	}

	for (unsigned i = 0; i < p->n_pfs; i++)
		for (unsigned v = 0; v < p->pfs[i].vfs; v++)
			check_vf(p, &p->pfs[i], v);

	/* The same fixed MAC on two VFs: report at the later line. */
	for (unsigned i = 0; i < p->n_pfs; i++)
		for (unsigned v = 0; v < p->pfs[i].vfs; v++) {
			const struct vf_conf *a = &p->pfs[i].vf[v];

			if (a->mac_mode != MAC_FIXED)
				continue;
			for (unsigned j = 0; j <= i; j++)
				for (unsigned u = 0; u < p->pfs[j].vfs; u++) {
					const struct vf_conf *b = &p->pfs[j].vf[u];
					char m[MAC_STR_LEN];

					if (b->mac_mode != MAC_FIXED || (j == i && u >= v) ||
					    memcmp(a->mac, b->mac, MAC_LEN) != 0)
						continue;
					/* One fixed mac at [pf] or [defaults] level lands on every VF. */
					if (origin_cmp(&a->at[KEY_MAC], &b->at[KEY_MAC]) == 0) {
						error_at(p, &a->at[KEY_MAC],
							 "mac %s would be given to more than one VF; set a fixed mac in a [vf] section of one VF",
							 format_mac(a->mac, m));
						continue;
					}
					error_at(p, later(&a->at[KEY_MAC], &b->at[KEY_MAC]),
						 "duplicate mac %s, also set at %s", format_mac(a->mac, m),
						 where(origin_cmp(&a->at[KEY_MAC], &b->at[KEY_MAC]) > 0
							       ? &b->at[KEY_MAC] : &a->at[KEY_MAC],
						       w, sizeof(w)));
				}
		}

	if (p->n_errors) /* qsort(NULL, 0) is undefined */
		qsort(p->errors, p->n_errors, sizeof(*p->errors), by_origin);
	return p->n_errors ? -EINVAL : 0;
}

bool vf_conf_mac(const struct vf_conf *c, const uint8_t pf_mac[MAC_LEN], unsigned idx,
		 uint8_t out[MAC_LEN])
{
	switch (c->mac_mode) {
	case MAC_FIXED:
		memcpy(out, c->mac, MAC_LEN);
		return true;
	case MAC_AUTO:
		mac_derive(pf_mac, idx, out);
		return true;
	case MAC_NONE:
		break;
	}
	return false;
}
