"""`make demo`: a tour of zephyr's features.

Run with `python -m zephyr.testing.demo`. Everything runs offline.
"""

from __future__ import annotations

import gzip

import zephyr


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 60 - len(title)))


def tour_urls() -> None:
    section("URLs and query parameters")
    url = zephyr.URL("https://user:secret@Bücher.example:8443/a/./b/../c?x=1#top")
    print(f"repr hides the password: {url!r}")
    print(f"host={url.host!r} raw_host={url.raw_host!r} port={url.port} path={url.path!r}")
    print(f"joined: {url.join('../d?y=2')}")
    params = zephyr.QueryParams({"status": "completed", "tags": ["a", "b"], "debug": True})
    print(f"params: {params}  → {url.copy_merge_params(params)}")
    try:
        zephyr.URL("https://example.org/\r\nX-Injected: 1")
    except zephyr.InvalidURL as exc:
        print(f"refused: InvalidURL: {exc}")


def tour_requests() -> None:
    section("Requests and their bodies")
    request = zephyr.Request(
        "POST", "https://api.example/items", params={"page": 2}, json={"name": "zéphyr"}
    )
    print(request)
    for name, value in request.headers.multi_items():
        print(f"  {name}: {value}")
    print(f"  body: {request.content!r}")
    form = zephyr.Request("POST", "https://api.example/form", data={"a": ["1", "2"]})
    print(f"form body: {form.content!r}")
    upload = zephyr.Request(
        "POST", "https://api.example/upload", files={"report": ("report.csv", b"a,b\n1,2\n")}
    )
    print(f"multipart: {upload.headers['Content-Type']}, {upload.headers['Content-Length']} bytes")
    try:
        zephyr.Request("GET", "https://api.example/", headers={"X-A": "1\r\nX-Evil: 2"})
    except zephyr.LocalProtocolError as exc:
        print(f"refused: LocalProtocolError: {exc}")


def tour_responses() -> None:
    section("Responses")
    request = zephyr.Request("GET", "https://api.example/data")
    body = gzip.compress(b'{"message": "hello", "items": [1, 2, 3]}')
    response = zephyr.Response(
        200,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        content=body,
        request=request,
    )
    print(f"{response!r} {response.http_version} encoding={response.encoding}")
    print(f"json (decoded from gzip): {response.json()}")
    missing = zephyr.Response(404, request=request)
    try:
        missing.raise_for_status()
    except zephyr.HTTPStatusError as exc:
        print(f"raise_for_status: {exc.args[0].splitlines()[0]}")
    print(f"codes.NOT_FOUND = {int(zephyr.codes.NOT_FOUND)} ({zephyr.codes.NOT_FOUND.phrase})")


def tour_config() -> None:
    section("Timeouts and limits")
    print(zephyr.Timeout(5.0))
    print(zephyr.Timeout(10.0, connect=3.0))
    print(zephyr.Limits())


def main() -> None:
    print(f"zephyr {zephyr.__version__}")
    tour_urls()
    tour_requests()
    tour_responses()
    tour_config()
    print("\nThe network tour (GET, POST, auth, streaming against the local server) comes with")
    print("the client.")


if __name__ == "__main__":
    main()
