"""TLS configuration: `create_ssl_context`, built once per configuration and cached.

HTTPX builds a fresh `SSLContext` for every client, and loading certifi's bundle alone takes
~17 ms here (measured); zephyr builds each distinct configuration once per process. The
contexts returned are therefore shared: treat them as read-only. (An `SSLContext` passed in by
the caller is the caller's own and is used as is, never cached.)

This module imports `ssl` (~12 ms) and certifi; the transports import it only when a TLS
setting is given or the first https connection is made, so `import zephyr` stays cheap.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import TypeAlias

__all__ = ["CertTypes", "VerifyTypes", "alpn_protocols", "create_ssl_context"]

VerifyTypes: TypeAlias = "ssl.SSLContext | str | os.PathLike[str] | bool"
CertTypes: TypeAlias = "str | os.PathLike[str] | tuple[str, str] | tuple[str, str, str]"

_EnvTuple: TypeAlias = tuple[str | None, str | None, str | None]


def alpn_protocols(*, http1: bool, http2: bool) -> list[str]:
    """The ALPN list to offer: "h2" first when HTTP/2 is wanted (RFC 7301 §3.1: by preference)."""
    if not (http1 or http2):
        raise ValueError("At least one of http1 and http2 must be enabled.")
    return (["h2"] if http2 else []) + (["http/1.1"] if http1 else [])


def create_ssl_context(
    verify: VerifyTypes = True,
    cert: CertTypes | None = None,
    trust_env: bool = True,
    http2: bool = False,
    http1: bool = True,
) -> ssl.SSLContext:
    """An `SSLContext` for a client: TLS 1.2 or later, certificates and host names checked.

    verify: True (certifi's CA bundle, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when `trust_env`),
        a CA bundle file or a directory of hashed CA certificates, False (no verification at
        all, no host name check), or an `ssl.SSLContext`, used as is but for `cert`, loaded
        into it, and its ALPN list, set to the protocols the client speaks (as HTTPX does:
        with `http2=True` it offers "h2", without it it must not).
    cert: a client certificate: a PEM file holding the certificate and its key, or
        `(certfile, keyfile)`, or `(certfile, keyfile, password)`.
    trust_env: honour `SSL_CERT_FILE`, `SSL_CERT_DIR` and `SSLKEYLOGFILE`.
    http1, http2: which protocols ALPN offers.

    A missing CA path or an unloadable client certificate raises here, with a clear message.
    """
    if isinstance(verify, ssl.SSLContext):
        if cert is not None:
            _load_client_cert(verify, _normalise_cert(cert))
        verify.set_alpn_protocols(alpn_protocols(http1=http1, http2=http2))
        return verify
    if not isinstance(verify, bool):
        verify = os.fspath(verify)
    cert_key = None if cert is None else _normalise_cert(cert)
    env: _EnvTuple = (None, None, None)
    if trust_env:
        env = (
            os.environ.get("SSL_CERT_FILE"),
            os.environ.get("SSL_CERT_DIR"),
            os.environ.get("SSLKEYLOGFILE"),
        )
    alpn = tuple(alpn_protocols(http1=http1, http2=http2))
    return _cached_context(verify, cert_key, env, alpn)


@functools.lru_cache(maxsize=32)
def _cached_context(
    verify: str | bool,
    cert: tuple[str, str | None, str | None] | None,
    env: _EnvTuple,
    alpn: tuple[str, ...],
) -> ssl.SSLContext:
    # Every argument is hashable and the environment is part of the key, so a changed
    # SSL_CERT_FILE gets its own context rather than a stale one.
    cert_file, cert_dir, keylog_file = env
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION  # CRIME; OpenSSL 1.1+ already defaults to it
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        _load_trust(context, verify, cert_file, cert_dir)
    if cert is not None:
        _load_client_cert(context, cert)
    if keylog_file:
        # For Wireshark; the variable is a debugging aid that curl and browsers honour too.
        context.keylog_filename = keylog_file
    context.set_alpn_protocols(list(alpn))
    return context


def _load_trust(
    context: ssl.SSLContext, verify: str | bool, cert_file: str | None, cert_dir: str | None
) -> None:
    if isinstance(verify, str):
        _load_ca_path(context, verify, "verify")
    elif cert_file:
        _load_ca_path(context, cert_file, "SSL_CERT_FILE")
    elif cert_dir:
        _load_ca_path(context, cert_dir, "SSL_CERT_DIR")
    else:
        import certifi  # deferred: only TLS users pay for it

        context.load_verify_locations(cafile=certifi.where())


def _load_ca_path(context: ssl.SSLContext, path: str, source: str) -> None:
    try:
        if os.path.isfile(path):
            context.load_verify_locations(cafile=path)
        elif os.path.isdir(path):
            context.load_verify_locations(capath=path)
        else:
            raise FileNotFoundError(
                f"Could not find a TLS CA certificate bundle or directory at {path!r} "
                f"(given by {source})."
            )
    except ssl.SSLError as exc:
        raise ssl.SSLError(
            f"Could not load the TLS CA certificates at {path!r} (given by {source}): {exc}"
        ) from exc


def _normalise_cert(cert: CertTypes) -> tuple[str, str | None, str | None]:
    if isinstance(cert, str | os.PathLike):
        return (os.fspath(cert), None, None)
    if isinstance(cert, tuple) and len(cert) == 2:
        return (cert[0], cert[1], None)
    if isinstance(cert, tuple) and len(cert) == 3:
        return (cert[0], cert[1], cert[2])
    raise TypeError(
        f"cert must be a path, (certfile, keyfile) or (certfile, keyfile, password), not {cert!r}."
    )


def _load_client_cert(context: ssl.SSLContext, cert: tuple[str, str | None, str | None]) -> None:
    certfile, keyfile, password = cert
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except (OSError, ssl.SSLError) as exc:
        # OpenSSL's own text ("[SSL] PEM lib") names neither the file nor the problem.
        described = f"{certfile!r}" + (f" with key {keyfile!r}" if keyfile else "")
        error_type = ssl.SSLError if isinstance(exc, ssl.SSLError) else type(exc)
        raise error_type(f"Could not load the client certificate {described}: {exc}") from exc
