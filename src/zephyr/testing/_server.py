"""`TestServer`: the test app under hypercorn, in a background thread with its own event loop.

The listening socket is bound and put in listening state in the caller's thread, before the
server thread starts, so the real port is known at once and a connection made right after
`start()` can never be refused. The socket is then handed to hypercorn through its `fd://`
bind, and `start()` waits until hypercorn has started serving on it, so that a broken
configuration fails in `start()` rather than in the first test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._app import app as default_app
from ._certs import ca_bundle_path, certificate_files, client_ssl_context

if TYPE_CHECKING:
    from hypercorn.config import Config

__all__ = ["TestServer"]

_START_TIMEOUT = 30.0  # generous: the first TLS server also creates the certificates
_STOP_TIMEOUT = 10.0
# Idle keep-alive connections close as soon as shutdown starts; this bounds how long a
# response still in flight (a /drip, a /delay) may hold the shutdown up.
_GRACEFUL_TIMEOUT = 1.0

# hypercorn logs here; with no handler of its own, only warnings and errors surface.
_hypercorn_logger = logging.getLogger("zephyr.testing.hypercorn")


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    _hypercorn_logger.debug(
        "event loop: %s", context.get("message"), exc_info=context.get("exception")
    )


class _ServerLoop(asyncio.SelectorEventLoop):
    """An event loop whose TLS servers give up on a closing client after 1 s.

    On shutdown, a TLS connection waits for the client's close_notify for asyncio's default
    of 30 s; an idle keep-alive client never sends one, so stop() would hang. hypercorn offers
    no setting for it, so the loop supplies the bound.
    """

    def __init__(self) -> None:
        super().__init__()
        # Connections torn down at shutdown end in CancelledError / TimeoutError inside
        # hypercorn's callbacks: expected, so logged quietly rather than printed to stderr.
        self.set_exception_handler(_log_loop_error)

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_shutdown_timeout", _GRACEFUL_TIMEOUT)
        return await super().create_server(*args, **kwargs)


class TestServer:
    """A local httpbin-compatible server: `with TestServer() as server: ... server.url`.

    tls:    serve HTTPS with a certificate from the test CA (see `ca_path`).
    http2:  offer `h2` in TLS ALPN as well as `http/1.1`. (hypercorn always accepts cleartext
            HTTP/2, by prior knowledge or `Upgrade: h2c`, whatever this says.)
    host:   the address to listen on; port 0 picks a free port.
    app:    the ASGI application to serve, the httpbin-compatible `app` by default.
    h2_max_concurrent_streams: the HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS the server
            announces (hypercorn's default, 100, when None).

    `peers` holds the client addresses (host, port) of the requests served: one per
    connection, so a test can tell how many connections its requests used. On a server that
    outlives many connections a port comes round again: `peer_log` lists the address of every
    request in order, and `peers_since(mark)` the distinct ones after `len(peer_log)` was `mark`.
    """

    __test__ = False  # keep pytest from collecting this class as tests

    def __init__(
        self,
        *,
        tls: bool = False,
        http2: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        app: Any = None,
        h2_max_concurrent_streams: int | None = None,
    ) -> None:
        self.tls = tls
        self.http2 = http2
        self.host = host
        self.port = port
        # Any ASGI 3 callable; hypercorn's own protocol types are stricter than our app's.
        self.app: Any = default_app if app is None else app
        self.h2_max_concurrent_streams = h2_max_concurrent_streams
        self.peers: set[tuple[str, int]] = set()
        self.peer_log: list[tuple[str, int]] = []
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. `"http://127.0.0.1:43210"` (no trailing slash)."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def ca_path(self) -> str:
        """The PEM file of the CA that signed the server's certificate."""
        return ca_bundle_path()

    def client_ssl_context(self, *, alpn_protocols: list[str] | None = None) -> ssl.SSLContext:
        """A fresh client-side `SSLContext` trusting this server's CA."""
        return client_ssl_context(alpn_protocols=alpn_protocols)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> TestServer:
        """Start serving; returns once the server accepts and answers connections."""
        if self._thread is not None:
            raise RuntimeError("this TestServer has already been started")
        config = self._config()  # first: nothing below may fail once the socket is detached
        listener = self._listen()
        self.port = listener.getsockname()[1]
        # Ownership of the descriptor passes to hypercorn, which closes it when it stops.
        config.bind = [f"fd://{listener.detach()}"]
        self._thread = threading.Thread(
            target=self._run, args=(config,), name=f"zephyr-test-server-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._serving.wait(_START_TIMEOUT):
            raise RuntimeError(f"the test server did not start within {_START_TIMEOUT} s")
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("the test server failed to start") from self._error
        return self

    def stop(self) -> None:
        """Shut hypercorn down gracefully and wait for its thread; safe to call twice."""
        thread, loop, shutdown = self._thread, self._loop, self._shutdown
        if thread is None or loop is None or shutdown is None:
            return
        if thread.is_alive():
            # RuntimeError: the loop has just closed, so the thread is ending by itself.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(shutdown.set)
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                raise RuntimeError(f"the test server did not stop within {_STOP_TIMEOUT} s")
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError("the test server failed while serving") from error

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<TestServer {self.url} {state}>"

    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(1024)
        except BaseException:
            listener.close()
            raise
        return listener

    def _config(self) -> Config:
        from hypercorn.config import Config  # optional: the `testing` extra

        config = Config()
        config.accesslog = None  # no line per request on stdout
        config.errorlog = _hypercorn_logger
        config.graceful_timeout = _GRACEFUL_TIMEOUT
        config.alpn_protocols = ["h2", "http/1.1"] if self.http2 else ["http/1.1"]
        # hypercorn closes a connection after 1,000 requests by default, and over HTTP/2 it
        # then leaves the streams it had accepted unanswered: a test server must not.
        config.keep_alive_max_requests = 2**31
        if self.h2_max_concurrent_streams is not None:
            config.h2_max_concurrent_streams = self.h2_max_concurrent_streams
        if self.tls:
            files = certificate_files()
            config.certfile, config.keyfile = files.cert_path, files.key_path
        return config

    def _run(self, config: Config) -> None:
        try:
            with asyncio.Runner(loop_factory=_ServerLoop) as runner:
                runner.run(self._serve(config))
        except BaseException as error:  # reported by start() or stop(), in the caller's thread
            self._error = error
        finally:
            self._serving.set()  # never leave start() waiting for a server that is gone

    def peers_since(self, mark: int) -> set[tuple[str, int]]:
        """The client addresses of the requests served after `peer_log` held `mark` entries:
        how many connections they came over, even where a port was seen before."""
        return set(self.peer_log[mark:])

    async def _serve(self, config: Config) -> None:
        from hypercorn.asyncio import serve

        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        await serve(self._recording_app, config, shutdown_trigger=self._serve_until_shutdown)

    async def _recording_app(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client")
        if client:
            peer = (client[0], client[1])
            self.peers.add(peer)
            self.peer_log.append(peer)
        await self.app(scope, receive, send)

    async def _serve_until_shutdown(self) -> None:
        # hypercorn awaits its shutdown trigger only once every listener is accepting.
        self._serving.set()
        assert self._shutdown is not None
        await self._shutdown.wait()
