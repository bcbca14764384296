"""What the blocking and the asyncio drivers share, whatever their I/O.

Both transports route a request to a pool key the same way, prepare their sockets the same
way, plan the same writes for a request, apply the same retry policy and, above all, report
every failure with the same exception and the same message: a user switching from `Client` to
`AsyncClient` must see no difference. Nothing here blocks, awaits or touches a socket's data.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from ._exceptions import ConnectError, ConnectTimeout, PoolTimeout, UnsupportedProtocol
from ._streams import ByteStream

if TYPE_CHECKING:
    import ssl

    from ._config import Limits
    from ._protocol.http11 import HTTP11Connection
    from ._request import Request
    from ._ssl import CertTypes, VerifyTypes
    from ._streams import AsyncByteStream, SyncByteStream

__all__ = [
    "HTTP_VERSIONS",
    "IDEMPOTENT_METHODS",
    "JOIN_LIMIT",
    "NO_TIMEOUTS",
    "PoolKey",
    "SocketOption",
    "StaleConnection",
    "TransportOptions",
    "closed_error",
    "connect_error",
    "connect_timeout_error",
    "describe_os_error",
    "describe_tls",
    "is_replayable",
    "join_small",
    "pool_timeout_error",
    "prepare_socket",
    "request_writes",
    "resolve_error",
    "retry_delay",
    "route",
    "show_address",
    "tls_error",
    "tls_timeout_error",
    "uds_timeout_error",
]

# (scheme, host, port), plus the SNI name when a request overrides it: see _pool's docstring.
PoolKey = tuple[Any, ...]

# (level, option, value) as for `socket.setsockopt`: the value an int, bytes, or None with a
# length (`(level, option, None, optlen)`).
SocketOption = tuple[int, int, int | bytes] | tuple[int, int, None, int]

# RFC 9110 §9.2.2: requests whose repetition has the same effect as sending them once.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))

HTTP_VERSIONS = {"HTTP/1.1": b"HTTP/1.1", "HTTP/1.0": b"HTTP/1.0"}
NO_TIMEOUTS: dict[str, Any] = {}

_RETRY_BACKOFF_CAP = 8.0

# Bodies up to this size are joined to the head and written with it: one syscall, and the
# copy costs less than a second write (measured: a 64 KiB memcpy is ~3 us, a syscall more).
JOIN_LIMIT = 64 * 1024

_METHODS = {m: m.encode() for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}


class StaleConnection(Exception):
    """A reused keep-alive connection failed before a single byte of response arrived.

    The server most likely closed it just as we sent the request (RELIABILITY.md 21), so the
    request may be sent again on a new connection, if it is safe to repeat; otherwise `error`
    is raised.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


# -- configuration ------------------------------------------------------------------------


class TransportOptions:
    """The settings `HTTPTransport` and `AsyncHTTPTransport` share, checked and kept the same
    way, with what is derived from them (the SSLContext, the protocol cores' limits)."""

    _ssl_context: ssl.SSLContext | None

    def _configure(
        self,
        verify: VerifyTypes,
        cert: CertTypes | None,
        trust_env: bool,
        http1: bool,
        http2: bool,
        limits: Limits,
        uds: str | None,
        local_address: str | None,
        retries: int,
        socket_options: Iterable[SocketOption] | None,
    ) -> None:
        if not (http1 or http2):
            raise ValueError("At least one of http1 and http2 must be enabled.")
        self._http1 = http1
        self._http2 = http2
        self._verify = verify
        self._cert = cert
        self._trust_env = trust_env
        self._ssl_context = None
        if not isinstance(verify, bool) or cert is not None:
            # A CA path or a client certificate given: a mistake in it fails here, not at the
            # first request. (The default context is built on the first https connection, so
            # that plain-http users never load ssl and certifi.)
            self._ssl_context = self._build_ssl_context()
        self._uds = uds
        self._local_address = local_address
        self._retries = retries
        self._retry_backoff_factor = 0.5
        self._socket_options = list(socket_options or ())
        # The header limits for the protocol cores (None: the cores' defaults).
        self._h11_options = limits.http11_core_options()
        self._h2_options = limits.http2_core_options()

    def _build_ssl_context(self) -> ssl.SSLContext:
        from ._ssl import create_ssl_context

        return create_ssl_context(
            self._verify, self._cert, self._trust_env, http1=self._http1, http2=self._http2
        )

    def _retry_delay(self, attempt: int) -> float:
        return retry_delay(attempt, self._retry_backoff_factor)


# -- routing ------------------------------------------------------------------------------


def route(request: Request, transport_name: str) -> tuple[PoolKey, str | None, dict[str, Any]]:
    """The request's pool key, its SNI override and its timeouts; UnsupportedProtocol for a
    URL no socket transport can reach."""
    origin: tuple[bytes, bytes, int] = request.url._origin
    scheme, host, _ = origin
    if scheme != b"http" and scheme != b"https":
        raise _unsupported(scheme, transport_name)
    if not host:
        raise UnsupportedProtocol(f"Request URL {str(request.url)!r} is missing a host.")
    extensions = request.extensions
    timeouts: dict[str, Any] = extensions.get("timeout") or NO_TIMEOUTS
    sni: str | None = extensions.get("sni_hostname")
    return (origin if sni is None else (*origin, sni)), sni, timeouts


def is_replayable(request: Request) -> bool:
    """May the request be sent again after a stale keep-alive connection (RELIABILITY.md 21)?"""
    return request.method in IDEMPOTENT_METHODS and isinstance(request.stream, ByteStream)


