/* SPDX-License-Identifier: MIT */
/*
 * vfwarden hook qemu DOMAIN OP SUBOP EXTRA     (domain XML on stdin)
 * vfwarden hook network NETWORK OP SUBOP EXTRA (network/port XML on stdin)
 *
 * Installed as /etc/libvirt/hooks/{qemu,network}.d/vfwarden. A domain
 * without "hostdev" in its XML, at any size, costs one read of stdin; one
 * whose hostdevs are no SR-IOV VF (a GPU) one XML parse. For a domain with
 * a VF, a VF that cannot be prepared as the policy says, a policy with
 * errors or XML that cannot be read fails the start with one line on
 * stderr, which libvirt shows to the user. Only the start is ever refused.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "dl.h"
#include "hook.h"
#include "lock.h"
#include "match.h"
#include "records.h"

#define HOOK_LOCK_TIMEOUT_MS 30000

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Drain stdin to EOF: libvirt is still writing, and an early exit breaks its pipe. */
static void drain_stdin(void)
{
	char sink[16384];
	ssize_t r;

	while ((r = read(STDIN_FILENO, sink, sizeof(sink))) > 0 || (r < 0 && errno == EINTR))
		;
}

/* What the hook read on stdin. */
struct hook_stdin {
	char *buf;    /* its first HOOK_XML_MAX bytes at most */
	size_t len;
	bool over;    /* there was more: buf is not the whole document */
	bool hostdev; /* "hostdev" occurs anywhere in it */
};

#define WORD "hostdev"
#define WORD_LEN (sizeof(WORD) - 1)

/*
 * Past HOOK_XML_MAX, the rest of stdin is not kept: each read is searched
 * for "hostdev" with the previous read's last bytes in front (a word split
 * by two reads is found) and copied to echo_fd, if >= 0, after x->buf.
 * Memory stays bounded, whatever libvirt sends (a large <metadata> is legal).
 */
static int read_rest(struct hook_stdin *x, int echo_fd)
{
	char chunk[WORD_LEN - 1 + 65536], *data = chunk + WORD_LEN - 1;
	ssize_t r;
	int q;

	memcpy(chunk, x->buf + x->len - (WORD_LEN - 1), WORD_LEN - 1);
	for (;;) {
		r = read(STDIN_FILENO, data, sizeof(chunk) - (WORD_LEN - 1));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : 0;
		if (!x->over && echo_fd >= 0 && (q = write_all(echo_fd, x->buf, x->len)) < 0)
			return q;
		x->over = true;
		if (!x->hostdev && memmem(chunk, WORD_LEN - 1 + (size_t)r, WORD, WORD_LEN))
			x->hostdev = true;
		if (echo_fd >= 0 && (q = write_all(echo_fd, data, (size_t)r)) < 0)
			return q;
		memmove(chunk, chunk + r, WORD_LEN - 1);
	}
}

/*
 * stdin to EOF; the caller frees x->buf also on error. The buffer is
 * allocated at its full size once: pages never written cost no memory.
 */
