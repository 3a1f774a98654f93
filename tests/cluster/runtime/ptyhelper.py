#!/usr/bin/env python3
"""Run a command on a pseudo-terminal for the kodama test cluster.

usage: ptyhelper.py [--no-ctty] COLS ROWS PROGRAM [ARGS...]

stdin carries frames: 1 byte type, 4 bytes big-endian length, payload.
  type 0: bytes for the terminal, 1: resize "COLS ROWS", 2: end of input (sends ^D).
stdout carries the raw terminal output. The first line on stderr is "pid N" (the child's
pid; it leads its own session). The helper exits with the child's exit code (128+signal).
--no-ctty: the terminal is not made the child's controlling terminal; PROGRAM makes it the controlling
terminal of a session of its own (`setsid --ctty` inside a container's PID namespace, where a shell's job
control needs its session leader in sight).
"""
import fcntl
import os
import select
import struct
import sys
import termios


def set_size(fd, cols, rows):
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    except OSError:
        pass


def write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            select.select([], [fd], [], 1)
            continue
        data = data[n:]


def main():
    args = sys.argv[1:]
    ctty = not (args and args[0] == "--no-ctty")
    if not ctty:
        args = args[1:]
    cols, rows, argv = int(args[0]), int(args[1]), args[2:]
    # size the terminal before the child exists: a resize that arrives early must not be
    # overwritten by the child setting the initial size late
    master, slave = os.openpty()
    set_size(slave, cols, rows)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if ctty:
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.close(master)
        try:
            os.execv(argv[0], argv)
        except OSError as e:
            os.write(2, ("exec %s: %s\r\n" % (argv[0], e.strerror)).encode())
            os._exit(126)
    os.close(slave)
    os.write(2, b"pid %d\n" % pid)
    buf = b""
    stdin_open = True
    status = None
    while True:
        fds = [master] + ([0] if stdin_open else [])
        r, _, _ = select.select(fds, [], [], 0.05 if status is not None else 1.0)
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            write_all(1, data)
        elif status is not None:
            break  # child gone and no more output (background processes may hold the tty)
        if stdin_open and 0 in r:
            d = os.read(0, 65536)
            if not d:
                stdin_open = False
            buf += d
            while len(buf) >= 5:
                kind, size = buf[0], struct.unpack(">I", buf[1:5])[0]
                if len(buf) < 5 + size:
                    break
                payload, buf = buf[5:5 + size], buf[5 + size:]
                if kind == 0:
                    write_all(master, payload)
                elif kind == 1:
                    c, r_ = payload.split()
                    set_size(master, int(c), int(r_))
                elif kind == 2:
                    write_all(master, b"\x04")
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
