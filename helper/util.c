/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

#include "util.h"

int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		unsigned long d = (unsigned long)(*s - '0');

		if (v > max / 10 || d > max - v * 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (streq(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (streq(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int parse_mac(const char *s, uint8_t mac[MAC_LEN])
{
	if (strlen(s) != MAC_STR_LEN - 1)
		return -EINVAL;
	for (int i = 0; i < MAC_LEN; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < MAC_LEN - 1 && s[i * 3 + 2] != ':')
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *format_mac(const uint8_t mac[MAC_LEN], char buf[MAC_STR_LEN])
{
	snprintf(buf, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

bool mac_is_zero(const uint8_t mac[MAC_LEN])
{
	for (int i = 0; i < MAC_LEN; i++)
		if (mac[i])
			return false;
	return true;
}

bool mac_is_multicast(const uint8_t mac[MAC_LEN])
{
	return mac[0] & 0x01;
}

/*
 * mac = auto: the first six bytes of FNV-1a-64 over the PF's permanent MAC
 * (6 bytes) followed by the VF index (2 bytes, big endian), then the first
 * byte forced to locally administered unicast (bits xxxxxx10). A hash rather
 * than "PF MAC + index" because the ports of one NIC have consecutive MACs,
 * so PF0 vf1 and PF1 vf0 would collide.
 */
void mac_derive(const uint8_t pf_mac[MAC_LEN], unsigned vf, uint8_t out[MAC_LEN])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t in[MAC_LEN + 2];

	memcpy(in, pf_mac, MAC_LEN);
	in[MAC_LEN] = (uint8_t)(vf >> 8);
	in[MAC_LEN + 1] = (uint8_t)vf;
	for (size_t i = 0; i < sizeof(in); i++) {
		h ^= in[i];
		h *= 0x100000001b3ULL;
	}
	for (int i = 0; i < MAC_LEN; i++)
		out[i] = (uint8_t)(h >> (56 - 8 * i));
	out[0] = (uint8_t)((out[0] & 0xfc) | 0x02);
}

bool pci_addr_valid(const char *s)
{
	/* dddd:bb:dd.f, hex, lower or upper case as sysfs uses lower */
	static const char tmpl[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(tmpl) - 1)
		return false;
	for (size_t i = 0; i < sizeof(tmpl) - 1; i++) {
		if (tmpl[i] == 'x') {
			if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
				return false;
		} else if (s[i] != tmpl[i])
			return false;
	}
	/* device 0-0x1f, function 0-7 */
	return hexval(s[8]) * 16 + hexval(s[9]) <= 0x1f && hexval(s[11]) <= 7;
}

bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || streq(s, ".") || streq(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	return true;
}

bool label_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

int read_line_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int read_uint_file(const char *path, unsigned long *ret)
{
	char buf[64];
	int r = read_line_file(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	return parse_uint(buf, ~0UL, ret);
}

int write_string_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	size_t n = strlen(s);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = write(fd, s, n);
	if (w < 0)
		return -errno;
	if ((size_t)w != n)
		return -EIO;
	return 0;
}

int path_join(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}
