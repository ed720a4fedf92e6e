#!/usr/bin/env python3
"""``condor_chirp`` inside the job's container: a one-file client of the starter's I/O proxy.

The job wrapper copies this file, alone, to ``<sandbox>/.gs_bin/condor_chirp`` for a job whose starter
runs the I/O proxy (``want_io_proxy = true``: the starter then writes ``.chirp.config`` and sets
``_CONDOR_CHIRP_CONFIG``), and the plan puts ``/srv/.gs_bin`` first on the job's ``PATH`` inside the
container (``APPTAINERENV_PREPEND_PATH``), as GlideinWMS puts its portable ``condor_chirp`` on the job's
PATH. The node's own ``condor_chirp`` is a dynamically linked HTCondor program that needs the node's
libraries; this one needs only a ``python3`` (>= 3.6) in the image and imports nothing but the standard
library, so it runs under the image's interpreter.

Commands (HTCondor's ``condor_chirp`` names, arguments and output): ``set_job_attr NAME EXPR``,
``set_job_attr_delayed NAME EXPR``, ``get_job_attr NAME``, ``get_job_attr_delayed NAME``, ``ulog
TEXT`` and ``whoami``. The file commands (``fetch``, ``put``, ``read``...) are not provided: a job in a
container uses HTCondor's file transfer; asking for one says so.

The protocol (HTCondor's Chirp, version 2, as the starter's proxy speaks it): one TCP connection to the
host and port of ``.chirp.config`` (``HOST PORT COOKIE`` on one line); the first request is ``cookie
COOKIE``; each request is one line of at most 5120 bytes whose arguments are separated by spaces, with
``\\``, space, tab, CR and LF escaped by a backslash; each answer starts with a line holding an integer:
negative is an error code, otherwise a result or the length of the data that follows.

Exit status: 0 done; 1 the proxy refused or could not be reached (the message says why); 2 usage.
"""

import os
import socket
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Sequence, Tuple

#: Longest request line the proxy accepts (HTCondor's CHIRP_LINE_MAX).
LINE_MAX = 5120
#: Seconds to wait for the proxy before giving up.
TIMEOUT = 60.0
#: Chirp's error codes (negative answers), as HTCondor's client words them.
ERRORS = {
    -1: "not authenticated",
    -2: "not authorized",
    -3: "no such object",
    -4: "already exists",
    -5: "request too big",
    -6: "no space",
    -7: "out of memory",
    -8: "invalid request",
    -9: "too many open",
    -10: "busy",
    -11: "try again",
    -12: "bad file descriptor",
    -13: "is a directory",
    -14: "not a directory",
    -15: "directory not empty",
    -16: "cross-device link",
    -17: "offline",
    -127: "unknown error",
}
#: command -> (number of arguments, whether the answer is a length followed by that much data).
COMMANDS = {
    "set_job_attr": (2, False),
    "set_job_attr_delayed": (2, False),
    "get_job_attr": (1, True),
    "get_job_attr_delayed": (1, True),
    "ulog": (1, False),
    "whoami": (0, True),
}
USAGE = "usage: condor_chirp {{{}}} ARGS (glidein-singularity's client of the starter's I/O proxy)".format(
    "|".join(sorted(COMMANDS))
)


class ChirpError(Exception):
    """The proxy answered with an error, or could not be reached or read."""


def escape(text: str) -> str:
    """One request argument: backslash, space, tab, CR and LF escaped with a backslash."""
    out = []
    for char in text:
        if char in "\\ \t\r\n":
            out.append("\\")
        out.append(char)
    return "".join(out)


def config_path(environ: "Dict[str, str]") -> str:
    """``_CONDOR_CHIRP_CONFIG``, else ``.chirp.config`` in ``_CONDOR_SCRATCH_DIR``, else in the cwd."""
    named = environ.get("_CONDOR_CHIRP_CONFIG")
    if named:
        return named
    return os.path.join(environ.get("_CONDOR_SCRATCH_DIR") or ".", ".chirp.config")


