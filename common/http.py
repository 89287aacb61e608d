"""The one module every outgoing HTTP call goes through.

- `timeout` is a total deadline for the whole exchange (DNS lookup, connect, send, read the
  body). The host name is resolved here, within the deadline (the OS resolver has no
  timeout of its own), and the connection goes to the address found, keeping the original
  Host header and TLS server name / certificate check. A watchdog shuts the socket down at
  the deadline, so a server that drips bytes (even headers or a TLS handshake) cannot hold a
  request open.
- Redirects are never followed: a 3xx is handed back to the caller.
- `guard=True` is the SSRF guard for user-given URLs: http(s) only, no credentials in the
  URL, and every address the host resolves to must be public. The connection then goes to
  the address that was checked (no second DNS lookup). Without the guard (operator-set
  URLs), loopback and private addresses are allowed.
- Error messages and logs never carry headers, query strings or bodies. Errors are raised
  outside `except` blocks so no lower exception (whose text or `.request` may hold a URL
  or a header) is chained to them.
- A bulkhead keeps slow providers from taking every request thread: at most
  OUTBOUND_CONCURRENCY operations call out at once in a process, and at most
  OUTBOUND_CONCURRENCY_PER_ORG per organization across all processes (leases in the shared
  cache, which expire, so a killed process cannot keep its slots). Beyond that a caller is
  refused at once with Busy (429 `busy`, Retry-After) instead of waiting. Services hold one
  slot for a whole operation (`with bulkhead(organization_id=…)`: a key test's generation and
  model listing); a `send()` outside any operation takes a process slot for itself.
  Broadcast sends (task consumers, with their own bounded threads) count against an allowance
  of their own per organization, BROADCAST_OUTBOUND_PER_ORG (`allowance=BROADCAST`): they are
  not capped by the interactive one and cannot use it up; the process cap applies to both.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json as jsonlib
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from common.errors import ServiceError

logger = logging.getLogger(__name__)

OUTBOUND_ERROR_CODES = ("timeout", "unreachable", "blocked_address", "invalid_response")

# check_url() has no caller deadline; bound its DNS lookup anyway.
CHECK_URL_DNS_TIMEOUT = 10.0
_READ_CHUNK = 64 * 1024


class OutboundError(Exception):
    """An outgoing call failed. `code` is one of OUTBOUND_ERROR_CODES; `message` is safe to
    show and log (no secrets, headers or query strings)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"OutboundError(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body)
        except (ValueError, RecursionError):  # bad JSON or UTF-8; JSON nested too deeply
            pass
        raise OutboundError("invalid_response", "The server's answer was not valid JSON.")


# --- URL and address checks -------------------------------------------------------------

_DECIMAL = re.compile(r"[0-9]+")
_OCTAL = re.compile(r"0[0-7]*")
_HEX = re.compile(r"0x[0-9a-f]*", re.IGNORECASE)


def _loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the numeric IPv4 notations inet_aton accepts (127.1, 0x7f000001, 2130706433,
    0177.0.0.1) so a literal is recognised whatever the resolver would make of it."""
    text = host[:-1] if host.endswith(".") else host
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        if _HEX.fullmatch(part):
            numbers.append(int(part[2:] or "0", 16))
        elif _OCTAL.fullmatch(part):
            numbers.append(int(part, 8))
        elif _DECIMAL.fullmatch(part):
            numbers.append(int(part, 10))
        else:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _loose_ipv4(host)


_NAT64_PREFIXES = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if value >> 32 == 0 or any(ip in net for net in _NAT64_PREFIXES):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def is_forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for any address that is not plainly public (loopback, private, link-local incl.
    cloud metadata, CGNAT, multicast, unspecified, reserved, or an IPv6 form of those)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        embedded = _embedded_ipv4(ip)
        if embedded is not None and is_forbidden_address(embedded):
            return True
        if ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _short(host: str) -> str:
    return host if len(host) <= 80 else host[:77] + "..."


def _split(url: str) -> SplitResult:
    """Parse the URL and apply the checks every call gets: http(s) only, a host present."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        parts = None
    if parts is None:
        raise OutboundError("blocked_address", "The address is not a valid URL.")
    if parts.scheme.lower() not in ("http", "https"):
        raise OutboundError("blocked_address", "Only http:// and https:// addresses are allowed.")
    if not parts.hostname:
        raise OutboundError("blocked_address", "The address has no host name.")
    return parts


