/* SPDX-License-Identifier: MIT */
/*
 * libvirt, read-only, outside the hook: which domains reference which PCI
 * devices, running or only defined.
 *
 * The libvirt client is run in a child process with a deadline, not in
 * vfwarden itself: its calls have no timeout of their own and can block for
 * good. They do whenever libvirt holds a domain's lock, as it does while it
 * runs the hook for that domain's start: the hook waits for vfwarden's lock,
 * which an apply asking libvirt holds. A child is killed at the deadline,
 * with whatever it allocated and connected; the parent never maps libvirt.
 * The child sends fixed-size records over a pipe.
 *
 * libvirtd is only asked when it runs (its pid file names a live process):
 * connecting to its socket would start it by socket activation, and
 * vfwarden.service is ordered before libvirtd.service, so from there that
 * start would wait for vfwarden itself; status and doctor should not start
 * daemons either. A host without libvirt has no pid file and loads nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "dl.h"
#include "hook.h"
#include "host.h"
#include "virt.h"

/* Bounds on what one answer may hold: at most this many records are kept. */
#define VIRT_RECORDS_MAX 65536

enum { REC_DOM = 'D', REC_REF = 'R', REC_ERR = 'E' };

struct virt_rec {
	char kind;
	bool active, autostart, live;
	int state;
	char text[256]; /* the domain's name, the PCI address or libvirt's message */
};

/* The child's exit statuses besides 0. */
enum { CHILD_NOLIB = 3, CHILD_ERR = 4 };

/* "/run" (under VFWARDEN_TEST_ROOT in tests): roots.qemu_run is RUN/libvirt/qemu. */
static int run_path(char *buf, size_t size, const char *rel)
{
	static const char tail[] = "/libvirt/qemu";
	size_t n = strlen(roots.qemu_run);

	if (n < sizeof(tail) - 1 || strcmp(roots.qemu_run + n - (sizeof(tail) - 1), tail) != 0)
		return -EINVAL;
	return path_join(buf, size, "%.*s/%s", (int)(n - (sizeof(tail) - 1)), roots.qemu_run, rel);
}

/* The pid file of a running daemon: 0 with its mtime (when it started), or -ESRCH. */
static int daemon_running(const char *pidfile, time_t *started)
{
	char p[PATH_MAX], line[32];
	unsigned long pid;
	struct stat st;

	if (run_path(p, sizeof(p), pidfile) < 0 || read_line_file(p, line, sizeof(line)) < 0 ||
	    parse_uint(line, 4194304, &pid) < 0 || pid == 0 || stat(p, &st) < 0)
		return -ESRCH;
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return -ESRCH;
	*started = st.st_mtime;
	return 0;
}

int virt_daemon(char *name, size_t size, time_t *started)
{
	/* The modular daemon first: where it runs, libvirtd is not the qemu driver's. */
	static const char *const daemons[] = { "virtqemud", "libvirtd" };

	for (size_t i = 0; i < ELEMENTSOF(daemons); i++) {
		char pidfile[32];

		snprintf(pidfile, sizeof(pidfile), "%s.pid", daemons[i]);
		if (daemon_running(pidfile, started) == 0) {
			snprintf(name, size, "%s", daemons[i]);
			return 0;
		}
	}
	return -ESRCH;
}

int virt_hook_newer(time_t since, char *path, size_t size)
{
	static const char *const links[] = { "qemu.d/vfwarden", "network.d/vfwarden" };
	int ret = -ENOENT;

	for (size_t i = 0; i < ELEMENTSOF(links); i++) {
		struct stat st;

		if (path_join(path, size, "%s/etc/libvirt/hooks/%s", roots.etc, links[i]) < 0 ||
		    lstat(path, &st) < 0)
			continue;
		/* A link's own mtime is when it was made (make install, dpkg). */
		if (st.st_mtime > since)
			return 1;
		ret = 0;
	}
	return ret;
}

