/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define MAC_LEN 6
#define MAC_STR_LEN 18
#define PCI_ADDR_LEN 13 /* "0000:01:00.0" */

/* Bounded unsigned parse: decimal only, no sign, no trailing garbage. */
int parse_uint(const char *s, unsigned long max, unsigned long *ret);
int parse_bool(const char *s, bool *ret);
int parse_mac(const char *s, uint8_t mac[MAC_LEN]);
char *format_mac(const uint8_t mac[MAC_LEN], char buf[MAC_STR_LEN]);
bool mac_is_zero(const uint8_t mac[MAC_LEN]);
bool mac_is_multicast(const uint8_t mac[MAC_LEN]);
void mac_derive(const uint8_t pf_mac[MAC_LEN], unsigned vf, uint8_t out[MAC_LEN]);
bool pci_addr_valid(const char *s);
bool ifname_valid(const char *s);
bool label_valid(const char *s);

/* sysfs style helpers: return 0 or -errno. */
int read_line_file(const char *path, char *buf, size_t size);
int read_uint_file(const char *path, unsigned long *ret);
int write_string_file(const char *path, const char *s);
int path_join(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
