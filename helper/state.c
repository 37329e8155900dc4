/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "host.h"
#include "state.h"

void last_apply_count_failure(struct last_apply *l, const char *key)
{
	for (unsigned i = 0; i < l->n_failed; i++)
		if (streq(l->failed[i].key, key)) {
			l->failed[i].count++;
			return;
		}
	if (l->n_failed == FAILED_KEYS_MAX)
		return;
	snprintf(l->failed[l->n_failed].key, sizeof(l->failed[0].key), "%s", key);
	l->failed[l->n_failed++].count = 1;
}

/* Write l to DIR/NAME through NAME.tmp and rename(2): a reader sees the old or the new record. */
static int record_write(const char *dir, const char *name, const struct last_apply *l)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if ((r = path_join(p, sizeof(p), "%s/%s", dir, name)) < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (!(f = fdopen(fd, "we"))) {
		r = -errno;
		close(fd);
		return r;
	}
	fprintf(f, "time=%lld\nstatus=%d\nchanges=%u\nfailures=%u\n", (long long)l->time, l->status,
		l->changes, l->failures);
	for (unsigned i = 0; i < l->n_failed; i++)
		fprintf(f, "failed.%s=%u\n", l->failed[i].key, l->failed[i].count);
	if (fflush(f) != 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, p) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

static int record_read(const char *p, struct last_apply *l)
{
	char line[128];
	_cleanup_fclose_ FILE *f = NULL;

	memset(l, 0, sizeof(*l));
	if (!(f = fopen(p, "re")))
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');
		unsigned long v;

		line[strcspn(line, "\n")] = '\0';
		if (!eq)
			continue;
		*eq++ = '\0';
		if (parse_uint(eq, ~0UL, &v) < 0)
			continue;
		if (streq(line, "time"))
			l->time = (time_t)v;
		else if (streq(line, "status"))
			l->status = (int)v;
		else if (streq(line, "changes"))
			l->changes = (unsigned)v;
		else if (streq(line, "failures"))
			l->failures = (unsigned)v;
		else if (strncmp(line, "failed.", 7) == 0 && l->n_failed < FAILED_KEYS_MAX) {
			snprintf(l->failed[l->n_failed].key, sizeof(l->failed[0].key), "%.31s", line + 7);
			l->failed[l->n_failed++].count = (unsigned)v;
		}
	}
	return 0;
}

int last_apply_write(const struct last_apply *l)
{
	return record_write(roots.run, "last-apply", l);
}

int last_apply_read(struct last_apply *l)
{
	char p[PATH_MAX];
	int r;

	if ((r = path_join(p, sizeof(p), "%s/last-apply", roots.run)) < 0)
		return r;
	return record_read(p, l);
}

int last_apply_write_pf(const char *pci, const struct last_apply *l)
{
	char d[PATH_MAX];
	int r;

	if (mkdir(roots.run, 0755) < 0 && errno != EEXIST)
		return -errno;
	if ((r = path_join(d, sizeof(d), "%s/last-apply.d", roots.run)) < 0)
		return r;
	return record_write(d, pci, l);
}

int last_apply_read_pf(const char *pci, struct last_apply *l)
{
	char p[PATH_MAX];
	int r;

	if ((r = path_join(p, sizeof(p), "%s/last-apply.d/%s", roots.run, pci)) < 0)
		return r;
	return record_read(p, l);
}
