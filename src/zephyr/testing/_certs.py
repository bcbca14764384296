"""Certificates for the local TLS test server: one throwaway CA per process, from `trustme`.

The CA and a server certificate for `localhost`, `127.0.0.1` and `::1` are created on first
use, written to a private temporary directory (removed when the process exits), and shared
by every server and client in the process. `trustme` (and with it `cryptography`) is
imported only then, so importing `zephyr.testing` stays cheap.
"""

from __future__ import annotations

import atexit
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SERVER_IDENTITIES",
    "CertificateFiles",
    "ca_bundle_path",
    "certificate_files",
    "client_ssl_context",
    "server_cert_path",
    "server_key_path",
    "server_ssl_context",
]

SERVER_IDENTITIES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    """Where the PEM files live: the CA, the server's chain (leaf first) and its key."""

    directory: str
    ca_path: str
    cert_path: str
    key_path: str


_lock = threading.Lock()
_files: CertificateFiles | None = None


def certificate_files() -> CertificateFiles:
    """The process's certificate files, created on the first call (thread-safe)."""
    global _files
    with _lock:
        if _files is None:
            _files = _create_certificate_files()
        return _files


def _create_certificate_files() -> CertificateFiles:
    import trustme  # optional: the `testing` extra

    authority = trustme.CA(organization_name="zephyr test CA")
    server = authority.issue_cert(*SERVER_IDENTITIES)
    directory = Path(tempfile.mkdtemp(prefix="zephyr-testing-certs-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)

    ca_path = directory / "ca.pem"
    cert_path = directory / "server-chain.pem"
    key_path = directory / "server-key.pem"
    authority.cert_pem.write_to_path(str(ca_path))
    cert_path.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(key_path))
    return CertificateFiles(str(directory), str(ca_path), str(cert_path), str(key_path))


def ca_bundle_path() -> str:
    """Path of the PEM bundle holding the test CA: what a client passes as `verify=`."""
    return certificate_files().ca_path


def server_cert_path() -> str:
    return certificate_files().cert_path


def server_key_path() -> str:
    return certificate_files().key_path


def client_ssl_context(*, alpn_protocols: list[str] | None = None) -> ssl.SSLContext:
    """A new client context that trusts the test CA (and nothing else), hostname checked."""
    context = ssl.create_default_context(cafile=ca_bundle_path())
    if alpn_protocols:
        context.set_alpn_protocols(alpn_protocols)
    return context


def server_ssl_context(*, alpn_protocols: list[str] | None = None) -> ssl.SSLContext:
    """A new server context with the test certificate: for hand-written raw-socket servers."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    files = certificate_files()
    context.load_cert_chain(files.cert_path, files.key_path)
    if alpn_protocols:
        context.set_alpn_protocols(alpn_protocols)
    return context