def _ascii_host(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    raise OutboundError("blocked_address", "The address does not have a valid host name.")


def _resolve(host: str, port: int, deadline: float) -> list:
    """getaddrinfo, bounded by the deadline (the resolver itself has no timeout)."""
    outcome: dict[str, Any] = {}

    def work():
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            outcome["failed"] = True

    worker = threading.Thread(target=work, name="outbound-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise OutboundError("timeout", f"Looking up {_short(host)} took too long.")
    if "infos" not in outcome or not outcome["infos"]:
        raise OutboundError("unreachable", f"Could not find the server {_short(host)}.")
    addresses = []
    for family, _type, _proto, _canon, sockaddr in outcome["infos"]:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(ipaddress.ip_address(sockaddr[0]))
    if not addresses:
        raise OutboundError("unreachable", f"Could not find the server {_short(host)}.")
    return addresses


@dataclass(frozen=True)
class _Vetted:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address  # where to connect
    host_name: str | None  # ASCII host name when the URL named a host, None for a literal IP


def _vet(parts: SplitResult, deadline: float) -> _Vetted:
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OutboundError(
            "blocked_address", "Addresses with a user name or password are not allowed."
        )
    host = parts.hostname
    allow_private = bool(getattr(settings, "AI_ALLOW_PRIVATE_BASE_URLS", False))
    # One answer for "not allowed" and "does not resolve": two would let a user map which
    # internal names exist.
    refused = OutboundError(
        "blocked_address",
        f"{_short(host)} cannot be used: give the public address of your AI server.",
    )
    literal = _literal_ip(host)
    if literal is not None:
        if not allow_private and is_forbidden_address(literal):
            raise refused
        return _Vetted(literal, None)
    name = _ascii_host(host)
    if not allow_private and (name == "localhost" or name.endswith(".localhost")):
        raise refused
    try:
        addresses = _resolve(name, _port(parts), deadline)
    except OutboundError as exc:
        if allow_private or exc.code != "unreachable":
            raise
        addresses = None
    if addresses is None or (not allow_private and any(is_forbidden_address(a) for a in addresses)):
        raise refused
    return _Vetted(_preferred(addresses), name)


def _locate(parts: SplitResult, deadline: float) -> _Vetted:
    """Where an unguarded (operator-set) URL points: the host resolved within the deadline,
    with no address check, so loopback, private addresses and `localhost` are fine."""
    host = parts.hostname
    literal = _literal_ip(host)
    if literal is not None:
        return _Vetted(literal, None)
    name = _ascii_host(host)
    return _Vetted(_preferred(_resolve(name, _port(parts), deadline)), name)


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


def _preferred(addresses: list) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # Prefer IPv4: a host without IPv6 routing is more common than the reverse.
    ipv4 = [a for a in addresses if a.version == 4]
    return (ipv4 or addresses)[0]


def check_url(url: str) -> None:
    """Raise OutboundError("blocked_address") if `url` may not be called with guard=True
    (scheme, credentials, private address, or a name that does not resolve: the same answer
    unless AI_ALLOW_PRIVATE_BASE_URLS, when that is "unreachable"). A hung resolver raises
    OutboundError("timeout")."""
    _vet(_split(url), time.monotonic() + CHECK_URL_DNS_TIMEOUT)


def _pinned(parts: SplitResult, vetted: _Vetted) -> tuple[str, str]:
    """The URL rewritten to the resolved address, and the Host header for the original.
    Credentials in an (unguarded) URL are kept; the guard refuses them earlier."""
    ip = vetted.address
    ip_text = str(ip).replace("%", "%25")
    netloc_ip = f"[{ip_text}]" if ip.version == 6 else ip_text
    userinfo, at, _hostport = parts.netloc.rpartition("@")
    if vetted.host_name is not None:
        host_header = vetted.host_name
    else:
        host_header = f"[{ip}]" if ip.version == 6 else str(ip)
    if parts.port is not None:
        netloc_ip += f":{parts.port}"
        host_header += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=userinfo + at + netloc_ip)), host_header


# --- deadline watchdog --------------------------------------------------------------------


