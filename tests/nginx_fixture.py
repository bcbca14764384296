"""A pytest plugin with a session-scoped `nginx` fixture: Debian's nginx, configured here.

    pytest_plugins = ["client_helpers", "nginx_fixture"]

    def test_small(client_factory: ClientFactory, nginx: NginxServer) -> None:
        response = client_factory().get(nginx.http + "/small")

nginx runs as the current user, in a temporary directory of its own that holds its config,
pid file, error log, temp paths and the files it serves; nothing is written under /var. It
listens on free loopback ports:

- `http`: HTTP/1.1 with keep-alive;
- `h2c`: cleartext HTTP/2 with prior knowledge (`listen ... http2`);
- `https`: TLS offering h2 and http/1.1 by ALPN, up to 1,000 concurrent streams;
- `https_limited`: the same with `http2_max_concurrent_streams` = `max_streams` (10);
- `https_goaway`: the same with `keepalive_requests` = `goaway_after`: from nginx 1.19.7 on,
  an HTTP/2 connection that has served that many requests gets a GOAWAY, and streams the
  client opened past it are refused, so clients must retry them elsewhere.

Every listener serves:

- `/small`: `SMALL_BODY`, about 100 bytes of JSON;
- `/big`: `BIG_SIZE` (100 MiB) random bytes, whose CRC-32 is `big_crc32`;
- `/echo`: takes a POST body of up to 200 MiB and answers `ok` once it has read all of it (a
  `proxy_pass` to this nginx's own `/__echo_sink`, with the body buffered and not forwarded);
- `/echo-id/<id>` (`<id>`: 1-64 of `A-Za-z0-9._-`): answers `<id>` as its body and in
  `X-Echo-Id`, so concurrent responses can be matched to their requests.

Every response carries `X-Connection` (nginx's serial number of the TCP connection; HTTP/2
streams share their connection's) and `X-Connection-Requests` (the requests that connection
has served, this one included), so a test can tell how many connections its requests used.

The certificate (from `zephyr.testing`'s test CA) is valid for localhost and 127.0.0.1;
clients verify it with `ca_path` or `ssl_context()`. Without nginx the fixture skips its
tests, unless the environment variable `CI` is set: then it fails them, since CI must run
them (`.ci/run` installs nginx).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["BIG_SIZE", "SMALL_BODY", "NginxServer", "find_nginx", "nginx"]

SMALL_BODY = (
    b'{"id": 12345, "name": "zephyr", "tags": ["fast", "http", "client"], '
    b'"ok": true, "score": 0.987654321}'
)
BIG_SIZE = 100 * 1024 * 1024
MAX_UPLOAD = "200m"
MAX_STREAMS = 10  # https_limited's http2_max_concurrent_streams
GOAWAY_AFTER = 20  # https_goaway's keepalive_requests
LISTENERS = ("http", "h2c", "https", "https_limited", "https_goaway")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

# What every listener serves; `{root}` is the temporary directory.
LOCATIONS = """
        location = /small {{
            default_type application/json;
            alias {root}/small.json;
        }}
        location = /big {{
            default_type application/octet-stream;
            alias {root}/big.bin;
        }}
        location = /echo {{
            client_max_body_size {max_upload};
            client_body_buffer_size {max_upload};
            proxy_pass http://echo_sink/__echo_sink;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Connection "";
            proxy_http_version 1.1;
        }}
        location = /__echo_sink {{
            allow 127.0.0.1;
            deny all;
            default_type text/plain;
            return 200 "ok";
        }}
        location ~ "^/echo-id/(?<echo_id>[A-Za-z0-9._-]{{1,64}})$" {{
            default_type text/plain;
            add_header X-Echo-Id $echo_id always;
            add_header X-Connection $connection always;
            add_header X-Connection-Requests $connection_requests always;
            return 200 $echo_id;
        }}
"""

CONFIG = """
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;

    sendfile on;
    tcp_nodelay on;
    server_tokens off;
    keepalive_timeout 60s;
    keepalive_requests 100000;
    http2_max_concurrent_streams 1000;
    add_header X-Connection $connection always;
    add_header X-Connection-Requests $connection_requests always;

    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;

    # /echo's body is read by the proxy module, then an empty request goes to /__echo_sink.
    upstream echo_sink {{
        server 127.0.0.1:{http};
        keepalive 8;
    }}

    server {{
        listen 127.0.0.1:{http};
        {locations}
    }}
    server {{
        listen 127.0.0.1:{h2c} http2;
        {locations}
    }}
    server {{
        listen 127.0.0.1:{https} ssl http2;
        {locations}
    }}
    server {{
        listen 127.0.0.1:{https_limited} ssl http2;
        http2_max_concurrent_streams {max_streams};
        {locations}
    }}
    server {{
        listen 127.0.0.1:{https_goaway} ssl http2;
        keepalive_requests {goaway_after};
        {locations}
    }}
}}
"""


def find_nginx() -> str | None:
    """The nginx binary: on PATH, else Debian's /usr/sbin/nginx (often not on a user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    debian = Path("/usr/sbin/nginx")
    return str(debian) if os.access(debian, os.X_OK) else None


