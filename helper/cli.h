/* SPDX-License-Identifier: MIT */
#pragma once

#include <getopt.h>

#include "converge.h"
#include "log.h"

#define VFWARDEN_VERSION "0.1.0"

/* Exit statuses, documented in README and vfwarden(8). */
enum {
	EXIT_OK = 0,
	EXIT_POLICY = 1,  /* the policy is invalid: nothing was changed */
	EXIT_USAGE = 2,   /* bad command line */
	EXIT_PARTIAL = 3, /* applied, but not all of the policy holds */
	EXIT_SYSTEM = 4,  /* lock timeout, no netlink, ...: nothing was changed */
	EXIT_CHECKS = 5,  /* doctor: a check failed */
};

struct cli {
	const char *config; /* -c FILE, or NULL for the default set */
};

struct command {
	const char *name;
	const char *summary; /* NULL: not listed by --help */
	int (*run)(const struct cli *cli, int argc, char **argv);
};

extern const struct command cmd_check, cmd_apply, cmd_status, cmd_show, cmd_hook, cmd_doctor;
extern const struct command cmd_udev; /* hidden: run by 70-vfwarden.rules */

/* A command's operands: n of them, the first in first; all in order in v
 * when v is given (room for the command's argc). */
struct cli_operands {
	char **v;
	const char *first;
	int n;
	bool begun;
};

/*
 * getopt_long() for a command's own argv, in GNU order: options may come
 * before or after operands and '--' ends them, also with POSIXLY_CORRECT
 * set. Operands are collected into ops. Returns the option character, or
 * -1 at the end, as getopt_long() does.
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       struct cli_operands *ops);
/* Load and validate the policy; print every error as FILE:LINE: message. */
int cli_load_policy(const struct cli *cli, struct policy *p, bool quiet);
const char *cli_strerror(int err, const struct pf_live *pf, char *buf, size_t size);
