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

#include "vfattr.h"

/* The [pf] keys; the VF keys are vf_keys[] (vfattr.c). */
static const char *const pf_key_names[_KEY_MAX - _KEY_VF_MAX] = {
	[KEY_DEVICE - _KEY_VF_MAX] = "device",
	[KEY_VFS - _KEY_VF_MAX] = "vfs",
	[KEY_PF_UP - _KEY_VF_MAX] = "pf-up",
	[KEY_ALLOW_DOMAIN - _KEY_VF_MAX] = "allow-domain",
	[KEY_ESWITCH_MODE - _KEY_VF_MAX] = "eswitch-mode",
	[KEY_MANAGE - _KEY_VF_MAX] = "manage",
	[KEY_DRIVER - _KEY_VF_MAX] = "driver",
	[KEY_PCI_ID - _KEY_VF_MAX] = "pci-id",
	[KEY_MTU - _KEY_VF_MAX] = "mtu",
};

const char *vf_key_name(enum vf_key k)
{
	if (k < _KEY_VF_MAX)
		return vf_keys[k].name;
	return k < _KEY_MAX ? pf_key_names[k - _KEY_VF_MAX] : "?";
}

const char *vf_driver_name(enum vf_driver d)
{
	const char *n = vf_attr_name(KEY_VF_DRIVER, d);

	return n ? n : "?";
}

const char *link_state_name(enum link_state s)
{
	const char *n = vf_attr_name(KEY_LINK_STATE, s);

	return n ? n : "?";
}

const char *vlan_proto_name(uint16_t proto)
{
	return proto == ETH_P_8021AD_ ? "802.1ad" : "802.1Q";
}

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
	free(p->errors_seen.slot);
	free(p->pf_labels.slot);
	policy_init(p);
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t label_hash(const char *label)
{
	return fnv1a(FNV_OFFSET, label, strlen(label));
}

/*
 * The slot of the value that same(ctx, v, key) finds equal to key, or the
 * free slot where it would go; hash is key's hash.
 */
static size_t hash_set_slot(const struct hash_set *h, uint64_t hash,
			    bool (*same)(const void *ctx, uint64_t v, const void *key),
			    const void *ctx, const void *key)
{
	size_t mask = h->cap - 1, i;

	for (i = hash & mask; h->slot[i]; i = (i + 1) & mask)
		if (same(ctx, h->slot[i], key))
			break;
	return i;
}

/* Room for one more at a load of at most 1/2; rehash(ctx, v) places v. */
static int hash_set_reserve(struct hash_set *h, uint64_t (*rehash)(const void *ctx, uint64_t v),
			    const void *ctx)
{
	struct hash_set n;

	if ((h->n + 1) * 2 <= h->cap)
		return 0;
	n.cap = h->cap ? h->cap * 2 : 64;
	n.n = h->n;
	n.slot = calloc(n.cap, sizeof(*n.slot));
	if (!n.slot)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		size_t j;

		if (!h->slot[i])
			continue;
		for (j = rehash(ctx, h->slot[i]) & (n.cap - 1); n.slot[j]; j = (j + 1) & (n.cap - 1))
			;
		n.slot[j] = h->slot[i];
	}
	free(h->slot);
	*h = n;
	return 0;
}

/* errors_seen holds fingerprints: the value is its own hash. */
static uint64_t fp_rehash(const void *ctx, uint64_t v)
{
	(void)ctx;
	return v;
}

static bool fp_same(const void *ctx, uint64_t v, const void *key)
{
	(void)ctx;
	return v == *(const uint64_t *)key;
}

/* 1 when fp is new (and now added), 0 when seen before, -ENOMEM. */
static int fp_add(struct hash_set *h, uint64_t fp)
{
	size_t i;

	if (!fp)
		fp = 1; /* 0 marks a free slot */
	if (hash_set_reserve(h, fp_rehash, NULL) < 0)
		return -ENOMEM;
	i = hash_set_slot(h, fp, fp_same, NULL, &fp);
	if (h->slot[i])
		return 0;
	h->slot[i] = fp;
	h->n++;
	return 1;
}

/* pf_labels holds [pf] section index + 1, placed by the section's label. */
static uint64_t label_rehash(const void *ctx, uint64_t v)
{
	const struct policy *p = ctx;

	return label_hash(p->sections[v - 1].label);
}

static bool label_same(const void *ctx, uint64_t v, const void *key)
{
	const struct policy *p = ctx;

	return streq(p->sections[v - 1].label, (const char *)key);
}

/* The [pf] section with this label, or -1. */
static int pf_section_find(const struct policy *p, const char *label)
{
	size_t i;

	if (!p->pf_labels.cap)
		return -1;
	i = hash_set_slot(&p->pf_labels, label_hash(label), label_same, p, label);
	return p->pf_labels.slot[i] ? (int)(p->pf_labels.slot[i] - 1) : -1;
}

static int pf_section_add(struct policy *p, unsigned idx)
{
	const char *label = p->sections[idx].label;
	size_t i;

	if (hash_set_reserve(&p->pf_labels, label_rehash, p) < 0)
		return -ENOMEM;
	i = hash_set_slot(&p->pf_labels, label_hash(label), label_same, p, label);
	p->pf_labels.slot[i] = (uint64_t)idx + 1;
	p->pf_labels.n++;
	return 0;
}

