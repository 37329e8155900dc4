/* SPDX-License-Identifier: MIT */
/*
 * The hook's records (records.h): format, reading, writing, staleness, and
 * the overlay that makes a running domain's settings the VF's wanted state.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "records.h"

/* domain= and every VF key with room to spare: a larger file is not ours. */
#define RECORD_TEXT_MAX 2048

static bool setting_valid(const char *key, const char *value, enum vf_key *k)
{
	struct vf_conf scratch = { 0 };
	char err[128];

	return vf_setting_parse(key, value, &scratch, k, err, sizeof(err)) == 0;
}

int record_add(struct vf_record *r, const char *key, const char *value)
{
	struct record_setting *s = NULL;
	enum vf_key k;

	if (strlen(key) >= sizeof(s->key) || strlen(value) >= sizeof(s->value) ||
	    !setting_valid(key, value, &k))
		return -EINVAL;
	for (unsigned i = 0; i < r->n_set && !s; i++)
		if (streq(r->set[i].key, key))
			s = &r->set[i];
	if (s) {
		/* Later wins, and applies later: move it to the end. */
		memmove(s, s + 1, (size_t)(&r->set[r->n_set] - (s + 1)) * sizeof(*s));
		r->n_set--;
	}
	if (r->n_set >= ELEMENTSOF(r->set))
		return -E2BIG;
	s = &r->set[r->n_set++];
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->value, sizeof(s->value), "%s", value);
	return 0;
}

/* snprintf() at buf + *n, or -ENOBUFS when it does not fit. */
static int append(char *buf, size_t size, size_t *n, const char *a, const char *b)
{
	int w = snprintf(buf + *n, size - *n, "%s=%s\n", a, b);

	if (w < 0 || (size_t)w >= size - *n)
		return -ENOBUFS;
	*n += (size_t)w;
	return 0;
}

int record_format(const struct vf_record *r, char *buf, size_t size)
{
	size_t n = 0;
	int ret = append(buf, size, &n, "domain", r->domain);

	for (unsigned i = 0; ret == 0 && i < r->n_set; i++)
		ret = append(buf, size, &n, r->set[i].key, r->set[i].value);
	if (ret == 0 && r->reset_pending)
		ret = append(buf, size, &n, "reset-pending", "yes");
	return ret < 0 ? ret : (int)n;
}

/* One "key=value" line of a record into r. */
static int parse_line(char *line, bool first, struct vf_record *r)
{
	char *eq = strchr(line, '=');

	if (!eq)
		return -EBADMSG;
	*eq = '\0';
	if (first != streq(line, "domain"))
		return -EBADMSG;
	if (first) {
		if (strlen(eq + 1) >= sizeof(r->domain))
			return -EBADMSG;
		snprintf(r->domain, sizeof(r->domain), "%s", eq + 1);
		return 0;
	}
	if (streq(line, "reset-pending")) {
		r->reset_pending = streq(eq + 1, "yes");
		return 0;
	}
	return record_add(r, line, eq + 1) < 0 ? -EBADMSG : 0;
}

int record_parse(const char *text, struct vf_record *r)
{
	char buf[RECORD_TEXT_MAX], *line, *save = NULL;
	bool first = true;
	int ret;

	memset(r, 0, sizeof(*r));
	if (strlen(text) >= sizeof(buf))
		return -EBADMSG;
	snprintf(buf, sizeof(buf), "%s", text);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if ((ret = parse_line(line, first, r)) < 0)
			return ret;
		first = false;
	}
	return first ? -EBADMSG : 0;
}

int record_apply(const struct vf_record *r, struct vf_conf *c, char *err, size_t errsz)
{
	enum vf_key k;
	int ret;

	for (unsigned i = 0; i < r->n_set; i++)
		if ((ret = vf_setting_parse(r->set[i].key, r->set[i].value, c, &k, err, errsz)) < 0)
			return -EINVAL;
	return vf_conf_check(c, &k, err, errsz);
}

static int record_path(char *buf, size_t size, const char *pci)
{
	if (!pci_addr_valid(pci))
		return -EINVAL;
	return path_join(buf, size, "%s/vf/%s", roots.run, pci);
}

