/* SPDX-License-Identifier: MIT */
#pragma once

#include <time.h>

#include "util.h"

#define FAILED_KEYS_MAX 16

/*
 * What the last apply did, kept for metrics: the whole run in
 * /run/vfwarden/last-apply, and each PF it converged in
 * /run/vfwarden/last-apply.d/<PCI>, so that a run for one PF (udev's
 * vfwarden@) does not hide another PF's failure.
 */
struct last_apply {
	time_t time;
	int status;
	unsigned changes, failures;
	unsigned n_failed;
	struct {
		char key[32];
		unsigned count;
	} failed[FAILED_KEYS_MAX];
};

void last_apply_count_failure(struct last_apply *l, const char *key);
int last_apply_write(const struct last_apply *l);
int last_apply_read(struct last_apply *l);
int last_apply_write_pf(const char *pci, const struct last_apply *l);
int last_apply_read_pf(const char *pci, struct last_apply *l);
