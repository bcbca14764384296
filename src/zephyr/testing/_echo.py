"""What httpbin says back about a request: `args`, `headers`, `origin`, `url`, `form`, `files` ...

Each key of the JSON that `/get`, `/post`, `/anything` and friends return is built by one
function here, so that every endpoint describes a request the same way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from ._asgi import Request
from ._forms import parse_form

__all__ = ["describe", "echo_headers", "flatten_pairs", "json_safe", "origin"]

JSONDict = dict[str, Any]


def flatten_pairs(pairs: Iterable[tuple[str, Any]]) -> JSONDict:
    """Pairs to a dict: one value stays a value, a repeated name becomes a list (as httpbin)."""
    grouped: dict[str, list[Any]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def title_case(header_name: str) -> str:
    # httpbin reports names the way WSGI rebuilds them: `x-echo-id` becomes `X-Echo-Id`.
    return "-".join(word[:1].upper() + word[1:].lower() for word in header_name.split("-"))


def echo_headers(request: Request) -> dict[str, str]:
    """The request's headers, names in Title-Case; a repeated header's values comma-joined."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers:
        name = title_case(raw_name.decode("latin-1"))
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def origin(request: Request) -> str:
    return request.header("x-forwarded-for") or request.client_host


def json_safe(content: bytes, content_type: str | None = None) -> str:
    """Text stays text; bytes that are not UTF-8 become a `data:` URL (RFC 2397), as httpbin."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(content).decode("ascii")
        return f"data:{content_type or 'application/octet-stream'};base64,{encoded}"


def body_fields(request: Request) -> JSONDict:
    """`form`, `files`, `data` and `json` of a request with a body (httpbin's rules).

    A form body fills `form` and `files` and leaves `data` empty, because the form parser
    consumed it; any other body is echoed as `data`, and parsed as `json` when it is JSON.
    """
    parts = parse_form(request.header("content-type"), request.body)
    if parts is not None:
        fields = [(part.name, json_safe(part.value)) for part in parts if part.filename is None]
        files = [
            (part.name, json_safe(part.value, part.content_type))
            for part in parts
            if part.filename is not None
        ]
        return {
            "form": flatten_pairs(fields),
            "files": flatten_pairs(files),
            "data": "",
            "json": None,
        }
    data = json_safe(request.body)
    try:
        parsed_json = json.loads(data) if data else None
    except ValueError:
        parsed_json = None
    return {"form": {}, "files": {}, "data": data, "json": parsed_json}


def describe(request: Request, *keys: str) -> JSONDict:
    """The httpbin description of `request`, limited to `keys`, in that order."""
    description: JSONDict = {}
    body = body_fields(request) if {"form", "files", "data", "json"} & set(keys) else {}
    for key in keys:
        if key == "url":
            description["url"] = request.url
        elif key == "args":
            description["args"] = flatten_pairs(request.query_args)
        elif key == "headers":
            description["headers"] = echo_headers(request)
        elif key == "origin":
            description["origin"] = origin(request)
        elif key == "method":
            description["method"] = request.method
        else:
            description[key] = body[key]
    return description
