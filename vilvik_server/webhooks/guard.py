"""The SSRF guard: webhooks go only to http(s) targets on public addresses.

The check happens where the socket is opened: the host is resolved, every address it
resolves to is checked, and the connection goes to a checked address. Checking a
name first and letting the HTTP client resolve it again would let a DNS answer that
changes in between (DNS rebinding) reach an internal service. Proxies from the
environment are ignored for the same reason. WEBHOOK_ALLOW_PRIVATE lifts the address
check (a self-hosted server posting to a service beside it), never the scheme check.
"""
import concurrent.futures
import functools
import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection


class TargetRefused(Exception):
    """The target is not one webhooks may be sent to; the message says why."""


def refusal(address):
    """What kind of address webhooks may not go to this is ("loopback", "private", ...), or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, test in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
                       ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if test:
            return kind
    return None if ip.is_global else "non-public"


# getaddrinfo cannot be interrupted and waits as long as the system resolver's own
# timeouts say (tens of seconds against a silent name server), so lookups run on a few
# threads of their own and an attempt stops waiting for one at its deadline. A stuck
# lookup keeps only its lookup thread; later lookups queue behind it and fail at their
# own deadlines, and the attempt is retried like any other failed one.
_LOOKUP_THREADS = 4
_lookups = concurrent.futures.ThreadPoolExecutor(_LOOKUP_THREADS, thread_name_prefix="webhook-dns")


def resolve(host, port, allow_private):
    """The address to connect to for host:port; raises TargetRefused if any address is not allowed.

    Within a Deadline, a lookup that outlasts it raises socket.gaierror.
    """
    deadline = getattr(_attempt, "deadline", None)
    if deadline is None:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    else:
        lookup = _lookups.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = lookup.result(timeout=deadline.remaining())
        except concurrent.futures.TimeoutError:
            infos = None
        if infos is None:  # (raised here, not in the handler: the message is the cause shown)
            lookup.cancel()
            raise socket.gaierror(socket.EAI_AGAIN, f"looking up {host} took longer than the attempt's "
                                                    f"{deadline.seconds:g} s")
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        for address in addresses:
            kind = refusal(address)
            if kind:
                where = f"{address} is" if address == host else f"{host} resolves to {address},"
                raise TargetRefused(f"{where} a {kind} address; webhooks go only to public addresses "
                                    "unless WEBHOOK_ALLOW_PRIVATE is on")
    return addresses[0]


def check_url(url):
    """Refuse a target URL that is not http(s)."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise TargetRefused(f"only http and https targets are allowed, not {scheme or 'no scheme'}")


_attempt = threading.local()


class Deadline:
    """A hard deadline for everything a `with` block does over guarded connections.

    Every socket such a connection opens in this thread is registered; when `seconds`
    pass, a timer shuts them down, so a blocked connect, TLS handshake or read fails at
    once however slowly the peer trickles bytes (a per-read timeout would not end it).
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.expired = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        _attempt.deadline = self
        self._ends_at = time.monotonic() + self.seconds
        self._timer.start()
        return self

    def remaining(self):
        """Seconds left before the deadline (0 once it passed)."""
        return max(0.0, self._ends_at - time.monotonic())

    def __exit__(self, *exc):
        self._timer.cancel()
        _attempt.deadline = None
        with self._lock:
            self._sockets.clear()

    def register(self, sock):
        with self._lock:
            if self.expired:
                _shut(sock)
            self._sockets.append(sock)

    def _expire(self):
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def session(allow_private):
    """A requests session whose every connection passes the guard (close it after use)."""
    guarded = requests.Session()
    guarded.trust_env = False  # no proxies or .netrc from the environment
    adapter = _GuardedAdapter(allow_private)
    guarded.mount("http://", adapter)
    guarded.mount("https://", adapter)
    return guarded


def _guarded_connection(base, allow_private):
    class GuardedConnection(base):
        def _new_conn(self):
            # self.host stays the name, so TLS still checks the certificate against it.
            try:
                address = resolve(self.host, self.port, allow_private)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc
            try:
                sock = urllib3_connection.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
                deadline = getattr(_attempt, "deadline", None)
                if deadline is not None:
                    deadline.register(sock)
                return sock
            except socket.timeout as exc:
                raise ConnectTimeoutError(self, f"connecting to {self.host} timed out") from exc
            except OSError as exc:
                raise NewConnectionError(self, f"could not connect to {self.host} ({address}): {exc}") from exc
    return GuardedConnection


@functools.cache
def _pool_classes(allow_private):
    http = type("GuardedHTTPConnectionPool", (HTTPConnectionPool,),
                {"ConnectionCls": _guarded_connection(HTTPConnection, allow_private)})
    https = type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,),
                 {"ConnectionCls": _guarded_connection(HTTPSConnection, allow_private)})
    return {"http": http, "https": https}


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private):
        self._pool_classes = _pool_classes(allow_private)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes
