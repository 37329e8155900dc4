/* SPDX-License-Identifier: MIT */
/* A minimal TAP producer for the C unit tests: plan at the end, one line per check. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_n, tap_failed;

static void tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %u - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
}

#define tap_is_str(got, want, name)                                                          \
	do {                                                                                 \
		const char *g_ = (got), *w_ = (want);                                        \
		int eq_ = g_ && w_ && strcmp(g_, w_) == 0;                                   \
		tap_ok(eq_, "%s", name);                                                     \
		if (!eq_)                                                                    \
			printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)",     \
			       w_ ? w_ : "(null)");                                          \
	} while (0)

#define tap_is_int(got, want, name)                                                          \
	do {                                                                                 \
		long g_ = (long)(got), w_ = (long)(want);                                    \
		tap_ok(g_ == w_, "%s", name);                                                \
		if (g_ != w_)                                                                \
			printf("#   got:  %ld\n#   want: %ld\n", g_, w_);                      \
	} while (0)

static int tap_done(void)
{
	printf("1..%u\n", tap_n);
	return tap_failed ? 1 : 0;
}