static int read_stdin(struct hook_stdin *x, int echo_fd)
{
	int r = 0;

	memset(x, 0, sizeof(*x));
	if (!(x->buf = malloc(HOOK_XML_MAX)))
		return -ENOMEM;
	/* Exactly HOOK_XML_MAX bytes is whole: only one more is too many. */
	while (x->len < HOOK_XML_MAX) {
		ssize_t n = read(STDIN_FILENO, x->buf + x->len, HOOK_XML_MAX - x->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		x->len += (size_t)n;
	}
	if (x->len == HOOK_XML_MAX)
		r = read_rest(x, echo_fd);
	if (memmem(x->buf, x->len, WORD, WORD_LEN))
		x->hostdev = true;
	return r;
}

enum hook_mode {
	HOOK_PREPARE, /* prepare begin, port-created */
	HOOK_RELEASE, /* release end, stopped end, port-deleted */
	HOOK_RECHECK, /* reconnect begin, restore begin: a domain that runs or resumes */
	HOOK_OTHER,   /* any other event: nothing to do */
};

struct hook_ctx {
	const struct cli *cli;
	enum hook_mode mode;
	struct policy p;
	bool loaded, valid;
	int load_err; /* cli_load_policy()'s, when !valid */
	struct nlh *nl;
	int lock_fd;
	int lock_err; /* take_lock()'s failure: the lock is waited for once per call */
	const char *owner;
};

/* The policy, read once per hook call and only when a VF is involved. */
static void hook_load_policy(struct hook_ctx *c)
{
	if (c->loaded)
		return;
	c->loaded = true;
	/* No policy at all (nothing configured yet) manages nothing: not an error. */
	if (c->cli->config && access(c->cli->config, F_OK) < 0 && errno == ENOENT) {
		policy_init(&c->p);
		c->valid = true;
		return;
	}
	c->load_err = cli_load_policy(c->cli, &c->p, true);
	c->valid = c->load_err == 0;
}

/* Why the policy is invalid, for one line: "FILE:LINE: message". */
static const char *policy_why(const struct hook_ctx *c, char *buf, size_t size)
{
	const struct policy_error *e = c->p.n_errors ? &c->p.errors[0] : NULL;

	if (e)
		snprintf(buf, size, "%s:%u: %s", e->at.file, e->at.line, e->msg);
	else
		snprintf(buf, size, "cannot read it: %s", strerror(-c->load_err));
	return buf;
}

/*
 * The section governing pf (match.h), for VF d: 0 with *pol (NULL when no
 * section names the PF: not ours), or -1, logged, when the PF is ambiguous
 * or the host cannot be read to tell. Only prepare refuses (error); other
 * modes leave the VF alone with a warning. Another PF may share the
 * section's device (a permanent MAC), so a named PF is matched against the
 * whole host.
 */
static int hook_policy_for(const struct hook_ctx *c, const struct hook_dev *d, struct pf_live *pf,
			   enum hook_mode mode, struct pf_policy *buf, const struct pf_policy **pol)
{
	struct host one = { .pf = pf, .n_pf = 1 }, h = { 0 };
	const struct host *in = &one;
	struct match m;
	char why[256];
	int k = 0, r;

	*pol = NULL;
	if ((r = match_build(&m, &c->p, &one)) == 0 && m.by_pf[0].state == MATCH_NONE) {
		match_free(&m);
		return 0;
	}
	match_free(&m);
	if (r == 0 && (r = host_scan(&h)) == 0 && (k = match_pf_by_pci(&h, pf->pci)) >= 0)
		in = &h;
	if (r == 0 && k >= 0 && (r = match_build(&m, &c->p, in)) == 0) {
		if (m.by_pf[k].state == MATCH_AMBIGUOUS)
			match_why_pf(&m.by_pf[k], &c->p, in, why, sizeof(why));
		else if ((*pol = match_policy_of(&m, &c->p, (unsigned)k))) {
			/* A selector section's copy for this PF lives in m. */
			*buf = **pol;
			*pol = buf;
		}
		match_free(&m);
	} else
		snprintf(why, sizeof(why), "cannot read the host to tell which [pf] names %s: %s", pf->pci,
			 strerror(r < 0 ? -r : ENOENT));
	host_free(&h);
	if (*pol)
		return 0;
	if (mode == HOOK_PREPARE)
		log_err("vfwarden: domain '%s': VF %s of %s: %s, refusing the start", c->owner, d->pci, pf->pci, why);
	else
		log_warn("vfwarden: domain '%s': VF %s of %s: %s, left alone", c->owner, d->pci, pf->pci, why);
	return -1;
}


/* The lock, waited for once per hook call; a release says itself what it does instead. */
static int take_lock(struct hook_ctx *c)
{
	if (c->lock_fd >= 0 || c->lock_err)
		return c->lock_err;
	c->lock_err = lock_take(roots.run, HOOK_LOCK_TIMEOUT_MS, &c->lock_fd);
	if (c->mode == HOOK_RELEASE)
		return c->lock_err;
	if (c->lock_err == -ETIMEDOUT)
		log_err("vfwarden: domain '%s': another vfwarden held %s/lock for %ds; try again",
			c->owner, roots.run, HOOK_LOCK_TIMEOUT_MS / 1000);
	else if (c->lock_err < 0)
		log_err("vfwarden: cannot take %s/lock: %s", roots.run, strerror(-c->lock_err));
	return c->lock_err;
}

/* VF d of a domain: what the steps of vf_prepare() found out. */
struct vf_job {
	const struct hook_dev *d;
	struct pf_live pf;
	const struct pf_policy *pol; /* &pol_buf, or NULL */
	struct pf_policy pol_buf;
	unsigned idx;
};

#define JOB_FMT "vfwarden: domain '%s': %s vf%u (%s)"
#define JOB_ARGS(c, j) (c)->owner, (j)->pol->label, (j)->idx, (j)->d->pci

/*
 * A release that cannot be done now (the lock stayed taken, the policy is
 * invalid) is left in the domain's record as reset-pending: status shows
 * it, and the next apply, which vfwarden-reset.path starts, resets the VF.
 */
static void release_later(const struct hook_ctx *c, const struct hook_dev *d, const char *why)
{
	int r = record_mark_reset_pending(d->pci, c->owner);

	if (r == -ENOENT)
		return; /* no record of this domain: released already, or never prepared */
	if (r < 0)
		log_err("vfwarden: domain '%s': VF %s not reset (%s), and cannot mark its record reset-pending: %s",
			c->owner, d->pci, why, strerror(-r));
	else
		log_warn("vfwarden: domain '%s': VF %s not reset yet (%s): reset pending, the next apply does it",
			 c->owner, d->pci, why);
}

/*
 * VF d of pf, and the policy has errors: -1 refuse the start (logged), 0
 * leave it be. Fail closed at prepare: a policy with errors (a refused or
 * unreadable file, a broken [pf] header, a bad device) may mean any PF, so
 * even one it does not name is refused.
 */
static int vf_invalid_policy(const struct hook_ctx *c, const struct hook_dev *d, struct pf_live *pf)
{
	/* pf_scan() read its names. */
	bool named = match_names_pf(&c->p, pf, true);
	char why[400];

	policy_why(c, why, sizeof(why));
	if (c->mode == HOOK_RELEASE) {
		if (named)
			release_later(c, d, "the policy is invalid");
		return 0;
	}
	if (c->mode == HOOK_RECHECK) {
		if (named)
			log_warn("vfwarden: domain '%s': VF %s of a managed PF not checked, the policy is invalid: %s",
				 c->owner, d->pci, why);
		return 0;
	}
	if (named)
		log_err("vfwarden: domain '%s': VF %s of a managed PF, but the policy is invalid: %s",
			c->owner, d->pci, why);
	else
		log_err("vfwarden: domain '%s': VF %s may be managed, but the policy is invalid: %s",
			c->owner, d->pci, why);
	return -1;
}

/*
 * VF d of a PF set aside with manage = no: handed to another tool, so the
 * start goes ahead with nothing written and no record kept; a release
 * drops this domain's record from before (the VF then keeps what it has).
 */
static void vf_unmanaged(const struct hook_ctx *c, const struct hook_dev *d, const struct vf_job *j)
{
	struct vf_record rec;

	log_notice("vfwarden: domain '%s': %s is vf%u of [pf %s], manage = no at %s:%u: left alone",
		   c->owner, d->pci, j->idx, j->pol->label, j->pol->manage_at.file, j->pol->manage_at.line);
	if (c->mode == HOOK_RELEASE && record_read(d->pci, &rec) == 0 && streq(rec.domain, c->owner))
		record_remove(d->pci);
}

/*
 * Which managed VF d is: 0 go on with j filled in, 1 not ours or nothing to
 * do, -1 refused (logged).
 */
static int vf_find(struct hook_ctx *c, const struct hook_dev *d, struct vf_job *j)
{
	char pf_pci[PCI_ADDR_LEN];

	j->d = d;
	if (vf_parent(d->pci, pf_pci, &j->idx) < 0)
		return 1; /* not a VF: not ours */
	memcpy(j->pf.pci, pf_pci, PCI_ADDR_LEN);
	if (pf_scan(&j->pf) < 0)
		return 1;
	hook_load_policy(c);
	if (!c->valid)
		return vf_invalid_policy(c, d, &j->pf) < 0 ? -1 : 1;
	if (hook_policy_for(c, d, &j->pf, c->mode, &j->pol_buf, &j->pol) < 0)
		return c->mode == HOOK_PREPARE ? -1 : 1;
	if (!j->pol)
		return 1;
	if (!j->pol->manage) {
		vf_unmanaged(c, d, j);
		return 1;
	}
	if (j->idx >= j->pol->vfs) {
		log_notice("vfwarden: domain '%s': %s is vf%u of [pf %s], beyond its vfs = %u: left alone",
			   c->owner, d->pci, j->idx, j->pol->label, j->pol->vfs);
		if (c->mode == HOOK_RELEASE)
			record_remove(d->pci);
		return 1;
	}
	return 0;
}

/* The lock and rtnetlink: 0, 1 nothing to do now, -1 refused (logged). */
static int vf_lock(struct hook_ctx *c, const struct vf_job *j)
{
	char why[PATH_MAX + 80];
	struct vf_record rec;
	int r;

	/* libvirt runs stopped end and release end: the first one's mark stands for both. */
	if (c->mode == HOOK_RELEASE && record_read(j->d->pci, &rec) == 0 &&
	    streq(rec.domain, c->owner) && rec.reset_pending)
		return 1;
	if ((r = take_lock(c)) < 0) {
		if (c->mode != HOOK_RELEASE)
			return c->mode == HOOK_PREPARE ? -1 : 1;
		if (r == -ETIMEDOUT)
			snprintf(why, sizeof(why), "another vfwarden held %s/lock for %ds", roots.run,
				 HOOK_LOCK_TIMEOUT_MS / 1000);
		else
			snprintf(why, sizeof(why), "cannot take the lock: %s", strerror(-r));
		release_later(c, j->d, why);
		return 1;
	}
	if (!c->nl && (r = nlh_open(&c->nl)) < 0) {
		log_err("vfwarden: cannot open rtnetlink: %s", strerror(-r));
		return c->mode == HOOK_PREPARE ? -1 : 1;
	}
	return 0;
}

/*
 * Who else has the VF: 0 go on, 1 leave it alone, -1 refuse the start. A
 * record of this or an older domain may be stale; an open vfio group is
 * not. A domain being re-checked holds its own VF: that is expected.
 */
static int vf_users(const struct hook_ctx *c, struct vf_job *j)
{
	const struct vf_live *vf = &j->pf.vf[j->idx];
	struct vf_record other;
	bool others = false;

	pf_scan_users(&j->pf);
	/* A record this version cannot read in full still names its domain. */
	if (c->mode != HOOK_PREPARE) {
		(void)record_read(j->d->pci, &other);
		others = other.domain[0] && !streq(other.domain, c->owner);
	}
	if (c->mode == HOOK_RECHECK && others) {
		log_warn(JOB_FMT " is recorded for domain '%s': left alone", JOB_ARGS(c, j), other.domain);
		return 1;
	}
	if (c->mode != HOOK_RECHECK && vf->holder[0]) {
		if (c->mode == HOOK_RELEASE) {
			log_notice(JOB_FMT " is in use by %s: left alone", JOB_ARGS(c, j), vf->holder);
			return 1;
		}
		log_err(JOB_FMT " is in use by %s", JOB_ARGS(c, j), vf->holder);
		return -1;
	}
	/*
	 * libvirt runs 'release end' for a domain whose start failed, also when
	 * the VF was refused because another domain has it: leave that one be.
	 */
	if (c->mode == HOOK_RELEASE && others) {
		log_notice(JOB_FMT " belongs to domain '%s': left alone", JOB_ARGS(c, j), other.domain);
		return 1;
	}
	return 0;
}

/*
 * What the domain gives VF j into rec: vfio-pci, the <metadata> settings
 * its PF's allow-domain permits (those for every VF first, then those for
 * this address), then the XML's mac and vlan, which win; conf becomes the
 * policy's settings with rec over them. 0, or -1 with the reason logged.
 */
static int domain_record(const struct hook_ctx *c, const struct hook_input *in,
			 const struct vf_job *j, struct vf_record *rec, struct vf_conf *conf)
{
	const struct hook_dev *d = j->d;
	char err[200], m[MAC_STR_LEN], vlan[8];
	enum vf_key k;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->domain, sizeof(rec->domain), "%s", c->owner);
	record_add(rec, "vf-driver", "vfio-pci");
	if (in->meta_err[0]) {
		log_err(JOB_FMT ": vfwarden metadata: %s", JOB_ARGS(c, j), in->meta_err);
		return -1;
	}
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < in->n_meta; i++) {
			const struct hook_meta *e = &in->meta[i];

			if (pass == 0 ? e->pci[0] != '\0' : !streq(e->pci, d->pci))
				continue;
			if (vf_setting_parse(e->key, e->value, conf, &k, err, sizeof(err)) < 0) {
				log_err(JOB_FMT ": vfwarden metadata: %s", JOB_ARGS(c, j), err);
				return -1;
			}
			if (k == KEY_VF_DRIVER || !(j->pol->allow_domain & (1u << k))) {
				log_err(JOB_FMT ": vfwarden metadata sets %s, which [pf %s] does not allow (allow-domain)",
					JOB_ARGS(c, j), vf_key_name(k), j->pol->label);
				return -1;
			}
			record_add(rec, e->key, e->value);
		}
	/* What the domain XML gives wins; libvirt sets it too. */
	if (d->has_mac)
		record_add(rec, "mac", format_mac(d->mac, m));
	if (d->has_vlan) {
		snprintf(vlan, sizeof(vlan), "%u", d->vlan);
		record_add(rec, "vlan", vlan);
		record_add(rec, "qos", "0");
		record_add(rec, "vlan-proto", "802.1Q");
	}
	*conf = j->pol->vf[j->idx];
	if (record_apply(rec, conf, err, sizeof(err)) < 0) {
		log_err(JOB_FMT ": %s", JOB_ARGS(c, j), err);
		return -1;
	}
	return 0;
}