static void error_at(struct policy *p, const struct origin *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int origin_cmp(const struct origin *a, const struct origin *b);

static void error_at(struct policy *p, const struct origin *at, const char *fmt, ...)
{
	struct policy_error e = { .at = *at };
	uint64_t fp;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);

	/*
	 * One resolved mistake can show up for many VFs: report it once. The
	 * set keeps a 64-bit fingerprint of each error; two distinct errors
	 * with one fingerprint would list one message less, never make a
	 * broken policy valid (the first error is always kept).
	 */
	fp = fnv1a(FNV_OFFSET, &e.at.file_idx, sizeof(e.at.file_idx));
	fp = fnv1a(fp, &e.at.line, sizeof(e.at.line));
	fp = fnv1a(fp, e.msg, strlen(e.msg));
	r = fp_add(&p->errors_seen, fp);
	if (r == 0 || (r < 0 && p->n_errors))
		return;
	/* Past a thousand, an admin needs the count, not the lines. */
	if (p->n_errors >= POLICY_ERRORS_MAX) {
		if (!p->n_unlisted++ || origin_cmp(&e.at, &p->unlisted_at) < 0)
			p->unlisted_at = e.at;
		return;
	}
	if (p->n_errors == p->errors_cap) {
		unsigned cap = p->errors_cap ? p->errors_cap * 2 : 16;
		struct policy_error *n = realloc(p->errors, cap * sizeof(*n));

		if (!n)
			return;
		p->errors = n;
		p->errors_cap = cap;
	}
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
	const char *buf; /* the whole file */
	size_t len, pos;
	unsigned file_idx;
	unsigned line;
	int cur; /* section index; -1 none yet; -2 a bad header, keys ignored */
	char *scratch;   /* the current line, writable */
	size_t scratch_sz;
	bool oom;
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

/* Append sec, a valid header, and make it the current section. */
static void section_add(struct parse_ctx *c, const struct section *sec)
{
	struct policy *p = c->p;
	struct section *n;
	char w[300];

	if (p->n_sections == POLICY_SECTIONS_MAX) {
		error_at(p, &sec->at, "more than %d sections in the policy", POLICY_SECTIONS_MAX);
		return;
	}
	if (sec->kind == SECTION_PF) {
		int first = pf_section_find(p, sec->label);

		if (first >= 0) {
			error_at(p, &sec->at, "duplicate section [pf %s], first at %s", sec->label,
				 where(&p->sections[first].at, w, sizeof(w)));
			return;
		}
	}
	if (p->n_sections == p->sections_cap) {
		unsigned cap = p->sections_cap ? p->sections_cap * 2 : 16;

		n = realloc(p->sections, cap * sizeof(*n));
		if (!n) {
			error_at(p, &sec->at, "out of memory");
			return;
		}
		p->sections = n;
		p->sections_cap = cap;
	}
	p->sections[p->n_sections] = *sec;
	if (sec->kind == SECTION_PF && pf_section_add(p, p->n_sections) < 0) {
		error_at(p, &sec->at, "out of memory");
		return;
	}
	c->cur = (int)p->n_sections++;
}

static void section_header(struct parse_ctx *c, char *s)
{
	struct policy *p = c->p;
	struct origin at = ctx_origin(c);
	struct section sec = { .at = at };
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
	section_add(c, &sec);
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

/* The line as a NUL-terminated, writable string in c->scratch. */
static char *line_copy(struct parse_ctx *c, const char *start, size_t n)
{
	if (n + 1 > c->scratch_sz) {
		size_t sz = n + 1 > 256 ? n + 1 : 256;
		char *t = realloc(c->scratch, sz);

		if (!t)
			return NULL;
		c->scratch = t;
		c->scratch_sz = sz;
	}
	memcpy(c->scratch, start, n);
	c->scratch[n] = '\0';
	return c->scratch;
}

/* The next line of the buffer, without its "\n" or "\r\n"; NULL at the end. */
static const char *next_line(struct parse_ctx *c, size_t *n)
{
	const char *start = c->buf + c->pos;
	const char *nl;

	if (c->pos >= c->len)
		return NULL;
	nl = memchr(start, '\n', c->len - c->pos);
	*n = nl ? (size_t)(nl - start) : c->len - c->pos;
	c->pos += *n + (nl != NULL);
	c->line++;
	if (*n && start[*n - 1] == '\r')
		(*n)--;
	return start;
}

/* fgets-style reader handed to inih; see the comment at the top. */
static char *policy_reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *raw;
	size_t n;

	while ((raw = next_line(c, &n))) {
		struct origin at = ctx_origin(c);
		char *s;
		size_t len;

		/*
		 * inih and every C string function stop at a NUL, and some
		 * editors end a line at a lone CR: either would hide the rest of
		 * the line from the check.
		 */
		if (memchr(raw, '\0', n) || memchr(raw, '\r', n)) {
			error_at(c->p, &at, "%s in the line",
				 memchr(raw, '\0', n) ? "NUL byte" : "carriage return");
			continue;
		}
		s = line_copy(c, raw, n);
		if (!s) {
			c->oom = true;
			return NULL;
		}
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
			error_at(c->p, &at, "line too long (%zu characters, at most %d)", len, num - 2);
			continue;
		}
		if (!is_setting(s)) {
			error_at(c->p, &at, "expected 'key = value', got '%.64s'", s);
			continue;
		}
		memcpy(str, s, len);
		str[len] = '\n';
		str[len + 1] = '\0';
		return str;
	}
	return NULL;
}

