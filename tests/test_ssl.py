"""TLS: `create_ssl_context` and HTTPTransport's TLS connections (verification, SNI, ALPN)."""

from __future__ import annotations

import os
import re
import socket
import ssl
from pathlib import Path

import pytest

from scripted_server import ScriptedConnection, ScriptedServer, keep_alive_server
from zephyr import ConnectError, Request
from zephyr._ssl import alpn_protocols, create_ssl_context
from zephyr._transports.http import HTTPTransport
from zephyr.testing import TestServer, ca_bundle_path, server_ssl_context

# -- create_ssl_context ---------------------------------------------------------------------


def test_default_context_verifies_with_tls12_minimum() -> None:
    context = create_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.get_ca_certs()  # certifi's bundle is loaded


def test_verify_false_checks_nothing() -> None:
    context = create_ssl_context(verify=False)
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_each_configuration_is_built_once() -> None:
    assert create_ssl_context() is create_ssl_context()
    assert create_ssl_context(verify=ca_bundle_path()) is create_ssl_context(
        verify=Path(ca_bundle_path())
    )
    assert create_ssl_context() is not create_ssl_context(verify=False)
    assert create_ssl_context() is not create_ssl_context(http2=True)


def test_given_context_is_used_as_is() -> None:
    mine = ssl.create_default_context()
    assert create_ssl_context(verify=mine) is mine


def test_ca_file_and_directory(tmp_path: Path) -> None:
    context = create_ssl_context(verify=ca_bundle_path())
    assert [cert["subject"] for cert in context.get_ca_certs()] != []
    create_ssl_context(verify=str(tmp_path))  # a directory of hashed certificates: accepted


def test_missing_ca_path_fails_at_construction(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(FileNotFoundError, match=re.escape("nope.pem")):
        create_ssl_context(verify=missing)
    with pytest.raises(FileNotFoundError, match=re.escape("nope.pem")):
        HTTPTransport(verify=missing)


def test_garbage_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    with pytest.raises(ssl.SSLError, match=re.escape("garbage.pem")):
        create_ssl_context(verify=str(garbage))


def test_client_certificate_forms(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    client = ca.issue_cert("client@example.org")
    combined = tmp_path / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(combined))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    client.cert_chain_pems[0].write_to_path(str(cert_file))
    client.private_key_pem.write_to_path(str(key_file))
    create_ssl_context(cert=str(combined))
    create_ssl_context(cert=(str(cert_file), str(key_file)))
    create_ssl_context(cert=(str(cert_file), str(key_file), ""))
    mine = ssl.create_default_context()
    assert create_ssl_context(verify=mine, cert=str(combined)) is mine


def test_unloadable_client_certificate_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("absent.pem")):
        create_ssl_context(cert=str(tmp_path / "absent.pem"))
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(ssl.SSLError, match=re.escape("bad.pem")):
        create_ssl_context(cert=str(bad))
    with pytest.raises(ssl.SSLError, match=re.escape("bad.pem")):
        HTTPTransport(cert=str(bad))
    with pytest.raises(TypeError):
        create_ssl_context(cert=("a",))  # type: ignore[arg-type]


def test_alpn_lists() -> None:
    assert alpn_protocols(http1=True, http2=False) == ["http/1.1"]
    assert alpn_protocols(http1=True, http2=True) == ["h2", "http/1.1"]
    assert alpn_protocols(http1=False, http2=True) == ["h2"]
    with pytest.raises(ValueError):
        alpn_protocols(http1=False, http2=False)
    with pytest.raises(ValueError):
        HTTPTransport(http1=False, http2=False)


@pytest.mark.parametrize(
    ("server_alpn", "http1", "http2", "selected"),
    [
        (["h2", "http/1.1"], True, False, "http/1.1"),
        (["h2", "http/1.1"], True, True, "h2"),
        (["http/1.1"], False, True, None),
        (["h2"], True, False, None),
    ],
)
def test_alpn_offers(
    server_alpn: list[str], http1: bool, http2: bool, selected: str | None
) -> None:
    """What the context offers, seen from a server that picks what it supports."""
    seen: list[str | None] = []

    def script(conn: ScriptedConnection) -> None:
        assert isinstance(conn.sock, ssl.SSLSocket)
        seen.append(conn.sock.selected_alpn_protocol())

    context = create_ssl_context(verify=ca_bundle_path(), http1=http1, http2=http2)
    with (
        ScriptedServer(script, tls=server_ssl_context(alpn_protocols=server_alpn)) as server,
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == selected
    assert seen == [selected]


def test_trust_env_ssl_cert_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle_path())
    context = create_ssl_context()
    assert context is not create_ssl_context(trust_env=False)
    with (
        ScriptedServer(keep_alive_server(), tls=server_ssl_context()) as server,
        HTTPTransport() as transport,
    ):
        response = transport.handle_request(Request("GET", f"https://localhost:{server.port}/"))
        assert response.read() == b"hello"


def test_trust_env_ssl_cert_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    context = create_ssl_context()
    assert context is not create_ssl_context(trust_env=False)


def test_trust_env_ssl_cert_file_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/zephyr-ca.pem")
    with pytest.raises(FileNotFoundError, match="SSL_CERT_FILE"):
        create_ssl_context()
    create_ssl_context(trust_env=False)  # not consulted