def read_config(path: str) -> "Tuple[str, int, str]":
    """(host, port, cookie) from a ``.chirp.config`` file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            words = handle.read().split()
    except OSError as exc:
        msg = "cannot read {}: {} (submit with want_io_proxy = true)".format(path, exc.strerror or exc)
        raise ChirpError(msg) from None
    if len(words) != 3 or not words[1].isdigit():
        msg = "{} does not hold HOST PORT COOKIE".format(path)
        raise ChirpError(msg)
    return words[0], int(words[1]), words[2]


class Connection:
    """One authenticated connection to the proxy."""

    def __init__(self, host: str, port: int, cookie: str, timeout: float = TIMEOUT) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            msg = "cannot connect to the I/O proxy at {}:{}: {}".format(host, port, exc)
            raise ChirpError(msg) from None
        self.buffer = b""
        try:
            self.request(["cookie", cookie])
        except ChirpError:
            self.sock.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def _receive(self) -> bytes:
        try:
            chunk = self.sock.recv(65536)
        except OSError as exc:
            msg = "lost the I/O proxy: {}".format(exc)
            raise ChirpError(msg) from None
        if not chunk:
            raise ChirpError("the I/O proxy closed the connection")
        return chunk

    def _line(self) -> str:
        while b"\n" not in self.buffer:
            if len(self.buffer) > LINE_MAX:
                msg = "the I/O proxy's answer is longer than {} bytes".format(LINE_MAX)
                raise ChirpError(msg)
            self.buffer += self._receive()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace").strip()

    def _data(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self.buffer += self._receive()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return data

    def request(self, words: "Sequence[str]", with_data: bool = False) -> "Tuple[int, bytes]":
        """Send one request; return its status (>= 0) and, for ``with_data``, the data that follows."""
        line = (" ".join(escape(word) for word in words) + "\n").encode("utf-8", "surrogateescape")
        if len(line) > LINE_MAX:
            msg = "the request is longer than {} bytes".format(LINE_MAX)
            raise ChirpError(msg)
        try:
            self.sock.sendall(line)
        except OSError as exc:
            msg = "lost the I/O proxy: {}".format(exc)
            raise ChirpError(msg) from None
        answer = self._line()
        try:
            status = int(answer)
        except ValueError:
            msg = "unexpected answer from the I/O proxy: {!r}".format(answer[:80])
            raise ChirpError(msg) from None
        if status < 0:
            why = ERRORS.get(status, "error {}".format(status))
            msg = "{}: {} ({})".format(words[0], why, status)
            raise ChirpError(msg)
        return status, self._data(status) if with_data else b""


def run(command: str, args: "List[str]", environ: "Dict[str, str]") -> "Optional[bytes]":
    """Run one command; return the data to print (None when the command prints nothing)."""
    host, port, cookie = read_config(config_path(environ))
    connection = Connection(host, port, cookie)
    try:
        if command == "whoami":
            _, data = connection.request([command, str(LINE_MAX)], with_data=True)
            return data
        _, data = connection.request([command, *args], with_data=COMMANDS[command][1])
        return data if COMMANDS[command][1] else None
    finally:
        connection.close()


def main(argv: "Optional[List[str]]" = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS or len(args) - 1 != COMMANDS[args[0]][0]:
        if args and args[0] not in COMMANDS and not args[0].startswith("-"):
            print(
                "condor_chirp: {} is not available in this container (use HTCondor's file transfer "
                "for files)".format(args[0]),
                file=sys.stderr,
            )
        print(USAGE, file=sys.stderr)
        return 2
    try:
        data = run(args[0], args[1:], dict(os.environ))
    except ChirpError as exc:
        print("condor_chirp: {}".format(exc), file=sys.stderr)
        return 1
    if data is not None:
        out = getattr(sys.stdout, "buffer", None)
        if out is not None:
            out.write(data + b"\n")
        else:  # pragma: no cover - a text-only stdout
            sys.stdout.write(data.decode("utf-8", "replace") + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