static void report_errors(const struct hook_ctx *c, const struct vf_job *j, const struct converge_result *res)
{
	char e[128];

	for (unsigned i = 0; i < res->n_steps; i++) {
		const struct converge_step *s = &res->steps[i];

		if (s->err < 0)
			log_err("vfwarden: domain '%s': %s vf%u (%s) %s: %s", c->owner, j->pol->label, s->a.vf,
				j->pf.vf[s->a.vf].pci, action_key_name(&s->a),
				cli_strerror(s->err, &j->pf, e, sizeof(e)));
	}
}

/*
 * VF j to conf: 0 done, 1 a release that is not (its record says so), -1
 * prepare must refuse the start (logged).
 */
static int vf_converge_one(struct hook_ctx *c, struct vf_job *j, const struct vf_conf *conf)
{
	struct converge_opts o = {
		.one_vf = true, .vf = j->idx, .conf = conf,
	};
	struct converge_result res;
	int r = pf_converge(c->nl, j->pol, &j->pf, &o, &res);

	report_errors(c, j, &res);
	converge_result_free(&res);
	if (r < 0 && c->mode == HOOK_RELEASE) {
		release_later(c, j->d, strerror(-r));
		return 1;
	}
	if (r < 0) {
		log_err(JOB_FMT ": %s", JOB_ARGS(c, j), strerror(-r));
		return c->mode == HOOK_PREPARE ? -1 : 0;
	}
	/*
	 * report_errors() said which attribute, in the one line libvirt shows. A
	 * running domain is never stopped for drift.
	 */
	return res.failures && c->mode == HOOK_PREPARE ? -1 : 0;
}

