"""Type aliases for the public API's arguments."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

    from ._config import Timeout
    from ._cookies import Cookies
    from ._headers import Headers
    from ._urls import URL, QueryParams

PrimitiveData: TypeAlias = str | int | float | bool | None

URLTypes: TypeAlias = "URL | str"

QueryParamTypes: TypeAlias = (
    "QueryParams | Mapping[str, PrimitiveData | Sequence[PrimitiveData]]"
    " | list[tuple[str, PrimitiveData]] | tuple[tuple[str, PrimitiveData], ...] | str | bytes"
)

HeaderTypes: TypeAlias = (
    "Headers | Mapping[str, str] | Mapping[bytes, bytes]"
    " | Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]]"
)

CookieTypes: TypeAlias = "Cookies | CookieJar | dict[str, str] | list[tuple[str, str]]"

TimeoutTypes: TypeAlias = (
    "float | tuple[float | None, float | None, float | None, float | None] | Timeout | None"
)

RequestContent: TypeAlias = str | bytes | Iterable[bytes] | AsyncIterable[bytes]
ResponseContent: TypeAlias = str | bytes | Iterable[bytes] | AsyncIterable[bytes]

RequestData: TypeAlias = Mapping[str, Any]

FileContent: TypeAlias = IO[bytes] | bytes | str
FileTypes: TypeAlias = (
    # file (or bytes, or str)
    FileContent
    # (filename, file)
    | tuple[str | None, FileContent]
    # (filename, file, content_type)
    | tuple[str | None, FileContent, str | None]
    # (filename, file, content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles: TypeAlias = Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]]

RequestExtensions: TypeAlias = Mapping[str, Any]
ResponseExtensions: TypeAlias = Mapping[str, Any]

__all__ = [
    "CookieTypes",
    "FileContent",
    "FileTypes",
    "HeaderTypes",
    "PrimitiveData",
    "QueryParamTypes",
    "RequestContent",
    "RequestData",
    "RequestExtensions",
    "RequestFiles",
    "ResponseContent",
    "ResponseExtensions",
    "TimeoutTypes",
    "URLTypes",
]
