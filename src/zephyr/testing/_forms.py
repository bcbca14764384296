"""Request body forms: `application/x-www-form-urlencoded` and `multipart/form-data`.

The multipart parser is deliberately small and strict (RFC 7578 over RFC 2046 section 5.1):
the test server exists to check what a client sends, so a body whose framing is wrong is
answered with 400 rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ._asgi import HTTPException, parse_pairs

__all__ = ["FormPart", "parse_form", "parse_header_parameters"]

# RFC 2046 section 5.1.1: a boundary is 1 to 70 characters.
_MAX_BOUNDARY_LENGTH = 70
# One parameter of a header like `form-data; name="a"; filename*=utf-8''b.txt`.
_PARAMETER = re.compile(
    r';\s*(?P<name>[^\s=;]+)\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;]*))'
)


@dataclass(frozen=True, slots=True)
class FormPart:
    """One field of a form; `filename` is None for an ordinary (non-file) field."""

    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


def parse_header_parameters(value: str) -> tuple[str, dict[str, str]]:
    """Split `type/sub; a=1; b="x"` into the lower-cased main value and its parameters."""
    main, _, rest = value.partition(";")
    parameters: dict[str, str] = {}
    for match in _PARAMETER.finditer(";" + rest):
        name = match["name"].lower()
        if match["quoted"] is not None:
            parameters[name] = re.sub(r"\\(.)", r"\1", match["quoted"])
        else:
            parameters[name] = match["token"].strip()
    # RFC 5987 / RFC 8187 extended parameters (`filename*=utf-8''na%C3%AFve.txt`) win over
    # their plain forms, as RFC 6266 section 4.3 asks.
    for name in [key for key in parameters if key.endswith("*")]:
        parameters[name[:-1]] = decode_extended_value(parameters.pop(name))
    return main.strip().lower(), parameters


def decode_extended_value(value: str) -> str:
    """`charset'language'percent-encoded` (RFC 8187 section 3.2) to text."""
    pieces = value.split("'", 2)
    if len(pieces) != 3:
        raise HTTPException(400, f"malformed extended parameter value {value!r}")
    charset, _language, encoded = pieces
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        raise HTTPException(400, f"undecodable extended parameter value {value!r}") from None


def parse_form(content_type: str | None, body: bytes) -> list[FormPart] | None:
    """The fields of a form body, or None when the body is not a form at all."""
    if content_type is None:
        return None
    media_type, parameters = parse_header_parameters(content_type)
    if media_type == "application/x-www-form-urlencoded":
        return [FormPart(name, value.encode("utf-8")) for name, value in parse_pairs(body)]
    if media_type == "multipart/form-data":
        boundary = parameters.get("boundary", "")
        if not 0 < len(boundary) <= _MAX_BOUNDARY_LENGTH:
            raise HTTPException(400, "multipart/form-data without a valid boundary")
        return parse_multipart(body, boundary.encode("latin-1"))
    return None


def parse_multipart(body: bytes, boundary: bytes) -> list[FormPart]:
    delimiter = b"--" + boundary
    # The body may begin with a preamble; the first delimiter starts a line of its own.
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        start = body.find(b"\r\n" + delimiter)
        if start < 0:
            raise HTTPException(400, "multipart body without its boundary")
        position = start + 2 + len(delimiter)

    parts: list[FormPart] = []
    while True:
        if body.startswith(b"--", position):
            return parts  # the close delimiter; an epilogue after it is ignored
        line_end = body.find(b"\r\n", position)
        # Only transport padding (spaces, tabs) may sit between a delimiter and its CRLF.
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise HTTPException(400, "malformed multipart delimiter line")
        part_start = line_end + 2
        part_end = body.find(b"\r\n" + delimiter, part_start)
        if part_end < 0:
            raise HTTPException(400, "multipart body is not terminated")
        parts.append(parse_part(body[part_start:part_end]))
        position = part_end + 2 + len(delimiter)


def parse_part(raw_part: bytes) -> FormPart:
    if raw_part.startswith(b"\r\n"):
        raw_headers, content = b"", raw_part[2:]
    else:
        raw_headers, separator, content = raw_part.partition(b"\r\n\r\n")
        if not separator:
            raise HTTPException(400, "multipart part without a blank line after its headers")
    headers: dict[str, str] = {}
    for line in raw_headers.split(b"\r\n"):
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if not colon:
            raise HTTPException(400, "malformed multipart part header")
        headers[name.strip().lower()] = value.strip()

    disposition, parameters = parse_header_parameters(headers.get("content-disposition", ""))
    if disposition != "form-data" or "name" not in parameters:
        raise HTTPException(400, "multipart part without Content-Disposition: form-data; name")
    return FormPart(
        name=parameters["name"],
        value=content,
        filename=parameters.get("filename"),
        content_type=headers.get("content-type"),
    )