/* 0 prepared, released or not ours; -1 refused (already logged). */
static int vf_prepare(struct hook_ctx *c, const struct hook_input *in, const struct hook_dev *d)
{
	struct vf_job j = { 0 };
	struct vf_record rec;
	struct vf_conf conf;
	int r;

	if ((r = vf_find(c, d, &j)) != 0 || (r = vf_lock(c, &j)) != 0 ||
	    (r = vf_users(c, &j)) != 0)
		goto out;
	conf = j.pol->vf[j.idx];
	if (c->mode != HOOK_RELEASE && domain_record(c, in, &j, &rec, &conf) < 0) {
		r = c->mode == HOOK_RECHECK ? 0 : -1;
		goto out;
	}
	if ((r = vf_converge_one(c, &j, &conf)) != 0)
		goto out;
	if (c->mode == HOOK_RELEASE)
		record_remove(d->pci);
	else if ((r = record_write(d->pci, &rec)) < 0)
		log_warn("vfwarden: cannot record %s for domain '%s': %s", d->pci, c->owner,
			 strerror(-r));
	r = 0;
out:
	free(j.pf.vf);
	return r < 0 ? -1 : 0;
}

/*
 * A domain names a VF that does not exist: its PF lost its VFs (driver
 * reload, a manual write of 0). Converge the managed PFs that have none,
 * then the VF may be there. If it is not, libvirt reports the missing device.
 */
