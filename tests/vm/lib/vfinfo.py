#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The VF table of one PF straight from rtnetlink, for tests past the VF
# count where iproute2 stops (about 222 on 6.1: it asks for the counters,
# and the 16-bit IFLA_VFINFO_LIST length wraps past 64 KiB). Written apart
# from vfwarden's reader on purpose: the tests compare the two.
#
#   vfinfo.py IFNAME   ->  JSON list of {"vf", "mac", "vlan", "qos", "spoofchk", "trust"}
import json
import socket
import struct
import sys

RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST = 1
IFLA_IFNAME, IFLA_NUM_VF, IFLA_VFINFO_LIST, IFLA_EXT_MASK = 3, 21, 22, 29
IFLA_VF_INFO = 1
IFLA_VF_MAC, IFLA_VF_VLAN, IFLA_VF_SPOOFCHK, IFLA_VF_TRUST = 1, 2, 4, 9
RTEXT_FILTER_VF, RTEXT_FILTER_SKIP_STATS = 1, 8


def attrs(buf, off, end):
    while off + 4 <= end:
        ln, typ = struct.unpack_from("=HH", buf, off)
        if ln < 4 or off + ln > end:
            return
        yield typ & 0x3FFF, off, ln
        off += (ln + 3) & ~3


def request(ifname):
    name = ifname.encode() + b"\0"
    a1 = struct.pack("=HH", 4 + len(name), IFLA_IFNAME) + name
    a1 += b"\0" * (-len(a1) % 4)
    a2 = struct.pack("=HHI", 8, IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS)
    body = struct.pack("=BxHiII", 0, 0, 0, 0, 0) + a1 + a2
    return struct.pack("=IHHII", 16 + len(body), RTM_GETLINK, NLM_F_REQUEST, 1, 0) + body


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.send(request(sys.argv[1]))
    size = len(s.recv(1 << 24, socket.MSG_PEEK | socket.MSG_TRUNC))
    buf = s.recv(max(size, 1 << 16))
    mlen, mtype = struct.unpack_from("=IH", buf, 0)
    if mtype != RTM_NEWLINK:
        sys.exit("vfinfo: no RTM_NEWLINK for %s (type %d)" % (sys.argv[1], mtype))
    num, vfs = 0, []
    for typ, off, ln in attrs(buf, 16 + 16, mlen):
        if typ == IFLA_NUM_VF:
            num = struct.unpack_from("=I", buf, off + 4)[0]
        if typ != IFLA_VFINFO_LIST:
            continue
        # Entries run on past the wrapped length: take num_vf of them.
        pos = off + 4
        for _ in range(num):
            ln, typ = struct.unpack_from("=HH", buf, pos)
            if typ != IFLA_VF_INFO:
                break
            vf = {}
            for t, o, n in attrs(buf, pos + 4, pos + ln):
                if t == IFLA_VF_MAC:
                    idx = struct.unpack_from("=I", buf, o + 4)[0]
                    vf["vf"] = idx
                    vf["mac"] = ":".join("%02x" % b for b in buf[o + 8 : o + 14])
                elif t == IFLA_VF_VLAN:
                    _, vf["vlan"], vf["qos"] = struct.unpack_from("=III", buf, o + 4)
                elif t == IFLA_VF_SPOOFCHK:
                    vf["spoofchk"] = struct.unpack_from("=i", buf, o + 8)[0]
                elif t == IFLA_VF_TRUST:
                    vf["trust"] = struct.unpack_from("=i", buf, o + 8)[0]
            vfs.append(vf)
            pos += (ln + 3) & ~3
        break
    json.dump(vfs, sys.stdout)
    print()


main()