static int key_lookup(const char *name)
{
	for (int k = 0; k < _KEY_MAX; k++)
		if (streq(vf_key_name((enum vf_key)k), name))
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

const char *policy_section_name(const struct section *s, char *buf, size_t size)
{
	return section_name(s, buf, size);
}

const struct section *policy_section_of(const struct policy *p, const struct origin *at)
{
	unsigned lo = 0, hi = p->n_sections;

	if (!at->file)
		return NULL;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (origin_cmp(&p->sections[mid].at, at) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || p->sections[lo - 1].at.file_idx != at->file_idx)
		return NULL;
	return &p->sections[lo - 1];
}

static int key_lookup(const char *name);

static int parse_eswitch_mode(struct section *s, const char *v, char *err, size_t errsz)
{
	if ((s->eswitch_mode = eswitch_mode_parse(v)) != ESWITCH_UNSET)
		return 0;
	snprintf(err, errsz, "invalid eswitch-mode '%s' (legacy or switchdev)", v);
	return -EINVAL;
}

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

static int parse_pf_flag(int key, const char *v, const char *which, bool *out, char *err, size_t errsz)
{
	if (parse_bool(v, out) == 0)
		return 0;
	snprintf(err, errsz, "invalid %s '%s' (%s)", vf_key_name((enum vf_key)key), v, which);
	return -EINVAL;
}

/* A kernel driver's name as its sysfs link has it: igb, mlx5_core, i40e. */
static int parse_driver(struct section *s, const char *v, char *err, size_t errsz)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	if (n == 0 || v[n] || n >= sizeof(s->sel.driver)) {
		snprintf(err, errsz, "invalid driver '%s' (a kernel driver's name such as ice or mlx5_core)", v);
		return -EINVAL;
	}
	strcpy(s->sel.driver, v);
	return 0;
}

/* vvvv:dddd, the PCI vendor and device IDs, as lspci -n prints them. */
static int parse_pci_id(struct section *s, const char *v, char *err, size_t errsz)
{
	static const char hex[] = "0123456789abcdef";

	if (strlen(v) != 9 || v[4] != ':' || strspn(v, hex) != 4 || strspn(v + 5, hex) != 4) {
		snprintf(err, errsz, "invalid pci-id '%s' (vendor:device in lower-case hex, such as 8086:1593)", v);
		return -EINVAL;
	}
	s->sel.vendor = (uint16_t)strtoul(v, NULL, 16);
	s->sel.device = (uint16_t)strtoul(v + 5, NULL, 16);
	s->sel.pci_id = true;
	return 0;
}

const char *pf_select_str(const struct pf_select *sel, char *buf, size_t size)
{
	char id[24] = "";

	if (sel->pci_id)
		snprintf(id, sizeof(id), "pci-id = %04x:%04x", sel->vendor, sel->device);
	snprintf(buf, size, "%s%s%s%s", sel->driver[0] ? "driver = " : "", sel->driver,
		 sel->driver[0] && id[0] ? ", " : "", id);
	return buf;
}