static void create_missing_vfs(struct hook_ctx *c, const struct hook_input *in)
{
	struct converge_opts o = { 0 };
	struct host h = { 0 };
	struct match m;
	bool missing = false;

	for (unsigned i = 0; i < in->n; i++) {
		char p[PATH_MAX];

		if (path_join(p, sizeof(p), "%s/bus/pci/devices/%s", roots.sys, in->dev[i].pci) == 0 &&
		    access(p, F_OK) < 0)
			missing = true;
	}
	if (!missing)
		return;
	hook_load_policy(c);
	if (!c->valid || take_lock(c) < 0 || host_scan(&h) < 0)
		goto out;
	if (!c->nl && nlh_open(&c->nl) < 0)
		goto out;
	if (match_build(&m, &c->p, &h) < 0)
		goto out;
	for (unsigned k = 0; k < h.n_pf; k++) {
		const struct pf_policy *pol = match_policy_of(&m, &c->p, k);
		struct converge_result res;

		if (!pol || !pol->manage || h.pf[k].numvfs || !pol->vfs)
			continue;
		if (pf_converge(c->nl, pol, &h.pf[k], &o, &res) < 0 || res.refused)
			log_warn("vfwarden: domain '%s': cannot create the VFs of [pf %s]", c->owner, pol->label);
		converge_result_free(&res);
	}
	match_free(&m);
out:
	host_free(&h);
}

