/* SPDX-License-Identifier: MIT */
/* What only the ethtool ioctl tells: a netdev's permanent address. */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "kernel.h"

int ethtool_perm_mac(const char *ifname, uint8_t mac[MAC_LEN])
{
	union {
		struct ethtool_perm_addr h;
		uint8_t raw[sizeof(struct ethtool_perm_addr) + 32];
	} epa = { .h = { .cmd = ETHTOOL_GPERMADDR, .size = 32 } };
	struct ifreq ifr = { 0 };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&epa;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return -errno;
	if (epa.h.size != MAC_LEN)
		return -EOPNOTSUPP;
	memcpy(mac, epa.h.data, MAC_LEN);
	return 0;
}
