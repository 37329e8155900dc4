#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host end of tests/vm/hotplug.

Reads the guest's requests, one line each, from the vfw.ctl virtio port
(a unix socket of tests/vm/run's QEMU) and carries them out over QMP:

    add [igbN]   plug igbN (default: the lowest N not in use, from --nics
                 up) into a free pcie-root-port; answers "ok igbN MAC"
    del igbN     unplug it and wait for QEMU's DEVICE_DELETED (the guest
                 has released the device); answers "ok igbN"
    list         answers "ok ID=PORT ..."

Errors answer "err MESSAGE".  Exits when QEMU goes away.
"""
import json
import re
import select
import socket
import sys
import time

DEL_TIMEOUT = 120


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def connect(path, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Lines:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self, timeout=None):
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return None
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def pending(self):
        return b"\n" in self.buf


class QMP:
    def __init__(self, path):
        self.sock = connect(path)
        self.lines = Lines(self.sock)
        self.events = []
        self.lines.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            m = json.loads(self.lines.readline())
            if "event" in m:
                self.events.append(m)
            elif "error" in m:
                raise RuntimeError(m["error"].get("desc", str(m["error"])))
            else:
                return m.get("return")

    def wait_deleted(self, dev, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["event"] == "DEVICE_DELETED" and e.get("data", {}).get("device") == dev:
                    self.events.remove(e)
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            line = self.lines.readline(left)
            if line is not None:
                m = json.loads(line)
                if "event" in m:
                    self.events.append(m)


def main():
    rundir, nics, spares = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    qmp = QMP(rundir + "/qmp.sock")
    ctl = connect(rundir + "/ctl.sock")
    ctl_lines = Lines(ctl)
    log("connected")
    # port -> device id (None: free); cold-plugged PFs sit on rp<i>.
    ports = {f"rp{i}": f"igb{i}" for i in range(nics)}
    ports.update({f"hp{j}": None for j in range(spares)})

    def reply(s):
        log("->", s)
        ctl.sendall(s.encode() + b"\n")

    def mac(n):
        return "52:54:00:12:34:%02x" % (n + 1)

    while True:
        r, _, _ = select.select([ctl, qmp.sock], [], [])
        if qmp.sock in r:
            line = qmp.lines.readline(0)  # events only; EOFError when QEMU exits
            if line:
                qmp.events.append(json.loads(line))
        if ctl not in r and not ctl_lines.pending():
            continue
        line = ctl_lines.readline(0)
        if line is None:
            continue
        words = line.split()
        log("<-", line)
        try:
            if not words:
                raise ValueError("empty request")
            if words[0] == "add" and len(words) <= 2:
                used = set(v for v in ports.values() if v)
                if len(words) == 2:
                    dev = words[1]
                else:
                    dev = next(f"igb{n}" for n in range(nics, 1000) if f"igb{n}" not in used)
                m = re.fullmatch(r"igb(\d+)", dev)
                if not m or int(m.group(1)) > 254:
                    raise ValueError(f"bad device id '{dev}' (igbN, N <= 254)")
                if dev in used:
                    raise ValueError(f"'{dev}' is plugged already")
                free = [p for p, v in ports.items() if v is None]
                if not free:
                    raise ValueError("no free pcie-root-port (VFWARDEN_VM_HOTPLUG_PORTS)")
                port, n = free[0], int(m.group(1))
                try:
                    qmp.cmd("netdev_del", id=f"net{n}")
                except RuntimeError:
                    pass
                qmp.cmd("netdev_add", type="hubport", id=f"net{n}", hubid=n)
                qmp.cmd("device_add", driver="igb", id=dev, bus=port, netdev=f"net{n}", mac=mac(n))
                ports[port] = dev
                reply(f"ok {dev} {mac(n)} {port}")
            elif words[0] == "del" and len(words) == 2:
                dev = words[1]
                port = next((p for p, v in ports.items() if v == dev), None)
                if port is None:
                    raise ValueError(f"'{dev}' is not plugged")
                qmp.cmd("device_del", id=dev)
                if not qmp.wait_deleted(dev, DEL_TIMEOUT):
                    raise ValueError(f"guest did not release '{dev}' within {DEL_TIMEOUT} s")
                ports[port] = None
                n = int(dev[3:])
                try:
                    qmp.cmd("netdev_del", id=f"net{n}")
                except RuntimeError:
                    pass
                reply(f"ok {dev}")
            elif words[0] == "list" and len(words) == 1:
                reply("ok " + " ".join(f"{v}={p}" for p, v in ports.items() if v))
            else:
                raise ValueError(f"unknown request '{line}'")
        except (ValueError, RuntimeError, StopIteration) as e:
            reply(f"err {e}")


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError, BrokenPipeError, OSError) as e:
        log("QEMU went away:", e)
