#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# mac = auto as vfwarden.conf(5) documents it, written apart from vfwarden's
# C on purpose: FNV-1a 64 of the PF's permanent MAC and the VF index (2 bytes,
# big endian), first 6 bytes, locally administered unicast.
#   auto_mac.py PF_MAC IDX...  ->  one MAC a line
import sys


def auto_mac(pf_mac, idx):
    h = 0xCBF29CE484222325
    for b in bytes(int(x, 16) for x in pf_mac.split(":")) + idx.to_bytes(2, "big"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    m = bytearray(h.to_bytes(8, "big")[:6])
    m[0] = (m[0] & 0xFC) | 0x02
    return ":".join("%02x" % b for b in m)


if __name__ == "__main__":
    for i in sys.argv[2:]:
        print(auto_mac(sys.argv[1], int(i)))
