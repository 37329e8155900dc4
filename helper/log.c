/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"

/* From udev, systemd and libvirt stderr is no terminal: keep a copy in syslog. */
static bool use_syslog;

void log_open(void)
{
	/* Under systemd stderr already is the journal (JOURNAL_STREAM): no second copy. */
	use_syslog = !isatty(STDERR_FILENO) && !getenv("JOURNAL_STREAM") && backend->syslog;
	if (use_syslog)
		openlog("vfwarden", LOG_PID, LOG_DAEMON);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (use_syslog) {
		va_start(ap, fmt);
		vsyslog(prio, fmt, ap);
		va_end(ap);
	}
}
