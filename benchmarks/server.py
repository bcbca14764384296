"""The benchmark server: nginx from Debian, one worker, loopback only, configured here.

    benchmarks/.venv/bin/python benchmarks/server.py [--serve SECONDS] [--quick]

Everything nginx needs lives in a fresh temporary directory: its config, pid file, error log,
temp paths, the TLS certificate (made with `trustme` for localhost and 127.0.0.1, its CA written
beside it as `ca.pem`) and the files it serves:

- `/small`: a ~100-byte JSON body;
- `/big`: 100 MiB of random bytes (sendfile);
- `/echo`: accepts a POST body of up to 200 MiB and answers `ok` once it has read all of it;
- `/conn`: nginx's serial number of the connection it came over (HTTP/2 streams share their
  connection's), so a client's setup can check that its requests shared one connection.

`/echo` is a `proxy_pass` to a location of this same nginx that answers `ok`: the proxy module
reads the whole request body before it contacts the upstream (`proxy_request_buffering on`, the
default), into one memory buffer (`client_body_buffer_size 200m`, so no temp file), and does
not forward it (`proxy_pass_request_body off`). A bare `return 200 "ok"` would answer at once
and discard the body behind the answer, so a client could see its response before its upload
has been taken in.

Three listeners, each on its usual port when that port is free on 127.0.0.1, else on a free one:
`http` (:8080, HTTP/1.1), `h2c` (:8081, HTTP/2 with prior knowledge), `https` (:8443, TLS, h2
and http/1.1 by ALPN). Run standalone, it starts nginx, checks it, prints the URLs and the
ceiling (wrk, h2load, curl), optionally keeps serving for `--serve` seconds, and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

SMALL_BODY = (
    b'{"id": 12345, "name": "zephyr", "tags": ["fast", "http", "client"], '
    b'"ok": true, "score": 0.987654321}'
)
BIG_SIZE = 100 * 1024 * 1024
MAX_UPLOAD = "200m"
PREFERRED_PORTS = {"http": 8080, "h2c": 8081, "https": 8443}


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pick_ports() -> dict[str, int]:
    """The usual ports where they are free, else free ones (never the same port twice)."""
    ports: dict[str, int] = {}
    for name, preferred in PREFERRED_PORTS.items():
        port = preferred if _port_is_free(preferred) else _free_port()
        while port in ports.values():
            port = _free_port()
        ports[name] = port
    return ports


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise SystemExit("nginx is not installed: run `bash benchmarks/setup.sh`")
    return found


def nginx_version() -> str:
    out = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True, check=True)
    return (out.stderr or out.stdout).strip().removeprefix("nginx version: ")


# The locations every listener serves. `{root}` is the temporary directory.
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
        location = /conn {{
            default_type text/plain;
            return 200 "$connection";
        }}
        location = /__echo_sink {{
            allow 127.0.0.1;
            deny all;
            default_type text/plain;
            return 200 "ok";
        }}
"""

CONFIG = """
daemon off;
master_process on;
worker_processes 1;
{affinity}worker_rlimit_nofile 16384;
pid {root}/nginx.pid;
error_log {root}/error.log warn;

events {{
    worker_connections 8192;
    multi_accept on;
}}

http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;

    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=16 inactive=1h;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    http2_max_concurrent_streams 1000;
    server_tokens off;

    # /echo's body is read by the proxy module, then an empty request goes to /__echo_sink.
    upstream echo_sink {{
        server 127.0.0.1:{http_port};
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{http_port};
        {locations}
    }}
    server {{
        listen 127.0.0.1:{h2c_port} http2;
        {locations}
    }}
    server {{
        listen 127.0.0.1:{https_port} ssl http2;
        ssl_certificate {root}/server.pem;
        ssl_certificate_key {root}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:1m;
        {locations}
    }}
}}
"""