/*
 * Could a domain whose XML we cannot read use a VF vfwarden manages? Not
 * when nothing is configured (no policy, or one without [pf]) or no PF the
 * policy names is on this host; when the policy has errors, not when no PF
 * here has VFs. Otherwise, and when the host cannot be read, it could.
 */
static bool may_use_managed_vf(struct hook_ctx *c)
{
	struct host h = { 0 };
	struct match m = { 0 };
	bool may = false;

	hook_load_policy(c);
	if (c->valid && c->p.n_pfs == 0)
		return false;
	if (host_scan(&h) < 0)
		return true;
	/* An ambiguous PF counts: its VFs are refused at prepare too. One with manage = no does not. */
	if (c->valid && match_build(&m, &c->p, &h) < 0)
		may = true;
	for (unsigned k = 0; k < h.n_pf && !may; k++) {
		const struct pf_policy *pol = c->valid ? match_policy_of(&m, &c->p, k) : NULL;

		may = c->valid ? m.by_pf[k].state != MATCH_NONE && (!pol || pol->manage) : h.pf[k].numvfs > 0;
	}
	if (c->valid)
		match_free(&m);
	host_free(&h);
	return may;
}

/*
 * The XML has a hostdev but cannot be read (over HOOK_XML_MAX, malformed, a
 * DOCTYPE, no libxml2): which devices the domain uses is unknown. Fail
 * closed at prepare when one could be a managed VF; else warn and let it be.
 */
static int xml_unreadable(struct hook_ctx *c, bool network, const char *name, int err)
{
	char why[64];

	if (err == -EFBIG)
		snprintf(why, sizeof(why), "over the %u MiB vfwarden parses", HOOK_XML_MAX >> 20);
	else if (err == -EOPNOTSUPP)
		snprintf(why, sizeof(why), "cannot load %s", dl_libxml2_soname);
	else
		snprintf(why, sizeof(why), "%s", strerror(-err));
	if (c->mode == HOOK_PREPARE && may_use_managed_vf(c)) {
		log_err("vfwarden: %s '%s': unreadable XML (%s): cannot tell whether it uses a VF vfwarden manages, refusing the start",
			network ? "network" : "domain", name, why);
		return EXIT_SYSTEM;
	}
	log_warn("vfwarden: unreadable XML for '%s' (%s), ignored", name, why);
	return EXIT_OK;
}

/*
 * migrate begin: an incoming migration may rewrite the XML on stdout; ours
 * goes through unchanged, whatever its size (nothing on stdout also means
 * "unchanged" to libvirt, but only before the first byte is out).
 */
static int migrate_passthrough(void)
{
	_cleanup_free_ char *buf = NULL;
	struct hook_stdin x;
	int r = read_stdin(&x, STDOUT_FILENO);

	buf = x.buf;
	if (r < 0) {
		drain_stdin();
		if (x.over) {
			log_err("vfwarden: cannot pass the XML through: %s", strerror(-r));
			return EXIT_SYSTEM;
		}
		log_warn("vfwarden: cannot read the XML on stdin (%s): left as it is", strerror(-r));
		return EXIT_OK;
	}
	if (!x.over && write_all(STDOUT_FILENO, x.buf, x.len) < 0)
		return EXIT_SYSTEM;
	return EXIT_OK;
}

