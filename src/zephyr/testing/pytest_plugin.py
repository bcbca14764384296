"""pytest fixtures for testing code that uses zephyr against the local test server.

    def test_get(zephyr_server):
        response = zephyr.get(zephyr_server.url + "/get")

Servers are session-scoped: one plain and one TLS server serve the whole run. Nothing heavy
is imported until a fixture is used, so merely having the plugin installed costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from zephyr.testing import TestServer

__all__ = ["zephyr_ca_path", "zephyr_server", "zephyr_tls_server"]


@pytest.fixture(scope="session")
def zephyr_server() -> Iterator[TestServer]:
    """A plain-HTTP test server (HTTP/1.1, and cleartext HTTP/2 for clients that ask)."""
    from zephyr.testing import TestServer

    with TestServer() as server:
        yield server


@pytest.fixture(scope="session")
def zephyr_tls_server() -> Iterator[TestServer]:
    """An HTTPS test server offering h2 and http/1.1 by ALPN; trust `zephyr_ca_path`."""
    from zephyr.testing import TestServer

    with TestServer(tls=True) as server:
        yield server


@pytest.fixture(scope="session")
def zephyr_ca_path() -> str:
    """Path of the PEM file of the CA behind `zephyr_tls_server`'s certificate."""
    from zephyr.testing import ca_bundle_path

    return ca_bundle_path()
