"""Opening a blocking connection: TCP (IPv4 or IPv6) or a Unix socket, then TLS.

Every failure leaves as a zephyr exception naming the host and the cause, chained to the
original error: ConnectTimeout when the connect timeout runs out, ConnectError otherwise.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._exceptions import ConnectError
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

__all__ = ["SocketOption", "connect_tcp", "connect_uds", "start_tls"]


def connect_tcp(
    host: str,
    port: int,
    *,
    timeout: float | None,
    local_address: str | None = None,
    socket_options: Iterable[SocketOption] = (),
    timing: dict[str, float] | None = None,
) -> socket.socket:
    """A connected TCP socket, TCP_NODELAY set, in blocking mode with `timeout`.

    As `socket.create_connection`: every address the name resolves to is tried in turn
    (IPv4 and IPv6), but the timeout bounds all the attempts together (each address gets its
    share of what is left, so one that never answers does not take it all), and
    `socket_options` are applied before connecting (SO_REUSEPORT, SO_BINDTODEVICE, keep-alive
    settings...).
    """
    started = time.perf_counter()
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise resolve_error(host, exc) from exc
    resolved = time.perf_counter()
    if timing is not None:
        timing["dns"] = resolved - started
    deadline = None if timeout is None else time.monotonic() + timeout
    errors: list[OSError] = []
    count = len(addresses)
    for index, (family, kind, proto, _, address) in enumerate(addresses):
        last = index == count - 1
        sock = socket.socket(family, kind, proto)
        try:
            prepare_socket(sock, socket_options, local_address, tcp=True)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the connect timeout ran out")
                # Each address gets its share of what is left (the last one all of it): a first
                # address that never answers (a broken IPv6 route on a dual-stack name) leaves
                # time for the next, within the one connect timeout.
                sock.settimeout(remaining / (count - index))
            sock.connect(address)
        except TimeoutError as exc:
            sock.close()
            if last or (deadline is not None and time.monotonic() >= deadline):
                raise connect_timeout_error(host, port, timeout) from exc
            errors.append(exc)
            continue
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        if timing is not None:
            timing["connect"] = time.perf_counter() - resolved
        return sock
    raise connect_error(show_address(host, port), errors)


def connect_uds(
    path: str,
    *,
    timeout: float | None,
    socket_options: Iterable[SocketOption] = (),
    timing: dict[str, float] | None = None,
) -> socket.socket:
    """A socket connected to the Unix domain socket at `path`."""
    started = time.perf_counter()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        prepare_socket(sock, socket_options, None, tcp=False)
        sock.settimeout(timeout)
        sock.connect(path)
    except TimeoutError as exc:
        sock.close()
        raise uds_timeout_error(path) from exc
    except OSError as exc:
        sock.close()
        raise connect_error(f"Unix socket {path!r}", [exc]) from exc
    if timing is not None:
        timing["connect"] = time.perf_counter() - started
    return sock


def start_tls(
    sock: socket.socket,
    context: ssl.SSLContext,
    server_hostname: str,
    *,
    timeout: float | None,
    timing: dict[str, float] | None = None,
) -> ssl.SSLSocket:
    """Wrap `sock` in TLS and complete the handshake (SNI `server_hostname`) within `timeout`.

    The socket is closed on failure.
    """
    started = time.perf_counter()
    try:
        tls_sock = context.wrap_socket(
            sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
    except (OSError, ValueError) as exc:
        sock.close()
        raise ConnectError(f"Could not start TLS with {server_hostname!r}: {exc}") from exc
    try:
        tls_sock.settimeout(timeout)
        tls_sock.do_handshake()
    except TimeoutError as exc:
        tls_sock.close()
        raise tls_timeout_error(server_hostname, timeout) from exc
    except (OSError, ValueError) as exc:  # ssl.SSLCertVerificationError among them
        tls_sock.close()
        raise tls_error(exc, server_hostname) from exc
    if timing is not None:
        timing["tls"] = time.perf_counter() - started
    return tls_sock
