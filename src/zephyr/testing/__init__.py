"""zephyr's offline test server: an httpbin-compatible ASGI app served by hypercorn.

    from zephyr.testing import TestServer

    with TestServer(tls=True) as server:
        ...  # server.url is "https://127.0.0.1:<port>", server.ca_path verifies it

hypercorn and trustme (the `testing` extra) are imported only when a server starts or the
certificates are first needed, so importing this package is cheap. For pytest, the plugin
`zephyr.testing.pytest_plugin` provides the `zephyr_server`, `zephyr_tls_server` and
`zephyr_ca_path` fixtures.
"""

from ._app import TestApp, app
from ._certs import (
    ca_bundle_path,
    client_ssl_context,
    server_cert_path,
    server_key_path,
    server_ssl_context,
)
from ._server import TestServer

__all__ = [
    "TestApp",
    "TestServer",
    "app",
    "ca_bundle_path",
    "client_ssl_context",
    "server_cert_path",
    "server_key_path",
    "server_ssl_context",
]