const char *virt_state_name(int state)
{
	static const char *const names[] = {
		[VIR_DOMAIN_NOSTATE] = "no state", [VIR_DOMAIN_RUNNING] = "running",
		[VIR_DOMAIN_BLOCKED] = "idle",	   [VIR_DOMAIN_PAUSED] = "paused",
		[VIR_DOMAIN_SHUTDOWN] = "in shutdown", [VIR_DOMAIN_SHUTOFF] = "shut off",
		[VIR_DOMAIN_CRASHED] = "crashed",  [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
	};

	return state >= 0 && (size_t)state < ELEMENTSOF(names) && names[state] ? names[state] : "unknown";
}

/* --- the child: libvirt's client ------------------------------------------ */

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static int send_rec(int fd, const struct virt_rec *r)
{
	const char *p = (const char *)r;
	size_t left = sizeof(*r);

	while (left) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

/* The PCI devices of one XML (live or defined) as REC_REF records. */
static int send_refs(int fd, virDomainPtr d, unsigned flags, bool live)
{
	char *xml = sym_virDomainGetXMLDesc(d, flags);
	struct hook_input in;
	int r;

	if (!xml)
		return 0;
	/* Over HOOK_XML_MAX (a huge <metadata>) is not read: its devices stay unknown. */
	r = hook_parse_domain(xml, strlen(xml), &in);
	free(xml);
	for (unsigned i = 0; r == 0 && i < in.n; i++) {
		struct virt_rec rec = { .kind = REC_REF, .live = live };

		snprintf(rec.text, sizeof(rec.text), "%s", in.dev[i].pci);
		r = send_rec(fd, &rec);
	}
	hook_input_free(&in);
	return r == -EIO ? r : 0;
}

static int send_domain(int fd, virDomainPtr d)
{
	struct virt_rec rec = { .kind = REC_DOM };
	int state = VIR_DOMAIN_NOSTATE, reason, autostart = 0, r;

	if (sym_virDomainGetState(d, &state, &reason, 0) < 0)
		state = VIR_DOMAIN_NOSTATE;
	rec.state = state;
	rec.active = sym_virDomainIsActive(d) == 1;
	rec.autostart = sym_virDomainGetAutostart(d, &autostart) == 0 && autostart;
	snprintf(rec.text, sizeof(rec.text), "%s", sym_virDomainGetName(d) ?: "");
	if ((r = send_rec(fd, &rec)) < 0)
		return r;
	if (rec.active && (r = send_refs(fd, d, 0, true)) < 0)
		return r;
	/* A running domain's definition may name other devices for its next start. */
	if (sym_virDomainIsPersistent(d) == 1)
		r = send_refs(fd, d, VIR_DOMAIN_XML_INACTIVE, false);
	return r;
}

static int child_error(int fd)
{
	struct virt_rec rec = { .kind = REC_ERR };
	const char *m = sym_virGetLastErrorMessage();

	snprintf(rec.text, sizeof(rec.text), "%s", m ? m : "unknown error");
	send_rec(fd, &rec);
	return CHILD_ERR;
}

static int child_run(int fd, const char *uri)
{
	virConnectPtr c;
	virDomainPtr *doms = NULL;
	int n, r = 0;

	if (dlopen_libvirt() < 0)
		return CHILD_NOLIB;
	/* libvirt prints every error on stderr by default: the parent words them. */
	sym_virSetErrorFunc(NULL, quiet);
	if (!(c = sym_virConnectOpenReadOnly(uri)))
		return child_error(fd);
	n = sym_virConnectListAllDomains(c, &doms, 0);
	if (n < 0)
		r = child_error(fd);
	/* Records past VIRT_RECORDS_MAX are dropped by the parent; stop sending early. */
	for (int i = 0; i < n && i < VIRT_RECORDS_MAX; i++) {
		if (r == 0 && send_domain(fd, doms[i]) < 0)
			r = CHILD_ERR;
		sym_virDomainFree(doms[i]);
	}
	free(doms);
	sym_virConnectClose(c);
	return r;
}

/* --- the parent ------------------------------------------------------------ */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int add_rec(struct virt_domains *v, const struct virt_rec *rec)
{
	if (rec->kind == REC_ERR) {
		snprintf(v->err, sizeof(v->err), "%s", rec->text);
		return 0;
	}
	if (v->n_dom + v->n_ref >= VIRT_RECORDS_MAX)
		return 0;
	if (rec->kind == REC_DOM) {
		struct virt_dom *d = realloc(v->dom, (v->n_dom + 1) * sizeof(*d));

		if (!d)
			return -ENOMEM;
		v->dom = d;
		d = &v->dom[v->n_dom++];
		snprintf(d->name, sizeof(d->name), "%s", rec->text);
		d->state = rec->state;
		d->active = rec->active;
		d->autostart = rec->autostart;
		return 0;
	}
	if (rec->kind != REC_REF || !v->n_dom || !pci_addr_valid(rec->text))
		return 0;
	for (unsigned i = 0; i < v->n_ref; i++)
		if (v->ref[i].dom == v->n_dom - 1 && streq(v->ref[i].pci, rec->text)) {
			v->ref[i].live |= rec->live;
			return 0;
		}
	struct virt_ref *r = realloc(v->ref, (v->n_ref + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	v->ref = r;
	r = &v->ref[v->n_ref++];
	r->dom = v->n_dom - 1;
	snprintf(r->pci, sizeof(r->pci), "%.12s", rec->text);
	r->live = rec->live;
	return 0;
}

/* Read the child's records until it closes the pipe or the deadline: 0, -ETIMEDOUT or -errno. */
static int read_recs(int fd, struct virt_domains *v)
{
	struct virt_rec rec;
	size_t have = 0;
	long deadline = now_ms() + VIRT_TIMEOUT_MS;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = read(fd, (char *)&rec + have, sizeof(rec) - have);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return have ? -EIO : 0;
		have += (size_t)n;
		if (have < sizeof(rec))
			continue;
		have = 0;
		rec.text[sizeof(rec.text) - 1] = '\0';
		if ((r = add_rec(v, &rec)) < 0)
			return r;
	}
}

static void uri_for(char *buf, size_t size)
{
	/* The test build points vfwarden at a socket of its own (backend.h). */
	if (roots.libvirt_sock[0])
		snprintf(buf, size, "qemu+unix:///system?socket=%s", roots.libvirt_sock);
	else
		snprintf(buf, size, "qemu:///system");
}

int virt_query(struct virt_domains *v)
{
	char uri[PATH_MAX + 64], name[16];
	int fds[2], r, status;
	time_t started;
	pid_t pid, parent;

	memset(v, 0, sizeof(*v));
	if (virt_daemon(name, sizeof(name), &started) < 0)
		return -ESRCH;
	uri_for(uri, sizeof(uri));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* What stdio holds would be written twice: the child leaves by _exit(). */
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		/* It shares apply's lock fd: it must not outlive apply and hold the lock. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(CHILD_ERR);
		_exit(child_run(fds[1], uri));
	}
	close(fds[1]);
	r = read_recs(fds[0], v);
	close(fds[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NOLIB ? -EOPNOTSUPP : -EIO;
	if (r == -EIO && !v->err[0] && WIFSIGNALED(status))
		snprintf(v->err, sizeof(v->err), "libvirt's client died of signal %d", WTERMSIG(status));
	else if (r == -EIO && !v->err[0])
		snprintf(v->err, sizeof(v->err), "libvirt's client failed");
	if (r < 0) {
		char err[sizeof(v->err)];

		memcpy(err, v->err, sizeof(err));
		virt_free(v);
		memcpy(v->err, err, sizeof(err));
	}
	return r;
}

void virt_free(struct virt_domains *v)
{
	free(v->dom);
	free(v->ref);
	memset(v, 0, sizeof(*v));
}

unsigned virt_describe(const struct virt_domains *v, const char *pci, enum virt_which which, bool bare,
		       char *buf, size_t size)
{
	unsigned n = 0;
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < v->n_ref; i++) {
		const struct virt_ref *r = &v->ref[i];
		const struct virt_dom *d = &v->dom[r->dom];
		int w;

		if (!streq(r->pci, pci) || (which == VIRT_LIVE && !r->live) ||
		    (which == VIRT_DEFINED && r->live))
			continue;
		if (bare)
			w = snprintf(buf + len, size - len, "%s%s", n ? ", " : "", d->name);
		else
			w = snprintf(buf + len, size - len, "%s%s (%s%s)", n ? ", " : "", d->name,
				     virt_state_name(d->state), d->autostart ? ", autostart" : "");
		n++;
		if (w < 0 || (size_t)w >= size - len)
			len = size - 1;
		else
			len += (size_t)w;
	}
	return n;
}