static int parse_value(struct section *s, int key, const char *v, char *err, size_t errsz)
{
	unsigned long n;
	int r;

	if (key < _KEY_VF_MAX)
		return vf_key_parse((enum vf_key)key, v, &s->vf, err, errsz);
	switch (key) {
	case KEY_PF_UP:
		return parse_pf_flag(key, v, "on or off", &s->pf_up, err, errsz);
	case KEY_MANAGE:
		return parse_pf_flag(key, v, "yes or no", &s->manage, err, errsz);
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
	case KEY_ESWITCH_MODE:
		return parse_eswitch_mode(s, v, err, errsz);
	case KEY_DRIVER:
		return parse_driver(s, v, err, errsz);
	case KEY_PCI_ID:
		return parse_pci_id(s, v, err, errsz);
	case KEY_MTU:
		if ((r = parse_uint(v, MTU_MAX, &n)) < 0 || n < MTU_MIN) {
			snprintf(err, errsz, "invalid mtu '%s' (%d-%d)", v, MTU_MIN, MTU_MAX);
			return -EINVAL;
		}
		s->mtu = (unsigned)n;
		return 0;
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
	/*
	 * manage is one PF's, as device is: a [defaults] manage = no would set
	 * every PF aside, which is not applying at all.
	 */
	if (((key == KEY_DEVICE || key == KEY_MANAGE || key == KEY_DRIVER || key == KEY_PCI_ID) && s->kind != SECTION_PF) ||
	    ((key == KEY_VFS || key == KEY_PF_UP || key == KEY_ALLOW_DOMAIN || key == KEY_ESWITCH_MODE ||
	      key == KEY_MTU) && s->kind == SECTION_VF)) {
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
		if (parse_value(s, key, value, err, sizeof(err)) < 0) {
			error_at(p, &at, "%s", err);
			s->bad |= 1u << key;
		} else
			s->set |= 1u << key;
		memcpy(s->vf.mac, keep, MAC_LEN);
		s->key_at[key] = at;
		return 1;
	}
	if (parse_value(s, key, value, err, sizeof(err)) < 0) {
		error_at(p, &at, "%s", err);
		s->bad |= 1u << key;
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

int policy_parse_buffer(struct policy *p, const char *buf, size_t len, const char *name)
{
	struct parse_ctx c = { .p = p, .buf = buf, .len = len, .cur = -1 };
	int idx = add_file(p, name);
	int r;

	if (idx < 0)
		return idx;
	c.file_idx = (unsigned)idx;
	r = ini_parse_stream(policy_reader, &c, policy_handler, &c);
	free(c.scratch);
	return r == -2 || c.oom ? -ENOMEM : 0;
}

static void file_error(struct policy *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * What one more file may add to the tree: both caps are errors naming the
 * file, so a policy never stops being read silently part way.
 */
static size_t read_limit(const struct policy *p)
{
	size_t left = p->bytes < POLICY_TREE_MAX ? POLICY_TREE_MAX - p->bytes : 0;

	return left < POLICY_FILE_MAX ? left : POLICY_FILE_MAX;
}

static void too_big(struct policy *p, const char *name)
{
	if (read_limit(p) == POLICY_FILE_MAX)
		file_error(p, name, "larger than %d bytes: a policy file is at most 1 MiB",
			   POLICY_FILE_MAX);
	else
		file_error(p, name, "the policy files together are larger than %d bytes (4 MiB): not read",
			   POLICY_TREE_MAX);
}

/* Room for more in a read buffer that may grow to max + 1 bytes. */
static int grow(char **buf, size_t *cap, size_t n, size_t max)
{
	char *t;

	if (n < *cap)
		return 0;
	if (*cap > max)
		return -EFBIG;
	*cap = *cap ? *cap * 2 : 4096;
	if (*cap > max + 1)
		*cap = max + 1;
	t = realloc(*buf, *cap);
	if (!t)
		return -ENOMEM;
	*buf = t;
	return 0;
}

int policy_parse_stream(struct policy *p, FILE *f, const char *name)
{
	size_t max = read_limit(p), cap = 0, len = 0;
	_cleanup_free_ char *buf = NULL;
	int r;

	while ((r = grow(&buf, &cap, len, max)) == 0) {
		size_t k = fread(buf + len, 1, cap - len, f);

		len += k;
		if (k == 0)
			break;
	}
	if (ferror(f))
		return -EIO;
	if (r == -EFBIG || len > max) {
		too_big(p, name);
		return -EFBIG;
	}
	if (r < 0)
		return r;
	p->bytes += len;
	return policy_parse_buffer(p, buf, len, name);
}

/* Read a whole regular file of at most max bytes: -EFBIG past that. */
static int read_fd(int fd, size_t max, char **ret, size_t *len)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, n = 0;
	int r;

	while ((r = grow(&buf, &cap, n, max)) == 0) {
		ssize_t k = read(fd, buf + n, cap - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (r < 0)
		return r;
	if (n > max)
		return -EFBIG;
	*ret = buf;
	buf = NULL;
	*len = n;
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

/* Check and read one opened policy file; path names it in messages. */
static int parse_fd(struct policy *p, int fd, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	char msg[200];
	size_t len = 0;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		file_error(p, path, "cannot stat: %s", strerror(-r));
		return r;
	}
	/* A FIFO or a device could block forever or never end. */
	if (!S_ISREG(st.st_mode)) {
		file_error(p, path, "not a regular file");
		return -EINVAL;
	}
	r = policy_check_perms(fd, "policy file", msg, sizeof(msg));
	if (r < 0) {
		file_error(p, path, "%s", msg);
		return r;
	}
	r = read_fd(fd, read_limit(p), &buf, &len);
	if (r == -EFBIG)
		too_big(p, path);
	else if (r < 0)
		file_error(p, path, "read error: %s", strerror(-r));
	if (r < 0)
		return r;
	p->bytes += len;
	return policy_parse_buffer(p, buf, len, path);
}

/* Policy files are opened O_NONBLOCK: a FIFO would block open() itself. */
#define POLICY_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* ENOENT from open(): a dangling symlink names something that is not there. */
static void open_error(struct policy *p, const char *path, int r)
{
	struct stat st;

	if (r == -ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		file_error(p, path, "cannot open: %s (a dangling symlink)", strerror(-r));
	else if (r == -ENOTDIR)
		file_error(p, path, "not a directory");
	else
		file_error(p, path, "cannot open: %s", strerror(-r));
}

int policy_parse_file(struct policy *p, const char *path)
{
	_cleanup_close_ int fd = open(path, POLICY_OPEN_FLAGS);

	if (fd < 0) {
		int r = -errno;

		open_error(p, path, r);
		return r;
	}
	return parse_fd(p, fd, path);
}

/* A directory of the policy tree: -ENOENT when absent, an error if unsafe. */
static int open_policy_dir(struct policy *p, const char *path, int *ret)
{
	char msg[200];
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT) {
			struct stat st;

			if (lstat(path, &st) < 0)
				return r;
		}
		open_error(p, path, r);
		return r;
	}
	/* As sshd: whoever can write a directory above a file can replace it. */
	r = policy_check_perms(fd, "policy directory", msg, sizeof(msg));
	if (r < 0) {
		file_error(p, path, "%s", msg);
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

static int conf_filter(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf names in dfd, sorted; ret is a NULL-terminated array. */
static int conf_names(int dfd, char ***ret, size_t *n_ret)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	for (errno = 0; (de = readdir(d)); errno = 0) {
		char **t;

		if (!conf_filter(de->d_name))
			continue;
		if (n == POLICY_DIR_FILES_MAX) {
			r = -EMFILE;
			break;
		}
		t = realloc(names, (n + 2) * sizeof(*t));
		if (!t || !(t[n] = strdup(de->d_name))) {
			names = t ? t : names;
			r = -ENOMEM;
			break;
		}
		names = t;
		names[++n] = NULL;
	}
	if (!r && errno)
		r = -errno;
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), strcmp_p);
	*ret = names;
	*n_ret = n;
	return r;
}

static int parse_conf_d(struct policy *p, const char *dir)
{
	_cleanup_close_ int dfd = -1;
	char **names = NULL;
	size_t n = 0;
	int r = open_policy_dir(p, dir, &dfd);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	r = conf_names(dfd, &names, &n);
	if (r == -EMFILE)
		file_error(p, dir, "more than %d *.conf files", POLICY_DIR_FILES_MAX);
	else if (r < 0)
		file_error(p, dir, "cannot read the directory: %s", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		int fd, q;

		if (r == 0 && path_join(path, sizeof(path), "%s/%s", dir, names[i]) == 0) {
			fd = openat(dfd, names[i], POLICY_OPEN_FLAGS);
			if (fd < 0) {
				q = -errno;
				open_error(p, path, q);
			} else {
				q = parse_fd(p, fd, path);
				close(fd);
			}
			if (q == -ENOMEM)
				r = q;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int policy_parse_default(struct policy *p, const char *main_file, const char *dir)
{
	char top[4096];
	const char *slash = strrchr(main_file, '/');
	int r, fd = -1;

	/* The directory that holds the main file (and conf.d): /etc/vfwarden. */
	if (slash) {
		snprintf(top, sizeof(top), "%.*s", (int)(slash - main_file), main_file);
		r = open_policy_dir(p, top[0] ? top : "/", &fd);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		close(fd);
	}
	fd = open(main_file, POLICY_OPEN_FLAGS);
	if (fd >= 0) {
		r = parse_fd(p, fd, main_file);
		close(fd);
	} else {
		struct stat st;

		r = -errno;
		if (r == -ENOENT && lstat(main_file, &st) < 0)
			r = 0; /* no main file: conf.d alone */
		else
			open_error(p, main_file, r);
	}
	if (r == -ENOMEM)
		return r;
	return parse_conf_d(p, dir);
}

/* Key k of section s over dst. */
static void vf_conf_merge_key(struct vf_conf *dst, const struct section *s, enum vf_key k)
{
	if (k >= _KEY_VF_MAX)
		return;
	vf_key_copy(k, dst, &s->vf);
	dst->at[k] = s->key_at[k];
}

static void vf_conf_merge(struct vf_conf *dst, const struct section *s)
{
	for (int k = 0; k < _KEY_VF_MAX; k++)
		if (s->set & (1u << k))
			vf_conf_merge_key(dst, s, (enum vf_key)k);
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

/* [defaults] may appear in several files: the later setting wins. */
static void merge_defaults(const struct policy *p, struct section *d)
{
	for (unsigned i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];

		if (s->kind != SECTION_DEFAULTS)
			continue;
		vf_conf_merge(&d->vf, s);
		for (int k = 0; k < _KEY_MAX; k++)
			if (s->set & (1u << k)) {
				d->key_at[k] = s->key_at[k];
				if (k == KEY_VFS)
					d->vfs = s->vfs;
				if (k == KEY_PF_UP)
					d->pf_up = s->pf_up;
				if (k == KEY_ALLOW_DOMAIN)
					d->allow_domain = s->allow_domain;
				if (k == KEY_ESWITCH_MODE)
					d->eswitch_mode = s->eswitch_mode;
				if (k == KEY_MTU)
					d->mtu = s->mtu;
			}
		d->set |= s->set;
		d->bad |= s->bad;
	}
}

/* The first selector key of a selector [pf] as written, for FILE:LINE. */
static enum vf_key selector_key(const struct section *s)
{
	if (!s->key_at[KEY_DRIVER].line)
		return KEY_PCI_ID;
	if (!s->key_at[KEY_PCI_ID].line)
		return KEY_DRIVER;
	return origin_cmp(&s->key_at[KEY_DRIVER], &s->key_at[KEY_PCI_ID]) < 0 ? KEY_DRIVER : KEY_PCI_ID;
}

/*
 * A [pf] names one PF by device or selects PFs by driver and pci-id: one
 * of the two, valid (an invalid value was reported on its own line).
 */
static bool pf_names(struct policy *p, const struct section *s)
{
	const uint32_t dev = 1u << KEY_DEVICE, sel = (1u << KEY_DRIVER) | (1u << KEY_PCI_ID);
	const uint32_t written = s->set | s->bad;

	if ((written & dev) && (written & sel)) {
		enum vf_key k = (written & (1u << KEY_DRIVER)) ? KEY_DRIVER : KEY_PCI_ID;

		error_at(p, s->key_at[k].line ? &s->key_at[k] : &s->at,
			 "[pf %s] has both 'device' and '%s': a section names one PF by device or selects PFs by driver and pci-id",
			 s->label, vf_key_name(k));
		return false;
	}
	if (!(written & (dev | sel))) {
		error_at(p, &s->at, "[pf %s] has no 'device', 'driver' or 'pci-id'", s->label);
		return false;
	}
	return !(s->bad & (dev | sel));
}

/*
 * The [pf] section s resolved over the defaults d; false when it cannot be
 * (reported, or left to the error on its own line).
 */
static bool pf_resolve(struct policy *p, const struct section *s, const struct section *d,
		       unsigned *total, struct pf_policy *pf)
{
	const uint32_t vfs = 1u << KEY_VFS;

	if (!pf_names(p, s))
		return false;
	/*
	 * No default count: a [pf] saved half-written while vfwarden.path
	 * watches must not plan "vfs 4 -> 0" and destroy every idle VF.
	 */
	if (!((s->set | d->set) & vfs)) {
		if (!((s->bad | d->bad) & vfs))
			error_at(p, &s->at, "[pf %s] has no 'vfs' (the number of VFs; vfs = 0 removes them)",
				 s->label);
		return false;
	}
	memset(pf, 0, sizeof(*pf));
	strcpy(pf->label, s->label);
	strcpy(pf->section, s->label);
	pf->selector = !(s->set & (1u << KEY_DEVICE));
	pf->sel = s->sel;
	strcpy(pf->device, s->device);
	pf->device_kind = policy_device_kind(pf->device, pf->device_mac);
	pf->at = s->key_at[pf->selector ? selector_key(s) : KEY_DEVICE];
	pf->vfs = (s->set & vfs) ? s->vfs : d->vfs;
	pf->pf_up = (s->set & (1u << KEY_PF_UP)) ? s->pf_up
		    : (d->set & (1u << KEY_PF_UP)) ? d->pf_up : true;
	pf->allow_domain = (s->set & (1u << KEY_ALLOW_DOMAIN)) ? s->allow_domain : d->allow_domain;
	pf->eswitch_mode = (s->set & (1u << KEY_ESWITCH_MODE)) ? s->eswitch_mode : d->eswitch_mode;
	pf->manage = (s->set & (1u << KEY_MANAGE)) ? s->manage : true;
	pf->manage_at = s->key_at[KEY_MANAGE];
	for (int k = _KEY_VF_MAX; k < _KEY_MAX; k++)
		if (s->set & (1u << k))
			pf->key_at[k] = s->key_at[k];
		else if (d->set & (1u << k))
			pf->key_at[k] = d->key_at[k];
	pf->mtu = (s->set & (1u << KEY_MTU)) ? s->mtu : d->mtu;
	/* Each VF is a struct in memory: bound them all, whatever vfs says. */
	if (pf->vfs > POLICY_VFS_TOTAL_MAX - *total) {
		error_at(p, &s->at, "[pf %s] with vfs = %u: the policy would describe more than %d VFs",
			 s->label, pf->vfs, POLICY_VFS_TOTAL_MAX);
		return false;
	}
	*total += pf->vfs;
	return true;
}

/* Every [pf] into p->pfs; pf_of maps a section to its PF, or -1. */
static int build_pfs(struct policy *p, const struct section *d, int *pf_of)
{
	unsigned total = 0, n = 0;

	for (unsigned i = 0; i < p->n_sections; i++)
		n += p->sections[i].kind == SECTION_PF;
	p->pfs = calloc(n ? n : 1, sizeof(*p->pfs));
	if (!p->pfs)
		return -ENOMEM;
	for (unsigned i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		struct pf_policy *pf = &p->pfs[p->n_pfs];
		struct vf_conf base;

		pf_of[i] = -1;
		if (s->kind != SECTION_PF || !pf_resolve(p, s, d, &total, pf))
			continue;
		pf->vf = calloc(pf->vfs ? pf->vfs : 1, sizeof(*pf->vf));
		if (!pf->vf)
			return -ENOMEM;
		vf_conf_default(&base);
		vf_conf_merge(&base, d);
		vf_conf_merge(&base, s);
		for (unsigned v = 0; v < pf->vfs; v++)
			pf->vf[v] = base;
		pf_of[i] = (int)p->n_pfs++;
	}
	return 0;
}

static int device_cmp(const struct pf_policy *a, const struct pf_policy *b)
{
	if (a->device_kind != b->device_kind)
		return a->device_kind < b->device_kind ? -1 : 1;
	if (a->device_kind == DEVICE_MAC)
		return memcmp(a->device_mac, b->device_mac, MAC_LEN);
	return strcmp(a->device, b->device);
}

static int by_device(const void *a, const void *b, void *ctx)
{
	const struct pf_policy *pfs = ctx;
	unsigned i = *(const unsigned *)a, j = *(const unsigned *)b;
	int r = device_cmp(&pfs[i], &pfs[j]);

	return r ? r : (i > j) - (i < j);
}

/* Two [pf] on one device: sorted, each names the first. */
static int check_devices(struct policy *p)
{
	_cleanup_free_ unsigned *ix = calloc(p->n_pfs ? p->n_pfs : 1, sizeof(*ix));
	unsigned n = 0;
	char w[300];

	if (!ix)
		return -ENOMEM;
	/* Selector sections name no device; which PFs they share is the host's (match.c). */
	for (unsigned i = 0; i < p->n_pfs; i++)
		if (!p->pfs[i].selector)
			ix[n++] = i;
	qsort_r(ix, n, sizeof(*ix), by_device, p->pfs);
	for (unsigned i = 1, first = 0; i < n; i++) {
		const struct pf_policy *a = &p->pfs[ix[first]], *b = &p->pfs[ix[i]];

		if (device_cmp(a, b) != 0) {
			first = i;
			continue;
		}
		/* Keep it: its other settings still get checked. */
		error_at(p, &b->at, "device '%s' of [pf %s] is already [pf %s] (%s)", b->device,
			 b->label, a->label, where(&a->at, w, sizeof(w)));
	}
	return 0;
}

/* The PF a [vf] section applies to, or -1 (reported when it has no [pf]). */
static int vf_section_pf(struct policy *p, const struct section *s, const int *pf_of)
{
	int sec = pf_section_find(p, s->label);
	const struct pf_policy *pf;
	char sn[64];

	if (sec < 0) {
		error_at(p, &s->at, "%s: there is no [pf %s]", section_name(s, sn, sizeof(sn)), s->label);
		return -1;
	}
	if (pf_of[sec] < 0)
		return -1; /* that [pf] has its own error */
	pf = &p->pfs[pf_of[sec]];
	if (s->vf_hi >= pf->vfs) {
		error_at(p, &s->at, "%s: VF %u does not exist, [pf %s] has vfs = %u",
			 section_name(s, sn, sizeof(sn)), s->vf_hi, s->label, pf->vfs);
		return -1;
	}
	if ((s->set & (1u << KEY_MAC)) && s->vf.mac_mode == MAC_FIXED && s->vf_hi > s->vf_lo) {
		error_at(p, &s->key_at[KEY_MAC],
			 "mac %s would be given to %u VFs; set a fixed mac in a [vf] section of one VF",
			 format_mac(s->vf.mac, sn), s->vf_hi - s->vf_lo + 1);
		return -1;
	}
	return pf_of[sec];
}

struct vf_range {
	int pf;
	unsigned sec;
};

static int by_range(const void *a, const void *b, void *ctx)
{
	const struct vf_range *x = a, *y = b;
	const struct section *sx = &((const struct section *)ctx)[x->sec];
	const struct section *sy = &((const struct section *)ctx)[y->sec];

	if (x->pf != y->pf)
		return x->pf < y->pf ? -1 : 1;
	if (sx->vf_lo != sy->vf_lo)
		return sx->vf_lo < sy->vf_lo ? -1 : 1;
	return (x->sec > y->sec) - (x->sec < y->sec);
}

/*
 * Key k of the [vf] sections r[0..n): two may overlap, but not both set k
 * for one VF. Sorted by PF and first VF, a section overlaps one before it
 * exactly when it starts at or below the highest VF those reach; the later
 * in the files is blamed. The sections merged are disjoint, so the work is
 * bounded by the VFs, not by sections times VFs.
 */
static void merge_vf_key(struct policy *p, struct vf_range *r, unsigned n, enum vf_key k)
{
	const struct section *sec = p->sections;
	char w[300];

	qsort_r(r, n, sizeof(*r), by_range, p->sections);
	for (unsigned i = 0, top = 0; i < n; i++) {
		const struct section *s = &sec[r[i].sec], *t = &sec[r[top].sec];

		if (i > 0 && r[top].pf == r[i].pf && s->vf_lo <= t->vf_hi) {
			const struct section *late = r[i].sec > r[top].sec ? s : t;
			const struct section *early = late == s ? t : s;

			error_at(p, &late->key_at[k], "'%s' for VF %u is also set at %s", vf_key_name(k),
				 s->vf_lo, where(&early->key_at[k], w, sizeof(w)));
			if (s->vf_hi > t->vf_hi)
				top = i;
			continue;
		}
		top = i;
		for (unsigned v = s->vf_lo; v <= s->vf_hi; v++)
			vf_conf_merge_key(&p->pfs[r[i].pf].vf[v], s, k);
	}
}

static int apply_vf_sections(struct policy *p, const int *pf_of)
{
	_cleanup_free_ struct vf_range *all = calloc(p->n_sections ? p->n_sections : 1, sizeof(*all));
	_cleanup_free_ struct vf_range *r = calloc(p->n_sections ? p->n_sections : 1, sizeof(*r));
	unsigned n_all = 0;

	if (!all || !r)
		return -ENOMEM;
	for (unsigned i = 0; i < p->n_sections; i++) {
		int pf;

		if (p->sections[i].kind != SECTION_VF)
			continue;
		pf = vf_section_pf(p, &p->sections[i], pf_of);
		if (pf >= 0)
			all[n_all++] = (struct vf_range){ .pf = pf, .sec = i };
	}
	for (int k = 0; k < _KEY_VF_MAX; k++) {
		unsigned n = 0;

		for (unsigned i = 0; i < n_all; i++)
			if (p->sections[all[i].sec].set & (1u << k))
				r[n++] = all[i];
		merge_vf_key(p, r, n, (enum vf_key)k);
	}
	return 0;
}

struct fixed_mac {
	const uint8_t *mac;
	const struct origin *at;
};

static int by_mac(const void *a, const void *b)
{
	const struct fixed_mac *x = a, *y = b;
	int r = memcmp(x->mac, y->mac, MAC_LEN);

	return r ? r : origin_cmp(x->at, y->at);
}

/*
 * The same fixed MAC on two VFs, sorted: in each group of one MAC, a line
 * that gives it to several VFs is one error, and every later line names
 * the first.
 */
static int check_macs(struct policy *p)
{
	_cleanup_free_ struct fixed_mac *m = NULL;
	size_t n = 0, cap = 0;
	char mac[MAC_STR_LEN], w[300];

	for (unsigned i = 0; i < p->n_pfs; i++)
		cap += p->pfs[i].vfs;
	m = calloc(cap ? cap : 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < p->n_pfs; i++)
		for (unsigned v = 0; v < p->pfs[i].vfs; v++)
			if (p->pfs[i].vf[v].mac_mode == MAC_FIXED)
				m[n++] = (struct fixed_mac){ p->pfs[i].vf[v].mac, &p->pfs[i].vf[v].at[KEY_MAC] };
	if (n)
		qsort(m, n, sizeof(*m), by_mac);
	for (size_t i = 0, first = 0; i < n; i++) {
		if (i == 0 || memcmp(m[i].mac, m[first].mac, MAC_LEN) != 0) {
			first = i;
			continue;
		}
		/* One fixed mac at [pf] or [defaults] level lands on every VF. */
		if (origin_cmp(m[i].at, m[i - 1].at) == 0) {
			if (i - 1 > first && origin_cmp(m[i - 1].at, m[i - 2].at) == 0)
				continue; /* this line is reported already */
			error_at(p, m[i].at,
				 "mac %s would be given to more than one VF; set a fixed mac in a [vf] section of one VF",
				 format_mac(m[i].mac, mac));
		} else if (origin_cmp(m[i].at, m[first].at) != 0)
			error_at(p, m[i].at, "duplicate mac %s, also set at %s", format_mac(m[i].mac, mac),
				 where(m[first].at, w, sizeof(w)));
	}
	return 0;
}

/*
 * A selector section may govern several PFs, each VF of it one per PF: a
 * fixed mac would be on all of them. mac = auto derives one from each PF.
 */
static void check_selector_macs(struct policy *p)
{
	char mac[MAC_STR_LEN];

	for (unsigned i = 0; i < p->n_pfs; i++)
		for (unsigned v = 0; p->pfs[i].selector && v < p->pfs[i].vfs; v++)
			if (p->pfs[i].vf[v].mac_mode == MAC_FIXED)
				error_at(p, &p->pfs[i].vf[v].at[KEY_MAC],
					 "fixed mac %s for [pf %s], which selects PFs by driver or pci-id and may match several; use mac = auto or a [pf] with device",
					 format_mac(p->pfs[i].vf[v].mac, mac), p->pfs[i].label);
}

static int validate(struct policy *p, int *pf_of)
{
	struct section defaults = { .kind = SECTION_DEFAULTS };
	int r;

	merge_defaults(p, &defaults);
	if ((r = build_pfs(p, &defaults, pf_of)) < 0 || (r = check_devices(p)) < 0 ||
	    (r = apply_vf_sections(p, pf_of)) < 0)
		return r;
	/* Errors depend on the resolved settings alone: skip a VF like the last. */
	for (unsigned i = 0; i < p->n_pfs; i++)
		for (unsigned v = 0; v < p->pfs[i].vfs; v++)
			if (v == 0 || memcmp(&p->pfs[i].vf[v], &p->pfs[i].vf[v - 1],
					     sizeof(struct vf_conf)) != 0)
				check_vf(p, &p->pfs[i], v);
	check_selector_macs(p);
	return check_macs(p);
}

int policy_validate(struct policy *p)
{
	int *pf_of = calloc(p->n_sections ? p->n_sections : 1, sizeof(*pf_of));
	int r;

	if (!pf_of)
		return -ENOMEM;
	r = validate(p, pf_of);
	free(pf_of);
	if (r < 0)
		return r;
	if (p->n_errors) /* qsort(NULL, 0) is undefined */
		qsort(p->errors, p->n_errors, sizeof(*p->errors), by_origin);
	if (p->n_unlisted) {
		/* Room was kept: n_errors stops at POLICY_ERRORS_MAX. */
		struct policy_error *e = realloc(p->errors, (p->n_errors + 1) * sizeof(*e));

		if (e) {
			p->errors = e;
			e = &p->errors[p->n_errors++];
			e->at = p->unlisted_at;
			snprintf(e->msg, sizeof(e->msg),
				 "%lu more errors not listed (at most %d are); the first of them is here",
				 p->n_unlisted, POLICY_ERRORS_MAX);
			p->n_unlisted = 0;
		}
	}
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
