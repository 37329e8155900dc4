/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libxml2 (the hook's XML), libkmod (loading vfio-pci) and libudev (what
 * udev knows: doctor, apply --wait-pfs) are opened on
 * first use, as systemd does for its optional libraries: linked at start,
 * they and what they pull in (ICU, libstdc++, libcrypto) cost every hook
 * call several milliseconds of relocations, also for the many calls about
 * domains without a VF that never parse anything.
 */
#include <libkmod.h>
#include <libudev.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

extern __typeof__(xmlReadMemory) *sym_xmlReadMemory;
extern __typeof__(xmlFreeDoc) *sym_xmlFreeDoc;
extern __typeof__(xmlDocGetRootElement) *sym_xmlDocGetRootElement;
extern __typeof__(xmlGetProp) *sym_xmlGetProp;
extern __typeof__(xmlNodeGetContent) *sym_xmlNodeGetContent;
extern __typeof__(xmlStrEqual) *sym_xmlStrEqual;
extern xmlFreeFunc *sym_xmlFree; /* the variable libxml2 exports */

extern __typeof__(kmod_new) *sym_kmod_new;
extern __typeof__(kmod_unref) *sym_kmod_unref;
extern __typeof__(kmod_module_new_from_name) *sym_kmod_module_new_from_name;
extern __typeof__(kmod_module_probe_insert_module) *sym_kmod_module_probe_insert_module;
extern __typeof__(kmod_module_unref) *sym_kmod_module_unref;

extern __typeof__(udev_new) *sym_udev_new;
extern __typeof__(udev_unref) *sym_udev_unref;
extern __typeof__(udev_queue_new) *sym_udev_queue_new;
extern __typeof__(udev_queue_get_udev_is_active) *sym_udev_queue_get_udev_is_active;
extern __typeof__(udev_queue_unref) *sym_udev_queue_unref;
extern __typeof__(udev_device_new_from_subsystem_sysname) *sym_udev_device_new_from_subsystem_sysname;
extern __typeof__(udev_device_get_is_initialized) *sym_udev_device_get_is_initialized;
extern __typeof__(udev_device_get_property_value) *sym_udev_device_get_property_value;
extern __typeof__(udev_device_unref) *sym_udev_device_unref;

/* The sonames they are opened by: those the build linked (Makefile, soname.h). */
extern const char dl_libxml2_soname[], dl_libkmod_soname[], dl_libudev_soname[], dl_libvirt_soname[];

/*
 * libvirt's client (virt.c), opened in a child process only: the parent
 * never maps it, and a host without libvirt never opens it.
 */
extern __typeof__(virConnectOpenReadOnly) *sym_virConnectOpenReadOnly;
extern __typeof__(virConnectClose) *sym_virConnectClose;
extern __typeof__(virConnectListAllDomains) *sym_virConnectListAllDomains;
extern __typeof__(virDomainGetName) *sym_virDomainGetName;
extern __typeof__(virDomainGetState) *sym_virDomainGetState;
extern __typeof__(virDomainGetAutostart) *sym_virDomainGetAutostart;
extern __typeof__(virDomainIsActive) *sym_virDomainIsActive;
extern __typeof__(virDomainIsPersistent) *sym_virDomainIsPersistent;
extern __typeof__(virDomainGetXMLDesc) *sym_virDomainGetXMLDesc;
extern __typeof__(virDomainFree) *sym_virDomainFree;
extern __typeof__(virGetLastErrorMessage) *sym_virGetLastErrorMessage;
extern __typeof__(virSetErrorFunc) *sym_virSetErrorFunc;


/* 0 once the library and every symbol above are there, else -EOPNOTSUPP. */
int dlopen_libxml2(void);
int dlopen_libkmod(void);
int dlopen_libudev(void);
int dlopen_libvirt(void);
