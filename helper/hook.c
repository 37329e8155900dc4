/* SPDX-License-Identifier: MIT */
/*
 * The libvirt side: which VFs a domain or a network port uses, read from the
 * XML libvirt hands the hook. The records that tie a VF to its domain are
 * records.c's.
 * The XML is untrusted input: bounded in size, parsed without network
 * access, DTD loading or entity substitution.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "dl.h"
#include "hook.h"

static void xml_free(void *p)
{
	if (p)
		(*sym_xmlFree)(p);
}

/* NULL with *err: -EOPNOTSUPP no libxml2, -EFBIG too large, -EBADMSG not XML we read. */
static xmlDocPtr parse(const char *xml, size_t len, int *err)
{
	xmlDocPtr doc;

	*err = len > HOOK_XML_MAX ? -EFBIG : dlopen_libxml2();
	if (*err < 0)
		return NULL;
	*err = -EBADMSG;
	doc = sym_xmlReadMemory(xml, (int)len, "hook.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				    XML_PARSE_NOCDATA);
	/*
	 * libvirt never sends a DOCTYPE. One can only declare entities, and
	 * sym_xmlGetProp()/sym_xmlNodeGetContent() expand internal ones even without
	 * XML_PARSE_NOENT: a document that has one is not libvirt's, refuse it.
	 */
	if (doc && (doc->intSubset || doc->extSubset)) {
		sym_xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static bool name_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && sym_xmlStrEqual(n->name, (const xmlChar *)name);
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (name_is(c, name))
			return c;
	return NULL;
}

static bool attr_is(const xmlNode *n, const char *attr, const char *value)
{
	xmlChar *v = sym_xmlGetProp(n, (const xmlChar *)attr);
	bool eq = v && sym_xmlStrEqual(v, (const xmlChar *)value);

	xml_free(v);
	return eq;
}

static int attr_hex(const xmlNode *n, const char *attr, unsigned long max, unsigned long *ret)
{
	xmlChar *v = sym_xmlGetProp(n, (const xmlChar *)attr);
	const char *s = (const char *)v;
	char *end;
	int r = -EINVAL;

	if (s && *s) {
		errno = 0;
		*ret = strtoul(s, &end, 0);
		r = (!errno && !*end && *ret <= max && s[0] != '-') ? 0 : -EINVAL;
	}
	xml_free(v);
	return r;
}

/* <address domain='0x0000' bus='0x01' slot='0x10' function='0x2'/> */
static int pci_from_address(const xmlNode *a, char out[PCI_ADDR_LEN])
{
	unsigned long d, b, s, f;

	if (!a || attr_hex(a, "domain", 0xffff, &d) < 0 || attr_hex(a, "bus", 0xff, &b) < 0 ||
	    attr_hex(a, "slot", 0x1f, &s) < 0 || attr_hex(a, "function", 7, &f) < 0)
		return -EINVAL;
	snprintf(out, PCI_ADDR_LEN, "%04lx:%02lx:%02lx.%lx", d, b, s, f);
	return 0;
}

static void read_mac_vlan(const xmlNode *n, struct hook_dev *d)
{
	const xmlNode *m = child(n, "mac"), *v = child(n, "vlan");
	xmlChar *a;

	if (m && (a = sym_xmlGetProp(m, (const xmlChar *)"address"))) {
		d->has_mac = parse_mac((const char *)a, d->mac) == 0;
		xml_free(a);
	}
	/*
	 * Only a single tag is a VF VLAN; trunks are not expressible on a VF.
	 * libvirt reads the id as decimal ('042' is 42), unlike PCI addresses.
	 */
	if (v && child(v, "tag") && (a = sym_xmlGetProp(child(v, "tag"), (const xmlChar *)"id"))) {
		unsigned long id;

		if (parse_uint((const char *)a, 4095, &id) == 0) {
			d->has_vlan = true;
			d->vlan = (unsigned)id;
		}
		xml_free(a);
	}
}

static int add_dev(struct hook_input *in, const xmlNode *addr, const xmlNode *macvlan)
{
	struct hook_dev *d;

	/* As many as the domain has: the XML's size (HOOK_XML_MAX) bounds them. */
	if (in->n == in->cap) {
		unsigned cap = in->cap ? in->cap * 2 : 8;
		struct hook_dev *n = realloc(in->dev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		in->dev = n;
		in->cap = cap;
	}
	d = &in->dev[in->n];
	memset(d, 0, sizeof(*d));
	if (pci_from_address(addr, d->pci) < 0)
		return 0; /* not a PCI address we can use: not ours */
	if (macvlan)
		read_mac_vlan(macvlan, d);
	in->n++;
	return 0;
}

static void text_of(const xmlNode *n, char *buf, size_t size)
{
	xmlChar *t = n ? sym_xmlNodeGetContent(n) : NULL;

	snprintf(buf, size, "%s", t ? (const char *)t : "");
	xml_free(t);
}

static bool in_ns(const xmlNode *n, const char *name)
{
	return name_is(n, name) && n->ns && n->ns->href &&
	       sym_xmlStrEqual(n->ns->href, (const xmlChar *)HOOK_XMLNS);
}

static void meta_error(struct hook_input *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void meta_error(struct hook_input *in, const char *fmt, ...)
{
	va_list ap;

	if (in->meta_err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(in->meta_err, sizeof(in->meta_err), fmt, ap);
	va_end(ap);
}

/* <vfwarden:vf address='...' key='value' .../>: one entry per attribute. */
static void read_meta_vf(const xmlNode *vf, struct hook_input *in)
{
	char pci[PCI_ADDR_LEN] = "";
	xmlChar *a = sym_xmlGetProp(vf, (const xmlChar *)"address");

	if (a) {
		bool ok = pci_addr_valid((const char *)a);

		if (ok)
			for (unsigned i = 0; i < PCI_ADDR_LEN; i++)
				pci[i] = (char)tolower((unsigned char)a[i]);
		else
			meta_error(in, "address '%.40s' is not a PCI address", (const char *)a);
		xml_free(a);
		if (!ok)
			return;
	}
	for (const xmlAttr *at = vf->properties; at; at = at->next) {
		struct hook_meta *m;
		xmlChar *v;

		if (at->type != XML_ATTRIBUTE_NODE || sym_xmlStrEqual(at->name, (const xmlChar *)"address"))
			continue;
		if (in->n_meta >= HOOK_META_MAX) {
			meta_error(in, "more than %d settings", HOOK_META_MAX);
			return;
		}
		m = &in->meta[in->n_meta];
		v = sym_xmlGetProp(vf, at->name);
		if (!v || strlen((const char *)at->name) >= sizeof(m->key) ||
		    strlen((const char *)v) >= sizeof(m->value)) {
			meta_error(in, "setting '%.40s' is too long", (const char *)at->name);
			xml_free(v);
			return;
		}
		memcpy(m->pci, pci, sizeof(pci));
		snprintf(m->key, sizeof(m->key), "%s", (const char *)at->name);
		snprintf(m->value, sizeof(m->value), "%s", (const char *)v);
		xml_free(v);
		in->n_meta++;
	}
}

static void read_metadata(const xmlNode *md, struct hook_input *in)
{
	for (const xmlNode *top = md ? md->children : NULL; top; top = top->next) {
		if (top->type != XML_ELEMENT_NODE || !top->ns || !top->ns->href ||
		    !sym_xmlStrEqual(top->ns->href, (const xmlChar *)HOOK_XMLNS))
			continue; /* another application's metadata */
		if (!in_ns(top, "vfs")) {
			meta_error(in, "unknown element '%.40s' (expected vfs)", (const char *)top->name);
			continue;
		}
		for (const xmlNode *c = top->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (!in_ns(c, "vf")) {
				meta_error(in, "unknown element '%.40s' (expected vf)", (const char *)c->name);
				continue;
			}
			read_meta_vf(c, in);
		}
	}
}

int hook_parse_domain(const char *xml, size_t len, struct hook_input *in)
{
	int r;
	xmlDocPtr doc = parse(xml, len, &r);
	const xmlNode *root, *devs;

	memset(in, 0, sizeof(*in));
	if (!doc)
		return r;
	r = 0;
	root = sym_xmlDocGetRootElement(doc);
	if (!root || !name_is(root, "domain")) {
		sym_xmlFreeDoc(doc);
		return -EBADMSG;
	}
	text_of(child(root, "name"), in->owner, sizeof(in->owner));
	read_metadata(child(root, "metadata"), in);
	devs = child(root, "devices");
	for (const xmlNode *c = devs ? devs->children : NULL; c && r == 0; c = c->next) {
		if (name_is(c, "interface") && attr_is(c, "type", "hostdev")) {
			const xmlNode *src = child(c, "source");

			r = add_dev(in, child(src, "address"), c);
		} else if (name_is(c, "hostdev") && attr_is(c, "mode", "subsystem") &&
			   attr_is(c, "type", "pci")) {
			const xmlNode *src = child(c, "source");

			r = add_dev(in, child(src, "address"), NULL);
		}
	}
	sym_xmlFreeDoc(doc);
	if (r < 0)
		hook_input_free(in);
	return r;
}

void hook_input_free(struct hook_input *in)
{
	free(in->dev);
	in->dev = NULL;
	in->n = in->cap = 0;
}

int hook_parse_network(const char *xml, size_t len, struct hook_input *in)
{
	int r;
	xmlDocPtr doc = parse(xml, len, &r);
	const xmlNode *root, *port, *plug;

	memset(in, 0, sizeof(*in));
	if (!doc)
		return r;
	r = 0;
	root = sym_xmlDocGetRootElement(doc);
	port = root && name_is(root, "hookData") ? child(root, "networkport") : NULL;
	if (!port) {
		sym_xmlFreeDoc(doc);
		return 0; /* network-level events carry no port: nothing to do */
	}
	text_of(child(child(port, "owner"), "name"), in->owner, sizeof(in->owner));
	plug = child(port, "plug");
	if (plug && attr_is(plug, "type", "hostdev-pci"))
		r = add_dev(in, child(plug, "address"), port);
	sym_xmlFreeDoc(doc);
	if (r < 0)
		hook_input_free(in);
	return r;
}

int vf_parent(const char *vf_pci, char pf_pci[PCI_ADDR_LEN], unsigned *idx)
{
	char p[PATH_MAX], t[64];
	ssize_t n;
	int r;

	if (!pci_addr_valid(vf_pci))
		return -EINVAL;
	if ((r = path_join(p, sizeof(p), "%s/bus/pci/devices/%s/physfn", roots.sys, vf_pci)) < 0)
		return r;
	n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return -errno;
	t[n] = '\0';
	{
		const char *b = strrchr(t, '/') ? strrchr(t, '/') + 1 : t;

		if (!pci_addr_valid(b))
			return -EINVAL;
		memcpy(pf_pci, b, PCI_ADDR_LEN);
	}
	/* Find which virtfnN of the PF points back at this VF. */
	for (unsigned i = 0; i < VFS_MAX; i++) {
		char l[PATH_MAX], base[64];

		if (path_join(l, sizeof(l), "%s/bus/pci/devices/%s/virtfn%u", roots.sys, pf_pci, i) < 0)
			return -ENAMETOOLONG;
		n = readlink(l, base, sizeof(base) - 1);
		if (n < 0)
			return errno == ENOENT ? -ENOENT : -errno;
		base[n] = '\0';
		if (streq(strrchr(base, '/') ? strrchr(base, '/') + 1 : base, vf_pci)) {
			*idx = i;
			return 0;
		}
	}
	return -ENOENT;
}
