"""`python -m zephyr.testing serve [--tls] [--port N] [--host H]`: run the test server by hand."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from ._server import TestServer

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zephyr.testing",
        description="zephyr's offline, httpbin-compatible test server.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve until interrupted (Ctrl-C)")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    serve.add_argument("--no-http2", action="store_true", help="offer only http/1.1 in ALPN")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    server = TestServer(
        tls=arguments.tls,
        http2=not arguments.no_http2,
        host=arguments.host,
        port=arguments.port,
    )
    with server:
        print(f"Serving on {server.url}", flush=True)
        print(f"  try: {server.url}/get  {server.url}/anything  {server.url}/stream/3")
        if arguments.tls:
            print(f"CA certificate (pass as verify=): {server.ca_path}")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            threading.Event().wait()  # sleep until Ctrl-C, which interrupts the wait
        except KeyboardInterrupt:
            print("\nStopping.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
