"""The framing shared by the server and the zygote, and the job's output lines.

Control messages (server <-> zygote) are a 4-byte big-endian length followed by a
UTF-8 JSON object; a spawn request carries one file descriptor (the job's output
pipe) as SCM_RIGHTS ancillary data on its first byte. Job output (payload ->
server) is newline-delimited JSON. Neither side ever unpickles anything.
"""
import json
import math
import socket
import struct

import orjson

MAX_CONTROL_MESSAGE = 8 * 1024 * 1024
MAX_SPEC_BYTES = 96 * 1024 * 1024  # a job's parameters, source and a continuation's population
_HEADER = struct.Struct(">I")
MAX_SAFE_INT = 2 ** 53


class ChannelClosed(Exception):
    """The peer closed the control socket."""


def send_message(sock, message, fds=()):
    """Send one framed JSON message, with file descriptors attached when given."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_CONTROL_MESSAGE:
        raise ValueError("control message too large")
    frame = _HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [frame[:1]], list(fds))
        frame = frame[sent:]
    sock.sendall(frame)


def recv_message(sock):
    """Receive one framed JSON message; returns (message, fds)."""
    first, fds, _flags, _addr = socket.recv_fds(sock, 1, 4)
    if not first:
        raise ChannelClosed()
    header = first + _recv_exact(sock, _HEADER.size - 1)
    (length,) = _HEADER.unpack(header)
    if length > MAX_CONTROL_MESSAGE:
        for fd in fds:
            _close_quietly(fd)
        raise ValueError("control message too large")
    return json.loads(_recv_exact(sock, length)), fds


def send_spec(sock, spec):
    """Server side: hand a job its spec on the job's own socket (length-prefixed JSON).

    The spec never passes through the zygote, so no job forked later can find an
    earlier user's code among the zygote's freed memory.
    """
    body = json.dumps(spec, separators=(",", ":")).encode()
    sock.sendall(_HEADER.pack(len(body)) + body)


def read_spec(fd):
    """Job side: read the spec the server sent (before any user code runs)."""
    import os

    def exactly(size):
        chunks = []
        while size:
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise ChannelClosed()
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    (length,) = _HEADER.unpack(exactly(_HEADER.size))
    if length > MAX_SPEC_BYTES:
        raise ValueError("job spec too large")
    return json.loads(exactly(length))


def _recv_exact(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _close_quietly(fd):
    import os

    try:
        os.close(fd)
    except OSError:
        pass


def jsonable(value):
    """Convert numpy values to plain JSON; non-finite floats become strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        plain = _plain_array(value)
        return plain if plain is not None else jsonable(value.tolist())
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        return float(value)  # the server takes integers up to 2**53 only (a float holds them exactly)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    raise TypeError(f"not JSON-safe: {type(value).__name__}")


def _plain_array(value):
    """A numeric numpy array as nested lists in one C call, when none of its values needs converting
    (no NaN or infinity, no integer beyond 2**53); None otherwise. A 50 x 10 population element by
    element costs a run about a millisecond."""
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind not in ("f", "i", "u", "b") or getattr(value, "ndim", 0) == 0:
        return None
    import numpy

    if value.size and kind == "f" and not numpy.isfinite(value).all():
        return None
    if value.size and kind in ("i", "u") and (value.max() > MAX_SAFE_INT or value.min() < -MAX_SAFE_INT):
        return None
    return value.tolist()


class LineWriter:
    """Writes newline-delimited JSON to the job's output pipe."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, message):
        import os

        try:
            # orjson writes a run's result (mostly floats) about ten times as fast as json. The
            # messages are jsonable() data (non-finite floats are strings by then); what orjson
            # refuses (a lone surrogate in the logs, an integer beyond 64 bits) goes through json.
            data = orjson.dumps(message) + b"\n"
        except TypeError:
            data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
