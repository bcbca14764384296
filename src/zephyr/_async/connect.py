"""Opening a connection on the event loop: TCP (IPv4 or IPv6) or a Unix socket, then TLS.

The socket is made and connected by hand (`loop.sock_connect`) rather than by
`loop.create_connection(host, port)`, because `socket_options` must be set before the connect
and the timings (dns, connect, tls) are recorded apart; the connected socket is then handed to
`create_connection(sock=...)`, which wraps it in TLS when asked. Every failure leaves as the
same zephyr exception, with the same message, as in the blocking driver (`_io_common`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._io_common import (
    SocketOption,
    connect_error,
    connect_timeout_error,
    prepare_socket,
    resolve_error,
    show_address,
    tls_error,
    tls_timeout_error,
    uds_timeout_error,
)

if TYPE_CHECKING:
    import ssl

__all__ = ["open_connection"]

_perf_counter = time.perf_counter

# asyncio's own handshake timeout when none is given (its default is 60 s): effectively none,
# as in the blocking driver, where a None timeout waits for ever.
_NO_HANDSHAKE_TIMEOUT = 24 * 3600.0


async def open_connection(
    loop: asyncio.AbstractEventLoop,
    protocol: asyncio.Protocol,
    host: str,
    port: int,
    *,
    timeout: float | None,
    uds: str | None = None,
    local_address: str | None = None,
    socket_options: Iterable[SocketOption] = (),
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timing: dict[str, float] | None = None,
) -> asyncio.Transport:
    """Connect `protocol` to `host`:`port` (or to the Unix socket `uds`), TLS when
    `ssl_context` is given. `timeout` bounds the connect, then the TLS handshake, each."""
    if uds is not None:
        sock = await _connect_uds(loop, uds, timeout, socket_options, timing)
    else:
        sock = await _connect_tcp(loop, host, port, timeout, local_address, socket_options, timing)
    started = _perf_counter()
    # From the moment `create_connection` is called, the socket is the loop's: on any failure
    # (a cancellation or timeout during the handshake included) the loop closes it, asyncio
    # through the transport it made, later; closing it here too would free its descriptor
    # while the loop still watches it, and the next socket to get that number would fail
    # ("File descriptor N is used by transport"). uvloop closes the descriptor itself but
    # leaves the socket object thinking it owns it: it is detached, so that nothing closes
    # that number a second time.
    try:
        if ssl_context is None:
            transport, _ = await loop.create_connection(lambda: protocol, sock=sock)
        else:
            server_name = server_hostname or host
            try:
                async with asyncio.timeout(timeout):
                    transport, _ = await loop.create_connection(
                        lambda: protocol,
                        sock=sock,
                        ssl=ssl_context,
                        server_hostname=server_name,
                        ssl_handshake_timeout=_NO_HANDSHAKE_TIMEOUT,
                    )
            except TimeoutError as exc:
                raise tls_timeout_error(server_name, timeout) from exc
            except (OSError, ValueError) as exc:  # ssl.SSLCertVerificationError among them
                raise tls_error(exc, server_name) from exc
            if timing is not None:
                timing["tls"] = _perf_counter() - started
    except BaseException:
        if _is_uvloop(loop):
            sock.detach()
        raise
    return transport  # uvloop's transports implement asyncio.Transport without deriving


async def _connect_tcp(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int,
    timeout: float | None,
    local_address: str | None,
    socket_options: Iterable[SocketOption],
    timing: dict[str, float] | None,
) -> socket.socket:
    # As the blocking `connect_tcp`: every address the name resolves to is tried in turn, each
    # with its share of the time left, and the timeout bounds them all together (name
    # resolution included, here).
    started = _perf_counter()
    deadline = None if timeout is None else loop.time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            addresses: Any = _numeric_address(host, port)
            if addresses is None:
                try:
                    addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except (socket.gaierror, UnicodeError) as exc:
                    raise resolve_error(host, exc) from exc
            resolved = _perf_counter()
            if timing is not None:
                timing["dns"] = resolved - started
            errors: list[OSError] = []
            count = len(addresses)
            for index, (family, kind, proto, _, address) in enumerate(addresses):
                left = count - index
                sock = socket.socket(family, kind, proto)
                try:
                    prepare_socket(sock, socket_options, local_address, tcp=True)
                    sock.setblocking(False)
                    if deadline is None or left == 1:
                        await loop.sock_connect(sock, address)
                    else:
                        # Its share of what is left, as the blocking `connect_tcp` gives it.
                        share = (deadline - loop.time()) / left
                        async with asyncio.timeout_at(loop.time() + share):
                            await loop.sock_connect(sock, address)
                except TimeoutError as exc:  # its share ran out, or the kernel's own timeout
                    sock.close()
                    if left == 1:
                        raise
                    errors.append(exc)
                    continue
                except OSError as exc:
                    sock.close()
                    errors.append(exc)
                    continue
                except BaseException:
                    sock.close()
                    raise
                if timing is not None:
                    timing["connect"] = _perf_counter() - resolved
                return sock
    except TimeoutError as exc:
        raise connect_timeout_error(host, port, timeout) from exc
    raise connect_error(show_address(host, port), errors)


def _is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.startswith("uvloop")


def _numeric_address(host: str, port: int) -> list[tuple[Any, ...]] | None:
    """The address of an IP literal, without a trip to the resolver's thread pool."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        address = (host, port) if family == socket.AF_INET else (host, port, 0, 0)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address)]
    return None


async def _connect_uds(
    loop: asyncio.AbstractEventLoop,
    path: str,
    timeout: float | None,
    socket_options: Iterable[SocketOption],
    timing: dict[str, float] | None,
) -> socket.socket:
    started = _perf_counter()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        prepare_socket(sock, socket_options, None, tcp=False)
        sock.setblocking(False)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, path)
    except TimeoutError as exc:
        sock.close()
        raise uds_timeout_error(path) from exc
    except OSError as exc:
        sock.close()
        raise connect_error(f"Unix socket {path!r}", [exc]) from exc
    except BaseException:
        sock.close()
        raise
    if timing is not None:
        timing["connect"] = _perf_counter() - started
    return sock