@dataclass(frozen=True)
class NginxServer:
    """A running nginx: its base URLs (no trailing slash), its CA, what it serves."""

    root: Path
    ports: dict[str, int]
    ca_path: str
    big_crc32: int
    version: str
    max_streams: int = MAX_STREAMS
    goaway_after: int = GOAWAY_AFTER
    small_body: bytes = SMALL_BODY
    big_size: int = BIG_SIZE

    def url(self, listener: str) -> str:
        scheme = "https" if listener.startswith("https") else "http"
        return f"{scheme}://127.0.0.1:{self.ports[listener]}"

    @property
    def http(self) -> str:
        """HTTP/1.1, keep-alive."""
        return self.url("http")

    @property
    def h2c(self) -> str:
        """Cleartext HTTP/2, prior knowledge only."""
        return self.url("h2c")

    @property
    def https(self) -> str:
        """TLS; h2 or http/1.1 by ALPN; 1,000 concurrent streams."""
        return self.url("https")

    @property
    def https_limited(self) -> str:
        """TLS + h2 with at most `max_streams` concurrent streams per connection."""
        return self.url("https_limited")

    @property
    def https_goaway(self) -> str:
        """TLS + h2; each connection gets a GOAWAY after `goaway_after` requests."""
        return self.url("https_goaway")

    def ssl_context(self) -> ssl.SSLContext:
        """A new client context trusting the server's CA only."""
        return ssl.create_default_context(cafile=self.ca_path)

    def error_log(self) -> str:
        return (self.root / "error.log").read_text(errors="replace")


def _free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 now (all probes held open until chosen)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
        return ports


def _write_big(path: Path) -> int:
    """BIG_SIZE random bytes into `path`; their CRC-32."""
    crc = 0
    block = 1 << 20
    with open(path, "wb") as big:
        for _ in range(BIG_SIZE // block):
            data = os.urandom(block)
            crc = zlib.crc32(data, crc)
            big.write(data)
    return crc


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


class _Process:
    """nginx's master process: started in the foreground, stopped gracefully, then forcibly."""

    def __init__(self, binary: str, root: Path) -> None:
        self.root = root
        command = [binary, "-p", str(root), "-c", str(root / "nginx.conf")]
        command += ["-e", str(root / "error.log")]
        check = subprocess.run(
            [*command, "-t", "-q"], capture_output=True, text=True, timeout=START_TIMEOUT
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its config:\n{check.stdout}{check.stderr}")
        # Its own output (normally none: `-e` sends errors to the log) goes to a file too.
        with open(root / "output.log", "ab") as output:
            self.popen = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_listening(self, ports: list[int]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not all(_listening(port) for port in ports):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = "".join(
                    (self.root / name).read_text(errors="replace")
                    for name in ("error.log", "output.log")
                    if (self.root / name).exists()
                )
                raise RuntimeError(f"nginx did not start (exit {self.popen.returncode}):\n{log}")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGQUIT (finish, close, exit), then SIGTERM, then SIGKILL; reaped in every case."""
        for stop_signal in (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
            if self.popen.poll() is not None:
                break
            self.popen.send_signal(stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(STOP_TIMEOUT)
        self.popen.wait()


@contextlib.contextmanager
def run_nginx(binary: str) -> Iterator[NginxServer]:
    """Start nginx in a fresh temporary directory; stop it and remove the directory after."""
    from zephyr.testing import ca_bundle_path, server_cert_path, server_key_path

    root = Path(tempfile.mkdtemp(prefix="zephyr-nginx-"))
    try:
        # Started as root, nginx's worker runs as nobody: let it read what it serves.
        root.chmod(0o755)
        (root / "small.json").write_bytes(SMALL_BODY)
        big_crc32 = _write_big(root / "big.bin")
        for served in ("small.json", "big.bin"):
            (root / served).chmod(0o644)
        version = subprocess.run(
            [binary, "-v"], capture_output=True, text=True, timeout=START_TIMEOUT
        ).stderr.strip()
        # A port probed free may be taken before nginx binds it: then try new ones.
        for attempt in range(3):
            ports = dict(zip(LISTENERS, _free_ports(len(LISTENERS)), strict=True))
            locations = LOCATIONS.format(root=root, max_upload=MAX_UPLOAD)
            config = CONFIG.format(
                root=root,
                cert=server_cert_path(),
                key=server_key_path(),
                locations=locations,
                max_streams=MAX_STREAMS,
                goaway_after=GOAWAY_AFTER,
                **ports,
            )
            (root / "nginx.conf").write_text(config)
            process = _Process(binary, root)
            try:
                process.wait_listening(list(ports.values()))
            except RuntimeError:
                if attempt == 2:
                    raise
                continue
            break
        try:
            yield NginxServer(
                root=root,
                ports=ports,
                ca_path=ca_bundle_path(),
                big_crc32=big_crc32,
                version=version.removeprefix("nginx version: "),
            )
        finally:
            process.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def nginx() -> Iterator[NginxServer]:
    """A running nginx (see the module's docstring); skipped without nginx, failed in CI."""
    binary = find_nginx()
    if binary is None:
        reason = "nginx is not installed (Debian: apt-get install nginx-light)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI is set, so the nginx interop tests must run", pytrace=False)
        pytest.skip(reason)
    with run_nginx(binary) as server:
        yield server