/* The event: libvirt runs release and stopped end after every stop and after a failed start. */
static enum hook_mode hook_mode_of(bool network, const char *op, const char *subop)
{
	if (network)
		return streq(op, "port-created") ? HOOK_PREPARE
		       : streq(op, "port-deleted") ? HOOK_RELEASE : HOOK_OTHER;
	if (streq(op, "prepare") && streq(subop, "begin"))
		return HOOK_PREPARE;
	if ((streq(op, "release") || streq(op, "stopped")) && streq(subop, "end"))
		return HOOK_RELEASE;
	if ((streq(op, "reconnect") || streq(op, "restore")) && streq(subop, "begin"))
		return HOOK_RECHECK;
	return HOOK_OTHER;
}

/*
 * Every VF reaches us as <interface type='hostdev'>, <hostdev> or <plug
 * type='hostdev-pci'>, and libvirt writes these names plainly: XML without
 * the word has no VF, at any size, and needs neither libxml2 nor a parse.
 * Only XML with the word is parsed, and only that has a limit.
 */
static int hook_vfs(struct hook_ctx *c, bool network, const char *name, const struct hook_stdin *x)
{
	struct hook_input in = { 0 };
	int r, ret = EXIT_OK;

	if (!x->hostdev)
		return EXIT_OK;
	if (x->over)
		r = -EFBIG;
	else if (network)
		r = hook_parse_network(x->buf, x->len, &in);
	else
		r = hook_parse_domain(x->buf, x->len, &in);
	if (r < 0)
		return xml_unreadable(c, network, name, r);
	if (!in.owner[0])
		snprintf(in.owner, sizeof(in.owner), "%s", name);
	c->owner = in.owner;
	if (in.n && c->mode == HOOK_PREPARE)
		create_missing_vfs(c, &in);
	for (unsigned i = 0; i < in.n; i++)
		if (vf_prepare(c, &in, &in.dev[i]) < 0) {
			ret = EXIT_PARTIAL;
			break;
		}
	hook_input_free(&in);
	return ret;
}

static int run(const struct cli *cli, int argc, char **argv)
{
	struct hook_ctx c = { .cli = cli, .lock_fd = -1 };
	_cleanup_free_ char *xml = NULL;
	struct hook_stdin x;
	bool network;
	int r, ret;

	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		printf("Usage: vfwarden hook qemu DOMAIN OP SUBOP EXTRA < domain.xml\n"
		       "       vfwarden hook network NETWORK OP SUBOP EXTRA < hookdata.xml\n\n"
		       "Called by libvirt: prepares a domain's VFs at 'prepare begin' (or a\n"
		       "network port's at 'port-created') and returns them to the policy at\n"
		       "'release end' ('port-deleted').\n");
		return EXIT_OK;
	}
	if (argc < 5 || (!streq(argv[1], "qemu") && !streq(argv[1], "network"))) {
		log_err("vfwarden: usage: vfwarden hook qemu|network NAME OP SUBOP [EXTRA]");
		return EXIT_USAGE;
	}
	network = streq(argv[1], "network");
	c.mode = hook_mode_of(network, argv[3], argv[4]);
	if (!network && streq(argv[3], "migrate"))
		return migrate_passthrough();
	/* Read stdin whole even when the event is not ours: libvirt is writing it. */
	r = read_stdin(&x, -1);
	xml = x.buf;
	if (r < 0)
		drain_stdin();
	if (c.mode == HOOK_OTHER)
		return EXIT_OK;
	if (r < 0) {
		log_err("vfwarden: cannot read the XML on stdin: %s", strerror(-r));
		return c.mode == HOOK_PREPARE ? EXIT_SYSTEM : EXIT_OK;
	}
	ret = hook_vfs(&c, network, argv[2], &x);
	nlh_close(c.nl);
	if (c.loaded)
		policy_free(&c.p);
	if (c.lock_fd >= 0)
		close(c.lock_fd);
	return ret;
}

const struct command cmd_hook = { "hook", "libvirt hook: prepare and release a domain's VFs", run };