static int mkdir_run(void)
{
	char p[PATH_MAX];
	int r = path_join(p, sizeof(p), "%s/vf", roots.run);

	if (r < 0)
		return r;
	if (mkdir(roots.run, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int record_write(const char *pci, const struct vf_record *rec)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8], text[RECORD_TEXT_MAX];
	_cleanup_close_ int fd = -1;
	int n, r;

	if ((n = record_format(rec, text, sizeof(text))) < 0)
		return n;
	if ((r = mkdir_run()) < 0 || (r = record_path(p, sizeof(p), pci)) < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n)
		return -EIO;
	/* Atomic: a crash leaves the old record or the new one, never half. */
	if (rename(tmp, p) < 0)
		return -errno;
	return 0;
}

/* The record behind fd: 0, -EBADMSG. */
static int read_fd(int fd, struct vf_record *r)
{
	char text[RECORD_TEXT_MAX];
	ssize_t n = read(fd, text, sizeof(text) - 1);

	if (n < 0)
		return -errno;
	text[n] = '\0';
	return record_parse(text, r);
}

int record_read(const char *pci, struct vf_record *r)
{
	char p[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int ret = record_path(p, sizeof(p), pci);

	memset(r, 0, sizeof(*r));
	if (ret < 0)
		return ret;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return read_fd(fd, r);
}

int record_remove(const char *pci)
{
	char p[PATH_MAX];
	int r = record_path(p, sizeof(p), pci);

	if (r < 0)
		return r;
	return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
}

/*
 * 16.5: a release that cannot take the lock does not wait longer: libvirt
 * runs hooks with no time limit while it holds the domain, so a stop would
 * hang behind a long apply or a wedged driver. It leaves the reset to the
 * next apply instead, and to vfwarden-reset.path, which starts one.
 */
int record_mark_reset_pending(const char *pci, const char *domain)
{
	static const char mark[] = "reset-pending=yes\n";
	char p[PATH_MAX];
	struct vf_record r;
	_cleanup_close_ int fd = -1;
	int ret = record_path(p, sizeof(p), pci);

	if (ret < 0)
		return ret;
	/*
	 * Appended through the fd whose record names domain: if another
	 * domain's prepare renames its record in meanwhile, this writes to the
	 * replaced file, which nobody reads again.
	 */
	fd = open(p, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if ((ret = read_fd(fd, &r)) < 0)
		return ret;
	if (!streq(r.domain, domain))
		return -ENOENT;
	if (!r.reset_pending && write(fd, mark, sizeof(mark) - 1) != (ssize_t)sizeof(mark) - 1)
		return -EIO;
	if (path_join(p, sizeof(p), "%s/%s", roots.run, RECORD_RESET_FLAG) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int flag = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	return flag < 0 ? -errno : 0;
}

/*
 * Whether the domain may still run: false only when its pid file is gone or
 * names a process that is not there. What cannot be read counts as alive:
 * a wrong "gone" would reset or destroy a VM's VF. A pid that was reused
 * after QEMU died (libvirtd down too, so the pid file stayed) also reads as
 * alive; the record then blocks until --force, the domain's release or a
 * reboot empties /run.
 */
static bool domain_alive(const char *name)
{
	char p[PATH_MAX], buf[32];
	unsigned long pid;
	int r;

	/* libvirt refuses '/' in a domain name: no pid file can match. */
	if (!name[0] || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return true;
	if (path_join(p, sizeof(p), "%s/%s.pid", roots.qemu_run, name) < 0)
		return true;
	r = read_line_file(p, buf, sizeof(buf));
	if (r == -ENOENT)
		return false;
	if (r < 0 || parse_uint(buf, INT_MAX, &pid) < 0 || pid == 0)
		return true;
	if (path_join(p, sizeof(p), "%s/%lu", roots.proc, pid) < 0)
		return true;
	return access(p, F_OK) == 0 || errno != ENOENT;
}

void record_scan(struct vf_live *vf)
{
	char p[PATH_MAX];
	struct vf_record r;
	struct stat st;
	int ret;

	vf->reset_pending = false;
	/* A VF without a device (netdevsim) has no record: spare 4096 of them the read. */
	if (!vf->pci[0])
		return;
	/*
	 * A record whose settings cannot be read (another version wrote it)
	 * still names its domain: the VF is that domain's, only without the
	 * overlay. One without domain= first is not a record.
	 */
	ret = record_read(vf->pci, &r);
	if ((ret < 0 && !(ret == -EBADMSG && r.domain[0])) || record_path(p, sizeof(p), vf->pci) < 0)
		return;
	snprintf(vf->owner, sizeof(vf->owner), "domain %.80s", r.domain);
	vf->record_age = stat(p, &st) == 0 ? time(NULL) - st.st_mtime : 0;
	vf->reset_pending = r.reset_pending;
	/* A clock set back makes the age negative: that is young, not stale. */
	vf->stale_record = r.reset_pending ||
			   (vf->record_age >= RECORD_GRACE_SEC && !domain_alive(r.domain));
	vf->in_use = !vf->stale_record;
}

bool record_live(const struct vf_live *vf)
{
	return strncmp(vf->owner, "domain ", 7) == 0 && !vf->stale_record && !vf->reset_pending;
}

int records_overlay(const struct pf_policy *pol, const struct pf_live *pf, struct pf_policy *eff)
{
	unsigned n = pol->vfs < pf->n_vf ? pol->vfs : pf->n_vf;

	*eff = *pol;
	for (unsigned i = 0; i < n; i++) {
		struct vf_record r;
		struct vf_conf c;
		char err[200];

		if (!record_live(&pf->vf[i]) || record_read(pf->vf[i].pci, &r) < 0)
			continue;
		c = pol->vf[i];
		if (record_apply(&r, &c, err, sizeof(err)) < 0)
			continue;
		if (eff->vf == pol->vf) {
			if (!(eff->vf = malloc(pol->vfs * sizeof(*eff->vf))))
				return -ENOMEM;
			memcpy(eff->vf, pol->vf, pol->vfs * sizeof(*eff->vf));
		}
		eff->vf[i] = c;
	}
	return 0;
}

void records_overlay_free(const struct pf_policy *pol, struct pf_policy *eff)
{
	if (eff->vf != pol->vf)
		free(eff->vf);
	eff->vf = pol->vf;
}
