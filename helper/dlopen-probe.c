/* SPDX-License-Identifier: MIT */
/*
 * Not part of vfwarden: linked at build time against the libraries dl.c
 * dlopen()s, using the symbols it looks up. Its NEEDED entries are the
 * sonames dl.c opens (Makefile: soname.h), and dpkg-shlibdeps reads the
 * package's Depends on them from it (debian/rules).
 */
#include "dl.h"

int main(void)
{
	void *volatile used[] = {
		(void *)xmlReadMemory, (void *)xmlFreeDoc,	  (void *)xmlDocGetRootElement,
		(void *)xmlGetProp,    (void *)xmlNodeGetContent, (void *)xmlStrEqual,
		(void *)&xmlFree,      (void *)kmod_new,	  (void *)kmod_unref,
		(void *)kmod_module_new_from_name, (void *)kmod_module_probe_insert_module,
		(void *)kmod_module_unref,
		(void *)udev_new, (void *)udev_unref, (void *)udev_queue_new,
		(void *)udev_queue_get_udev_is_active, (void *)udev_queue_unref,
		(void *)udev_device_new_from_subsystem_sysname, (void *)udev_device_get_is_initialized,
		(void *)udev_device_get_property_value, (void *)udev_device_unref,
		(void *)virConnectOpenReadOnly, (void *)virConnectListAllDomains,
	};

	return used[0] == NULL;
}
