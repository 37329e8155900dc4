/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "dl.h"
/* LIBXML2_SONAME, LIBKMOD_SONAME, LIBUDEV_SONAME, LIBVIRT_SONAME: what the build links -lxml2, -lkmod, -ludev and -lvirt to (Makefile). */
#include "soname.h"

__typeof__(xmlReadMemory) *sym_xmlReadMemory;
__typeof__(xmlFreeDoc) *sym_xmlFreeDoc;
__typeof__(xmlDocGetRootElement) *sym_xmlDocGetRootElement;
__typeof__(xmlGetProp) *sym_xmlGetProp;
__typeof__(xmlNodeGetContent) *sym_xmlNodeGetContent;
__typeof__(xmlStrEqual) *sym_xmlStrEqual;
xmlFreeFunc *sym_xmlFree;

__typeof__(kmod_new) *sym_kmod_new;
__typeof__(kmod_unref) *sym_kmod_unref;
__typeof__(kmod_module_new_from_name) *sym_kmod_module_new_from_name;
__typeof__(kmod_module_probe_insert_module) *sym_kmod_module_probe_insert_module;
__typeof__(kmod_module_unref) *sym_kmod_module_unref;

__typeof__(udev_new) *sym_udev_new;
__typeof__(udev_unref) *sym_udev_unref;
__typeof__(udev_queue_new) *sym_udev_queue_new;
__typeof__(udev_queue_get_udev_is_active) *sym_udev_queue_get_udev_is_active;
__typeof__(udev_queue_unref) *sym_udev_queue_unref;
__typeof__(udev_device_new_from_subsystem_sysname) *sym_udev_device_new_from_subsystem_sysname;
__typeof__(udev_device_get_is_initialized) *sym_udev_device_get_is_initialized;
__typeof__(udev_device_get_property_value) *sym_udev_device_get_property_value;
__typeof__(udev_device_unref) *sym_udev_device_unref;

const char dl_libxml2_soname[] = LIBXML2_SONAME, dl_libkmod_soname[] = LIBKMOD_SONAME;
const char dl_libudev_soname[] = LIBUDEV_SONAME, dl_libvirt_soname[] = LIBVIRT_SONAME;

__typeof__(virConnectOpenReadOnly) *sym_virConnectOpenReadOnly;
__typeof__(virConnectClose) *sym_virConnectClose;
__typeof__(virConnectListAllDomains) *sym_virConnectListAllDomains;
__typeof__(virDomainGetName) *sym_virDomainGetName;
__typeof__(virDomainGetState) *sym_virDomainGetState;
__typeof__(virDomainGetAutostart) *sym_virDomainGetAutostart;
__typeof__(virDomainIsActive) *sym_virDomainIsActive;
__typeof__(virDomainIsPersistent) *sym_virDomainIsPersistent;
__typeof__(virDomainGetXMLDesc) *sym_virDomainGetXMLDesc;
__typeof__(virDomainFree) *sym_virDomainFree;
__typeof__(virGetLastErrorMessage) *sym_virGetLastErrorMessage;
__typeof__(virSetErrorFunc) *sym_virSetErrorFunc;

struct dl_sym {
	const char *name;
	void **ptr;
};

#define SYM(s) { #s, (void **)&sym_##s }

/* All or nothing: a library missing one symbol is not used at all. */
static int dl_open(const char *soname, const struct dl_sym *syms, size_t n, int *state)
{
	void *h;

	if (*state)
		return *state > 0 ? 0 : -EOPNOTSUPP;
	*state = -1;
	/* RTLD_NODELETE: the pointers stay valid for the life of the process. */
	h = dlopen(soname, RTLD_NOW | RTLD_NODELETE);
	if (!h)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < n; i++) {
		*syms[i].ptr = dlsym(h, syms[i].name);
		if (!*syms[i].ptr) {
			for (size_t j = 0; j < n; j++)
				*syms[j].ptr = NULL;
			dlclose(h);
			return -EOPNOTSUPP;
		}
	}
	*state = 1;
	return 0;
}

int dlopen_libxml2(void)
{
	static int state;
	static const struct dl_sym syms[] = {
		SYM(xmlReadMemory), SYM(xmlFreeDoc),	    SYM(xmlDocGetRootElement), SYM(xmlGetProp),
		SYM(xmlNodeGetContent), SYM(xmlStrEqual), SYM(xmlFree),
	};

	return dl_open(dl_libxml2_soname, syms, sizeof(syms) / sizeof(syms[0]), &state);
}

int dlopen_libkmod(void)
{
	static int state;
	static const struct dl_sym syms[] = {
		SYM(kmod_new),
		SYM(kmod_unref),
		SYM(kmod_module_new_from_name),
		SYM(kmod_module_probe_insert_module),
		SYM(kmod_module_unref),
	};

	return dl_open(dl_libkmod_soname, syms, sizeof(syms) / sizeof(syms[0]), &state);
}

int dlopen_libudev(void)
{
	static int state;
	static const struct dl_sym syms[] = {
		SYM(udev_new),
		SYM(udev_unref),
		SYM(udev_queue_new),
		SYM(udev_queue_get_udev_is_active),
		SYM(udev_queue_unref),
		SYM(udev_device_new_from_subsystem_sysname),
		SYM(udev_device_get_is_initialized),
		SYM(udev_device_get_property_value),
		SYM(udev_device_unref),
	};

	return dl_open(dl_libudev_soname, syms, sizeof(syms) / sizeof(syms[0]), &state);
}

int dlopen_libvirt(void)
{
	static int state;
	static const struct dl_sym syms[] = {
		SYM(virConnectOpenReadOnly), SYM(virConnectClose),	SYM(virConnectListAllDomains),
		SYM(virDomainGetName),	     SYM(virDomainGetState),	SYM(virDomainGetAutostart),
		SYM(virDomainIsActive),	     SYM(virDomainIsPersistent), SYM(virDomainGetXMLDesc),
		SYM(virDomainFree),	     SYM(virGetLastErrorMessage), SYM(virSetErrorFunc),
	};

	return dl_open(dl_libvirt_soname, syms, sizeof(syms) / sizeof(syms[0]), &state);
}