class _Watchdog:
    """Shuts down every socket of the exchange once the deadline passes. It keeps a dup()
    of each socket: shutdown acts on the connection, so it also reaches the TLS socket
    that later takes over the original file descriptor."""

    def __init__(self, seconds: float):
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        try:
            copy = sock.dup()
        except OSError:
            return
        with self._lock:
            self._sockets.append(copy)
            if self.fired:
                self._shutdown(copy)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


_current_watchdog: contextvars.ContextVar[_Watchdog | None] = contextvars.ContextVar(
    "outbound_watchdog", default=None
)


class _WatchedConnectionMixin:
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        watchdog = _current_watchdog.get()
        if watchdog is not None:
            watchdog.watch(sock)
        return sock


class _HTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    """Watched connections; with `tls_hostname`, TLS uses that name for SNI and for the
    certificate check while the URL carries the pinned IP."""

    def __init__(self, tls_hostname: str | None = None):
        self._tls_hostname = tls_hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if self._tls_hostname and host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._tls_hostname
            pool_kwargs["assert_hostname"] = self._tls_hostname
        return host_params, pool_kwargs


# --- bulkhead -----------------------------------------------------------------------------

BUSY_RETRY_AFTER = 5


class Busy(ServiceError):
    """Too many calls to providers are in flight (in this process or for this organization)."""

    status = 429

    def __init__(self):
        super().__init__(
            "Too many requests to your provider are still waiting for an answer. "
            "Try again in a few seconds.",
            code="busy",
        )
        self.retry_after = BUSY_RETRY_AFTER


_slots_lock = threading.Lock()
_process_slots: dict[int, threading.BoundedSemaphore] = {}
_held: contextvars.ContextVar[bool] = contextvars.ContextVar("outbound_slot_held", default=False)


def _process_semaphore() -> threading.BoundedSemaphore:
    size = max(1, int(settings.OUTBOUND_CONCURRENCY))
    with _slots_lock:
        if size not in _process_slots:
            _process_slots[size] = threading.BoundedSemaphore(size)
        return _process_slots[size]


def _lease_seconds() -> int:
    # Longer than any operation (each call is bounded by AI_PROVIDER_TIMEOUT; a key test makes
    # two within one budget), short enough that a killed process's slots come back soon.
    return int(settings.OUTBOUND_LEASE_SECONDS or 2 * float(settings.AI_PROVIDER_TIMEOUT) + 10)


INTERACTIVE = "interactive"
BROADCAST = "broadcast"
# Each allowance per organization: its slots' key prefix in the cache, and its size's setting.
_ALLOWANCES = {
    INTERACTIVE: ("outbound", "OUTBOUND_CONCURRENCY_PER_ORG"),
    BROADCAST: ("outbound-broadcast", "BROADCAST_OUTBOUND_PER_ORG"),
}


def _take_org_lease(organization_id, allowance: str = INTERACTIVE) -> str | None:
    """Takes one of the organization's slots of that allowance: the slot's key, or None when
    all are taken. A cache that does not answer leaves only the process cap (logged)."""
    prefix, size = _ALLOWANCES[allowance]
    lease = uuid.uuid4().hex
    try:
        for index in range(max(1, int(getattr(settings, size)))):
            key = f"{prefix}:{organization_id}:{index}"
            if cache.add(key, lease, timeout=_lease_seconds()):
                return f"{key}|{lease}"
    except (OSError, DatabaseError, ConnectionError) + _redis_errors():
        logger.warning("Outbound cap per organization not counted: the cache does not answer.")
        return ""
    return None


def _give_back_org_lease(taken: str) -> None:
    if not taken:
        return
    key, lease = taken.split("|")
    try:
        if cache.get(key) == lease:  # not if it expired and someone else holds it now
            cache.delete(key)
    except (OSError, DatabaseError, ConnectionError) + _redis_errors():
        pass  # the lease expires on its own


def _redis_errors() -> tuple:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover
        return ()
    return (RedisError,)


@contextmanager
def bulkhead(*, organization_id=None, allowance: str = INTERACTIVE) -> Iterator[None]:
    """Holds one outbound slot of this process and, with an organization, one of its slots
    of that allowance across all processes, for the whole block; raises Busy at once when
    none is free. Re-entrant: nested blocks (and send() inside) use the slot already held."""
    if _held.get():
        yield
        return
    semaphore = _process_semaphore()
    if not semaphore.acquire(blocking=False):
        logger.warning("Outbound calls busy in this process (organization %s)", organization_id)
        raise Busy()
    org_lease = ""
    try:
        if organization_id is not None:
            org_lease = _take_org_lease(organization_id, allowance)
            if org_lease is None:
                logger.warning(
                    "Outbound calls busy for organization %s (%s)", organization_id, allowance
                )
                raise Busy()
        token = _held.set(True)
        try:
            yield
        finally:
            _held.reset(token)
    finally:
        if org_lease:
            _give_back_org_lease(org_lease)
        semaphore.release()


