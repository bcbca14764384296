"""Opening a blocking connection: TCP (IPv4 or IPv6) or a Unix socket, then TLS.

Every failure leaves as a zephyr exception naming the host and the cause, chained to the
original error: ConnectTimeout when the connect timeout runs out, ConnectError otherwise.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._exceptions import ConnectError, ConnectTimeout

if TYPE_CHECKING:
    import ssl

__all__ = ["SocketOption", "connect_tcp", "connect_uds", "start_tls"]

# (level, option, value) as for `socket.setsockopt`: the value an int, bytes, or None with a
# length (`(level, option, None, optlen)`).
SocketOption = tuple[int, int, int | bytes] | tuple[int, int, None, int]


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
    (IPv4 and IPv6), but the timeout bounds all the attempts together, and `socket_options`
    are applied before connecting (SO_REUSEPORT, SO_BINDTODEVICE, keep-alive settings...).
    """
    started = time.perf_counter()
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectError(f"Could not resolve host {host!r}: {exc}") from exc
    resolved = time.perf_counter()
    if timing is not None:
        timing["dns"] = resolved - started
    deadline = None if timeout is None else time.monotonic() + timeout
    errors: list[OSError] = []
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            _prepare(sock, socket_options, local_address, tcp=True)
            sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 0.0))
            sock.connect(address)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeout(
                f"Timed out connecting to {_show(host, port)} after {timeout} s."
            ) from exc
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        if timing is not None:
            timing["connect"] = time.perf_counter() - resolved
        return sock
    raise _connect_error(_show(host, port), errors)


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
        _prepare(sock, socket_options, None, tcp=False)
        sock.settimeout(timeout)
        sock.connect(path)
    except TimeoutError as exc:
        sock.close()
        raise ConnectTimeout(f"Timed out connecting to Unix socket {path!r}.") from exc
    except OSError as exc:
        sock.close()
        raise _connect_error(f"Unix socket {path!r}", [exc]) from exc
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
    import ssl  # already loaded: the context came from it

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
        raise ConnectTimeout(
            f"Timed out in the TLS handshake with {server_hostname!r} after {timeout} s."
        ) from exc
    except ssl.SSLCertVerificationError as exc:
        tls_sock.close()
        raise ConnectError(
            f"TLS certificate verification failed for {server_hostname!r}: "
            f"{exc.verify_message or exc}"
        ) from exc
    except (OSError, ValueError) as exc:
        tls_sock.close()
        raise ConnectError(f"TLS handshake with {server_hostname!r} failed: {exc}") from exc
    if timing is not None:
        timing["tls"] = time.perf_counter() - started
    return tls_sock


def _prepare(
    sock: socket.socket,
    socket_options: Iterable[SocketOption],
    local_address: str | None,
    *,
    tcp: bool,
) -> None:
    for option in socket_options:
        sock.setsockopt(*option)
    if tcp:
        # Requests go out as one write, but a body sent after its head must not wait for the
        # head's ACK (Nagle + delayed ACK cost 40 ms a request otherwise).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if local_address is not None:
        sock.bind((local_address, 0))


def _show(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _connect_error(target: str, errors: list[OSError]) -> ConnectError:
    if not errors:
        return ConnectError(f"Could not connect to {target}: the name resolved to no address.")
    # The last attempt's error speaks for all of them (create_connection does the same); the
    # others are listed, since on a dual-stack host the IPv6 one is often the interesting one.
    last: Any = errors[-1]
    reason = last.strerror or str(last)
    message = f"Could not connect to {target}: {reason}"
    if len(errors) > 1:
        message += " (also tried: " + "; ".join(str(e) for e in errors[:-1]) + ")"
    error = ConnectError(message + ".")
    error.__cause__ = last
    return error
