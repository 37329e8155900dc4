/* SPDX-License-Identifier: MIT */
/* Kernel modules, through libkmod (dlopen()ed on first use, dl.h). */
#include <errno.h>

#include "dl.h"
#include "kernel.h"

int kmod_load(const char *name)
{
	struct kmod_ctx *ctx;
	struct kmod_module *mod = NULL;
	int r;

	if ((r = dlopen_libkmod()) < 0)
		return r;
	ctx = sym_kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	r = sym_kmod_module_new_from_name(ctx, name, &mod);
	if (r == 0)
		r = sym_kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
	if (mod)
		sym_kmod_module_unref(mod);
	sym_kmod_unref(ctx);
	if (r > 0) /* libkmod reports a blacklisted module with a positive value */
		r = -EPERM;
	return r;
}