# --- send -----------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


def _check_headers(headers: dict) -> None:
    # requests' own error for a bad header quotes the value (which may be a key).
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("Header names and values must be strings.")
        if not value.isascii() or not value.isprintable() or value != value.strip():
            raise ValueError(f"The value of the {name!r} header has invalid characters.")


def _read_body(response: requests.Response, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge
    chunks, size = [], 0
    while True:
        if time.monotonic() >= deadline:
            raise _DeadlinePassed
        # read1 returns what one socket read gives, so the deadline is checked often.
        chunk = response.raw.read1(_READ_CHUNK, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge
        chunks.append(chunk)


def send(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict | None = None,
    json: Any = None,
    params: dict | None = None,
    guard: bool = False,
    max_bytes: int = 5_000_000,
) -> OutboundResponse:
    """Make one HTTP request within `timeout` seconds in total. Raises OutboundError;
    ValueError for a header value that cannot be sent (the message names the header only);
    Busy when no outbound slot is free (see bulkhead)."""
    with bulkhead():
        return _send(method, url, timeout, headers, json, params, guard, max_bytes)


def _send(method, url, timeout, headers, json, params, guard, max_bytes) -> OutboundResponse:
    started = time.monotonic()
    deadline = started + timeout
    method = method.upper()
    host = "?"
    try:
        parts = _split(url)
        host = _short(parts.hostname)
        outgoing = dict(headers or {})
        _check_headers(outgoing)
        # Both paths resolve the name here, within the deadline (urllib3 would call the
        # resolver itself, with no bound), and connect to the address found.
        located = _vet(parts, deadline) if guard else _locate(parts, deadline)
        target, outgoing["Host"] = _pinned(parts, located)
        tls_hostname = located.host_name
        status, response_headers, body = _exchange(
            method, target, host, outgoing, json, params, tls_hostname, deadline, max_bytes
        )
    except OutboundError as exc:
        logger.info("%s %s failed: %s (%d ms)", method, host, exc.code, _ms_since(started))
        raise
    logger.info("%s %s -> %s (%d ms)", method, host, status, _ms_since(started))
    return OutboundResponse(status=status, headers=response_headers, body=body)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _exchange(method, url, host, headers, json, params, tls_hostname, deadline, max_bytes):
    timeout = deadline - time.monotonic()
    if timeout <= 0:
        raise OutboundError("timeout", f"{host} did not answer in time.")
    watchdog = _Watchdog(timeout)
    token = _current_watchdog.set(watchdog)
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc credentials from the environment
    adapter = _Adapter(tls_hostname)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    failure: tuple[str, str] | None = None
    try:
        watchdog.start()
        response = session.request(
            method,
            url,
            headers=headers,
            json=json,
            params=params,
            timeout=(timeout, timeout),
            stream=True,
            allow_redirects=False,
        )
        try:
            body = _read_body(response, deadline, max_bytes)
        finally:
            response.close()
    except _DeadlinePassed:
        failure = ("timeout", "")
    except _TooLarge:
        failure = ("invalid_response", f"The answer from {host} was larger than allowed.")
    except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError):
        failure = ("timeout", "")
    except requests.exceptions.SSLError:
        failure = ("unreachable", f"Could not make a secure (TLS) connection to {host}.")
    except requests.exceptions.ConnectionError:
        failure = ("unreachable", f"Could not connect to {host}.")
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
        # Includes a connection broken while the body was read.
        failure = ("invalid_response", f"The answer from {host} was cut off or malformed.")
    finally:
        fired = watchdog.fired
        watchdog.stop()
        _current_watchdog.reset(token)
        session.close()
    # Once the watchdog fired, a body that "ended" may just be the cut connection.
    if fired or (failure is not None and failure[0] == "timeout"):
        raise OutboundError("timeout", f"{host} did not answer in time.")
    if failure is not None:
        raise OutboundError(*failure)
    return response.status_code, CaseInsensitiveDict(response.headers), body