@dataclass
class Nginx:
    """A running nginx; a context manager that starts it and stops it (SIGQUIT, then SIGKILL)."""

    ports: dict[str, int] = field(default_factory=pick_ports)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="zephyr-bench-")))
    cpu: int | None = None  # pin the worker to this CPU (worker_cpu_affinity); None: don't
    process: subprocess.Popen[bytes] | None = None

    # -- the URLs the clients get --------------------------------------------------------
    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    @property
    def h2c(self) -> str:
        return f"http://127.0.0.1:{self.ports['h2c']}"

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.ports['https']}"

    @property
    def cafile(self) -> str:
        return str(self.root / "ca.pem")

    def describe(self) -> dict[str, Any]:
        return {
            "http": self.http,
            "h2c": self.h2c,
            "https": self.https,
            "cafile": self.cafile,
            "big_size": BIG_SIZE,
            "small_size": len(SMALL_BODY),
        }

    # -- life cycle -----------------------------------------------------------------------
    def __enter__(self) -> Nginx:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _write_files(self) -> None:
        import trustme

        # The worker runs as nobody when nginx starts as root: let it read what it serves.
        self.root.chmod(0o755)
        (self.root / "small.json").write_bytes(SMALL_BODY)
        with open(self.root / "big.bin", "wb") as big:
            for _ in range(BIG_SIZE // (1 << 20)):
                big.write(os.urandom(1 << 20))
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        cert.private_key_pem.write_to_path(str(self.root / "server.key"))
        cert.cert_chain_pems[0].write_to_path(str(self.root / "server.pem"))
        for extra in cert.cert_chain_pems[1:]:
            with open(self.root / "server.pem", "ab") as chain:
                chain.write(extra.bytes())
        ca.cert_pem.write_to_path(self.cafile)
        for path in self.root.iterdir():
            path.chmod(0o644)
        locations = LOCATIONS.format(root=self.root, max_upload=MAX_UPLOAD)
        config = CONFIG.format(
            root=self.root,
            affinity=("" if self.cpu is None else f"worker_cpu_affinity {1 << self.cpu:b};\n"),
            locations=locations,
            http_port=self.ports["http"],
            h2c_port=self.ports["h2c"],
            https_port=self.ports["https"],
        )
        (self.root / "nginx.conf").write_text(config)

    def start(self) -> None:
        self._write_files()
        command = [
            nginx_binary(),
            "-p",
            str(self.root),
            "-c",
            str(self.root / "nginx.conf"),
            "-e",
            str(self.root / "error.log"),
        ]
        # /echo's 100 MiB buffer is a fresh mmap for every request: with 4 KiB pages, faulting
        # it in caps uploads near 1.6 GB/s; with transparent huge pages (which glibc asks for
        # with this tunable, THP being "madvise" on Debian) it is ~2.4 GB/s, as fast as a
        # Python `recv_into` sink here (2.9 GB/s), so /echo stays above every client.
        env = dict(os.environ)
        tunables = [env.get("GLIBC_TUNABLES", ""), "glibc.malloc.hugetlb=1"]
        env["GLIBC_TUNABLES"] = ":".join(filter(None, tunables))
        subprocess.run([*command, "-t", "-q"], check=True, env=env)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 10
        while not all(self._listening(port) for port in self.ports.values()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "error.log").read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"nginx did not start:\n{log}")
            time.sleep(0.05)

    @staticmethod
    def _listening(port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish, close, exit
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    # -- checks ---------------------------------------------------------------------------
    def check(self) -> None:
        """Fail loudly unless every listener serves what the clients expect."""
        with urllib.request.urlopen(self.http + "/small", timeout=5) as response:
            assert response.read() == SMALL_BODY, "/small"
        with urllib.request.urlopen(
            urllib.request.Request(self.http + "/echo", data=b"x" * 1000), timeout=5
        ) as response:
            assert response.read() == b"ok", "/echo"
        if shutil.which("curl"):
            for url, flag in ((self.h2c, "--http2-prior-knowledge"), (self.https, "--http2")):
                command = ["curl", "-sS", flag, "--cacert", self.cafile, "-o", "/dev/null"]
                out = subprocess.run(
                    [*command, "-w", "%{http_version} %{http_code}", url + "/small"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                assert out.stdout == "2 200", f"{url}: {out.stdout} {out.stderr}"


def _run(command: list[str], timeout: float = 120) -> str:
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    return out.stdout + out.stderr


def ceiling(server: Nginx, *, quick: bool = False) -> dict[str, float]:
    """What native tools get out of this nginx, so that we know we measure clients, not it."""
    seconds = "2s" if quick else "4s"
    requests = "20000" if quick else "50000"
    results: dict[str, float] = {}
    url = server.http + "/small"
    if shutil.which("wrk"):
        for connections in (1, 50):
            out = _run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}", url])
            match = re.search(r"Requests/sec:\s*([\d.]+)", out)
            if match:
                results[f"wrk http/1.1 {connections} conn (req/s)"] = float(match.group(1))
    if shutil.which("h2load"):
        for name, base in (("h2c", server.h2c), ("h2 tls", server.https)):
            out = _run(["h2load", "-n", requests, "-c1", "-m100", base + "/small"])
            match = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
            if not match or f" {requests} succeeded," not in out:
                raise RuntimeError(f"h2load {name} failed:\n{out}")
            results[f"h2load {name} 1 conn x 100 streams (req/s)"] = float(match.group(1))
    if shutil.which("curl"):
        download = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{speed_download}"]
        out = _run([*download, server.http + "/big"])
        code, speed = out.split()
        assert code == "200", out
        results["curl GET /big (MiB/s)"] = float(speed) / (1 << 20)
        # big-tls and h2-big's ceilings: the same TLS listener, by ALPN http/1.1 or h2.
        for name, flag, version in (
            ("tls http/1.1", "--http1.1", "1.1"),
            ("tls h2", "--http2", "2"),
        ):
            tls = [*download[:-1], "%{http_version} %{http_code} %{speed_download}"]
            out = _run([*tls, flag, "--cacert", server.cafile, server.https + "/big"])
            got, code, speed = out.split()
            assert (got, code) == (version, "200"), out
            results[f"curl GET /big {name} (MiB/s)"] = float(speed) / (1 << 20)
        body = server.root / "big.bin"
        upload = ["curl", "-sS", "-H", "Expect:", "--data-binary", f"@{body}"]
        out = _run([*upload, "-w", " %{http_code} %{speed_upload}", server.http + "/echo"])
        answer, code, speed = out.split()
        assert (answer, code) == ("ok", "200"), out
        results["curl POST 100 MiB /echo (MiB/s)"] = float(speed) / (1 << 20)
    results["bare socket sendall POST 100 MiB /echo (MiB/s)"] = bare_upload(server)
    return results


def bare_upload(server: Nginx, size: int = BIG_SIZE, repeats: int = 3) -> float:
    """/echo's ceiling: one `sendall` of a 100 MiB POST on a bare socket, best of `repeats`.

    curl is no ceiling here: it uploads in small writes, several times slower than this.
    """
    body = memoryview(bytes(size))
    head = f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n\r\n"
    best = 0.0
    with socket.create_connection(("127.0.0.1", server.ports["http"])) as sock:
        for _ in range(repeats):
            started = time.perf_counter()
            sock.sendall(head.encode())
            sock.sendall(body)
            answer = b""
            while not answer.endswith(b"\r\n\r\nok"):
                data = sock.recv(4096)
                if not data:
                    raise RuntimeError(f"/echo closed the connection after {answer!r}")
                answer += data
            best = max(best, size / (1 << 20) / (time.perf_counter() - started))
    return best


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that `with Nginx()` stops nginx on the way out."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", type=float, default=0, help="keep serving this many seconds")
    parser.add_argument("--quick", action="store_true", help="shorter ceiling checks")
    args = parser.parse_args()
    with Nginx() as server:
        server.check()
        print(f"nginx {nginx_version()} in {server.root}")
        for name, value in server.describe().items():
            print(f"  {name:10} {value}")
        for name, value in ceiling(server, quick=args.quick).items():
            print(f"  ceiling: {name:45} {value:>12,.0f}")
        sys.stdout.flush()
        if args.serve:
            time.sleep(min(args.serve, 24 * 3600))


if __name__ == "__main__":
    main()