def test_sslkeylogfile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    with (
        ScriptedServer(keep_alive_server(), tls=server_ssl_context()) as server,
        HTTPTransport(verify=ca_bundle_path()) as transport,
    ):
        transport.handle_request(Request("GET", f"https://localhost:{server.port}/")).read()
    assert b"CLIENT_" in keylog.read_bytes() or b"SECRET" in keylog.read_bytes()


# -- TLS connections through HTTPTransport --------------------------------------------------


@pytest.fixture(scope="module")
def tls_server() -> TestServer:
    with TestServer(tls=True) as server:
        yield server  # type: ignore[misc]


def test_verified_round_trip(tls_server: TestServer) -> None:
    with HTTPTransport(verify=tls_server.ca_path) as transport:
        response = transport.handle_request(Request("GET", tls_server.url + "/get"))
        assert response.status_code == 200
        assert response.read().startswith(b"{")
        stream = response.extensions["network_stream"]
        ssl_object = stream.get_extra_info("ssl_object")
        assert ssl_object.version() in ("TLSv1.2", "TLSv1.3")
        assert set(response.extensions["timing"]) >= {"connect", "tls", "first_byte"}


def test_verification_failure_without_the_ca(tls_server: TestServer) -> None:
    with HTTPTransport() as transport, pytest.raises(ConnectError) as info:
        transport.handle_request(Request("GET", tls_server.url + "/get"))
    assert "certificate verification failed" in str(info.value)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert info.value.request.url.path == "/get"
    assert transport._pool.total == 0


def test_verify_false_connects_to_untrusted_server(tls_server: TestServer) -> None:
    with HTTPTransport(verify=False) as transport:
        response = transport.handle_request(Request("GET", tls_server.url + "/get"))
        assert response.status_code == 200
        response.read()


def test_without_http2_only_http11_is_offered(tls_server: TestServer) -> None:
    # The server offers h2 first; a transport without http2=True must not offer it at all.
    with HTTPTransport(verify=tls_server.ca_path) as transport:
        response = transport.handle_request(Request("GET", tls_server.url + "/get"))
        response.read()
        ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert ssl_object.selected_alpn_protocol() == "http/1.1"
        assert response.extensions["http_version"] == b"HTTP/1.1"


def test_tls_connection_is_reused(tls_server: TestServer) -> None:
    with HTTPTransport(verify=tls_server.ca_path) as transport:
        for _ in range(3):
            response = transport.handle_request(Request("GET", tls_server.url + "/get"))
            response.read()
        assert transport._pool.total == 1
        assert "tls" not in response.extensions["timing"]  # reused: no handshake


def test_sni_hostname_extension() -> None:
    names: list[str | None] = []
    context = server_ssl_context()
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    with (
        ScriptedServer(keep_alive_server(), tls=context) as server,
        HTTPTransport(verify=ca_bundle_path()) as transport,
    ):
        url = f"https://127.0.0.1:{server.port}/"
        request = Request("GET", url, extensions={"sni_hostname": "localhost"})
        transport.handle_request(request).read()
        # The SNI name is part of the pool key: a request without it gets its own
        # connection, verified against the URL's host.
        transport.handle_request(Request("GET", url)).read()
        assert transport._pool.total == 2
        bad = Request("GET", url, extensions={"sni_hostname": "other.example"})
        with pytest.raises(ConnectError, match="certificate verification failed"):
            transport.handle_request(bad)
    assert names[0] == "localhost"
    assert None in names  # 127.0.0.1: an IP address is never sent as SNI


def test_hostname_mismatch_is_refused() -> None:
    with (
        ScriptedServer(keep_alive_server(), tls=server_ssl_context()) as server,
        HTTPTransport(verify=ca_bundle_path()) as transport,
    ):
        request = Request(
            "GET",
            f"https://127.0.0.1:{server.port}/",
            extensions={"sni_hostname": "wrong.example"},
        )
        with pytest.raises(ConnectError, match=re.escape("wrong.example")):
            transport.handle_request(request)


def test_handshake_timeout_is_connect_timeout() -> None:
    from zephyr import ConnectTimeout

    def silent(conn: ScriptedConnection) -> None:
        while conn.recv():  # swallow the ClientHello, answer nothing, until the client leaves
            pass

    with ScriptedServer(silent) as server, HTTPTransport(verify=ca_bundle_path()) as transport:
        request = Request(
            "GET",
            f"https://localhost:{server.port}/",
            extensions={"timeout": {"connect": 0.2, "read": 1, "write": 1, "pool": 1}},
        )
        with pytest.raises(ConnectTimeout, match="TLS handshake"):
            transport.handle_request(request)


def test_plain_server_on_https_url_is_connect_error() -> None:
    def plain(conn: ScriptedConnection) -> None:
        conn.recv()
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with (
        ScriptedServer(plain) as server,
        HTTPTransport(verify=ca_bundle_path()) as transport,
        pytest.raises(ConnectError, match="TLS handshake"),
    ):
        transport.handle_request(Request("GET", f"https://localhost:{server.port}/"))


def test_environment_is_not_read_without_trust_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", os.devnull)
    with HTTPTransport(trust_env=False) as transport:
        assert transport._build_ssl_context() is create_ssl_context(trust_env=False)