def _unsupported(scheme: bytes, transport_name: str) -> UnsupportedProtocol:
    if not scheme:
        return UnsupportedProtocol("Request URL is missing an 'http://' or 'https://' protocol.")
    shown = scheme.decode("ascii", "replace")
    return UnsupportedProtocol(
        f"Request URL has an unsupported protocol '{shown}://': {transport_name} speaks "
        "http:// and https:// only."
    )


def retry_delay(attempt: int, backoff_factor: float) -> float:
    """Seconds to wait before connection attempt number `attempt` + 1 (`retries=`)."""
    # The first retry is immediate (most failures are transient), then the wait doubles.
    if attempt <= 1:
        return 0.0
    return min(backoff_factor * 2.0 ** (attempt - 2), _RETRY_BACKOFF_CAP)


# -- writing a request --------------------------------------------------------------------


def request_writes(
    protocol: HTTP11Connection, request: Request
) -> tuple[list[bytes | memoryview], SyncByteStream | AsyncByteStream | None]:
    """The writes for the request head and an in-memory body, and the body stream still to
    send (None when the writes hold the whole request).

    Raises LocalProtocolError before anything is to be written, for a request that must not
    be sent. A small body rides in the same write as the head; a large one follows uncopied.
    """
    method = _METHODS.get(request.method) or request.method.encode("ascii")
    # The headers' own `(name, lower-case name, value)` triples, which the core's serialiser
    # takes as they are (`serialise_head`): `headers.raw` would copy them into pairs first.
    # (`send_request_head` is annotated with pairs only, hence the cast.)
    headers = cast("list[tuple[bytes, bytes]]", request.headers._list)
    head = protocol.send_request_head(method, request.url.raw_path, headers)
    stream = request.stream
    if not isinstance(stream, ByteStream):
        return [head], stream
    body = stream._body
    if not body:
        end = protocol.end_request()  # b"" unless the caller asked for chunked
        return [head + end if end else head], None
    pieces = protocol.send_body(body)
    end = protocol.end_request()
    if len(body) <= JOIN_LIMIT:
        return [b"".join([head, *pieces, end])], None
    writes: list[bytes | memoryview] = [head, *pieces]
    if end:
        writes.append(end)
    return writes, None


def join_small(pieces: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """A framed body chunk as writes: one when the chunk is small, its pieces otherwise."""
    if len(pieces) > 1 and sum(len(piece) for piece in pieces) <= JOIN_LIMIT:
        return [b"".join(pieces)]  # a chunk and its framing in one write
    return pieces


# -- sockets and their errors -------------------------------------------------------------


def prepare_socket(
    sock: socket.socket,
    socket_options: Iterable[SocketOption],
    local_address: str | None,
    *,
    tcp: bool,
) -> None:
    """Apply the options to a socket not yet connected; bind it to `local_address`."""
    for option in socket_options:
        sock.setsockopt(*option)
    if tcp:
        # Requests go out as one write, but a body sent after its head must not wait for the
        # head's ACK (Nagle + delayed ACK cost 40 ms a request otherwise).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if local_address is not None:
        sock.bind((local_address, 0))


def show_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_error(host: str, exc: BaseException) -> ConnectError:
    return ConnectError(f"Could not resolve host {host!r}: {exc}")


def connect_timeout_error(host: str, port: int, timeout: float | None) -> ConnectTimeout:
    return ConnectTimeout(f"Timed out connecting to {show_address(host, port)} after {timeout} s.")


def uds_timeout_error(path: str) -> ConnectTimeout:
    return ConnectTimeout(f"Timed out connecting to Unix socket {path!r}.")


def connect_error(target: str, errors: list[OSError]) -> ConnectError:
    """The error for a connect that failed at every address; `target` as `show_address` or
    "Unix socket '...'"."""
    if not errors:
        return ConnectError(f"Could not connect to {target}: the name resolved to no address.")
    # The last attempt's error speaks for all of them (create_connection does the same); the
    # others are listed, since on a dual-stack host the IPv6 one is often the interesting one.
    last: Any = errors[-1]
    # From the error number when there is one: asyncio's sock_connect replaces the system's
    # words ("Connection refused") with its own ("Connect call failed ...").
    reason = os.strerror(last.errno) if last.errno else (last.strerror or str(last))
    message = f"Could not connect to {target}: {reason}"
    if len(errors) > 1:
        message += " (also tried: " + "; ".join(str(e) for e in errors[:-1]) + ")"
    error = ConnectError(message + ".")
    error.__cause__ = last
    return error


def tls_timeout_error(server_hostname: str, timeout: float | None) -> ConnectTimeout:
    return ConnectTimeout(
        f"Timed out in the TLS handshake with {server_hostname!r} after {timeout} s."
    )


def tls_error(exc: BaseException, server_hostname: str) -> ConnectError:
    """The error for a failed TLS handshake (the caller chains `exc` to it)."""
    import ssl  # already loaded: a handshake was attempted

    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectError(
            f"TLS certificate verification failed for {server_hostname!r}: "
            f"{exc.verify_message or exc}"
        )
    return ConnectError(f"TLS handshake with {server_hostname!r} failed: {exc}")


def describe_os_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, ConnectionError) else text


def describe_tls(ssl_object: Any) -> str:
    """For the debug log: "plain", or the TLS version and the protocol ALPN selected."""
    if ssl_object is None:
        return "plain"
    return f"{ssl_object.version()}, ALPN {ssl_object.selected_alpn_protocol()!r}"


# -- the pool -----------------------------------------------------------------------------


def pool_timeout_error(timeout: float | None) -> PoolTimeout:
    return PoolTimeout(
        f"Timed out after {timeout} s waiting for a connection from the pool: every "
        "connection is in use (see Limits.max_connections)."
    )


def closed_error() -> RuntimeError:
    return RuntimeError("Cannot send a request: the transport has been closed.")
