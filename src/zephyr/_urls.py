"""The public `URL` and `QueryParams` classes, with HTTPX's API.

A `URL` is parsed once into `URLParts` (canonical, encoded text; see `_urlparse`) and every
property is derived from that on first use and then cached on the instance. `URL(url)` of an
existing URL shares both, so it costs no parsing at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from functools import lru_cache
from typing import Any, Generic, TypeVar, overload
from urllib.parse import unquote

from ._exceptions import InvalidURL
from ._types import QueryParamTypes, URLTypes
from ._urlparse import (
    DEFAULT_PORTS,
    MAX_URL_LENGTH,
    URLParts,
    decode_host,
    netloc,
    parse_url,
    parse_url_with_components,
    replace_components,
    resolve_reference,
    unsplit,
)

__all__ = ["URL", "QueryParams"]

_new_parts = tuple.__new__  # URLParts(...) without the NamedTuple's Python-level __new__

_T = TypeVar("_T")


class _cached(Generic[_T]):
    """Compute an attribute on first access, then store it as a plain instance attribute.

    Unlike functools.cached_property on Python 3.11, no lock is taken: one RLock per
    property, shared by every instance, would serialise all threads of a client. A race
    merely computes the same immutable value twice.
    """

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _cached[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> _T: ...

    def __get__(self, instance: object | None, owner: type[Any]) -> _T | _cached[_T]:
        if instance is None:
            return self
        value = self._compute(instance)
        instance.__dict__[self._name] = value
        return value


# Clients send many requests to the same few URLs; parsing each distinct short URL once
# saves the whole parse on every repeat. Long URLs are not cached, so the cache stays small.
_CACHEABLE_URL_LENGTH = 512
_parse_url_cached = lru_cache(maxsize=512)(parse_url)

# The type every URL() keyword must have (HTTPX's table); None always means "remove".
_KEYWORD_TYPES: dict[str, type] = {
    "scheme": str,
    "username": str,
    "password": str,
    "userinfo": bytes,
    "host": str,
    "port": int,
    "netloc": bytes,
    "path": str,
    "query": bytes,
    "raw_path": bytes,
    "fragment": str,
    "params": object,
}


def _query_from_params(params: Any) -> str | None:
    """The query for URL(params=...): it replaces the URL's query; empty params remove it."""
    if not params:
        return None
    return str(params if isinstance(params, QueryParams) else QueryParams(params))


def _replace_query(parts: URLParts, params: Any) -> URLParts:
    # Form encoding leaves nothing for the query encoder to do, and a query has no effect
    # on the other components: swap it in directly.
    query = _query_from_params(params)
    if query is not None and len(query) > MAX_URL_LENGTH:
        raise InvalidURL("URL component 'query' too long")
    return _new_parts(URLParts, (*parts[:5], query, parts[6]))


def _components_from_keywords(keywords: dict[str, Any]) -> dict[str, str | None]:
    """Type-check URL() keywords and turn them into text components for `_urlparse`."""
    components: dict[str, str | None] = {}
    for name, value in keywords.items():
        expected = _KEYWORD_TYPES.get(name)
        if expected is None:
            raise TypeError(f"{name!r} is an invalid keyword argument for URL()")
        if name == "params":
            continue
        if value is None:
            components[name] = None
            continue
        if not isinstance(value, expected) or isinstance(value, bool):
            raise TypeError(
                f"Argument {name!r} must be {expected.__name__} but got {type(value).__name__}"
            )
        if isinstance(value, bytes):
            try:
                value = value.decode("ascii")
            except UnicodeDecodeError:
                raise InvalidURL(f"URL component '{name}' must be ASCII bytes") from None
        components[name] = str(value)
    if "params" in keywords:
        components["query"] = _query_from_params(keywords["params"])
    return components


class URL:
    """A URL, parsed and normalised once; HTTPX's `httpx.URL`.

        url = URL("HTTPS://jo%40email.com:a%20secret@müller.de:1234/pa%20th?search=ab#anchor")
        url.scheme    == "https"
        url.username  == "jo@email.com"            url.password == "a secret"
        url.userinfo  == b"jo%40email.com:a%20secret"
        url.host      == "müller.de"               url.raw_host == b"xn--mller-kva.de"
        url.port      == 1234                      url.netloc   == b"xn--mller-kva.de:1234"
        url.path      == "/pa th"                  url.query    == b"search=ab"
        url.raw_path  == b"/pa%20th?search=ab"     url.fragment == "anchor"

    Components may be given (or replaced) by keyword: scheme, username, password,
    userinfo (bytes), host, port (int), netloc (bytes), path, query (bytes), raw_path
    (bytes), fragment, params. Bad input raises `InvalidURL`; a wrong keyword or type
    raises `TypeError`.
    """

    _parts: URLParts

    def __init__(self, url: URL | str = "", **kwargs: Any) -> None:
        if isinstance(url, str):
            if not kwargs or (len(kwargs) == 1 and "params" in kwargs):
                parts = _parse_url_cached(url) if len(url) <= _CACHEABLE_URL_LENGTH else None
                self._parts = parse_url(url) if parts is None else parts
                if kwargs:
                    # The query does not affect how the rest is parsed: replace it afterwards.
                    self._parts = _replace_query(self._parts, kwargs["params"])
            else:
                self._parts = parse_url_with_components(url, _components_from_keywords(kwargs))
        elif isinstance(url, URL):
            if len(kwargs) == 1 and "params" in kwargs:
                self._parts = _replace_query(url._parts, kwargs["params"])
            elif kwargs:
                components = _components_from_keywords(kwargs)
                self._parts = replace_components(url._parts, components)
            else:
                # Share the parsed form and every property already derived from it.
                self.__dict__.update(url.__dict__)
        else:
            raise TypeError(f"Invalid type for url. Expected str or URL, got {type(url)}: {url!r}")

    @classmethod
    def _from_parts(cls, parts: URLParts) -> URL:
        url = cls.__new__(cls)
        url._parts = parts
        return url

    @property
    def scheme(self) -> str:
        """The scheme, lower-case, such as "https"; "" for a relative URL."""
        return self._parts.scheme

    @_cached
    def raw_scheme(self) -> bytes:
        """The scheme as ASCII bytes, such as b"https"."""
        return self._parts.scheme.encode("ascii")

    @_cached
    def userinfo(self) -> bytes:
        """The userinfo as encoded bytes, such as b"jo%40email.com:a%20secret"."""
        return self._parts.userinfo.encode("ascii")

    @_cached
    def username(self) -> str:
        """The username, percent-decoded, such as "jo@email.com"."""
        return unquote(self._parts.userinfo.partition(":")[0])

    @_cached
    def password(self) -> str:
        """The password, percent-decoded, such as "a secret"."""
        return unquote(self._parts.userinfo.partition(":")[2])

    @_cached
    def host(self) -> str:
        """The host, lower-case, IDNA labels decoded to Unicode; IPv6 without brackets."""
        return decode_host(self._parts.host)

    @_cached
    def raw_host(self) -> bytes:
        """The host as ASCII bytes, IDNA-encoded; an IPv6 address without brackets."""
        return self._parts.host.encode("ascii")

    @property
    def port(self) -> int | None:
        """The port, or None when absent or the scheme's default (http 80, https 443, ...)."""
        return self._parts.port

    @_cached
    def netloc(self) -> bytes:
        """host[:port] as ASCII bytes (IPv6 in brackets): the value of a Host header."""
        return netloc(self._parts.host, self._parts.port).encode("ascii")

    @_cached
    def path(self) -> str:
        """The path, percent-decoded; "/" when empty."""
        return unquote(self._parts.path or "/")

    @_cached
    def query(self) -> bytes:
        """The query string as encoded bytes, without the "?"."""
        query = self._parts.query
        return query.encode("ascii") if query else b""

    @_cached
    def params(self) -> QueryParams:
        """The query parsed into an immutable `QueryParams`."""
        return QueryParams(self._parts.query)

    @_cached
    def raw_path(self) -> bytes:
        """Path and query as encoded bytes: the request target, such as b"/a%20b?x=1"."""
        path = self._parts.path or "/"
        query = self._parts.query
        return (path if query is None else f"{path}?{query}").encode("ascii")

    @_cached
    def fragment(self) -> str:
        """The fragment, percent-decoded, without the "#"."""
        fragment = self._parts.fragment
        return unquote(fragment) if fragment else ""

    @_cached
    def _origin(self) -> tuple[bytes, bytes, int]:
        """(scheme, host, port) for the transport: the port filled in with the scheme's
        default, or 0 for a scheme without one (which no transport can connect to)."""
        scheme, _, host, port, _, _, _ = self._parts
        if port is None:
            port = DEFAULT_PORTS.get(scheme, 0)
        return scheme.encode("ascii"), host.encode("ascii"), port

    @property
    def is_absolute_url(self) -> bool:
        """True when the URL has a scheme and a host, so that a request can be sent to it."""
        return bool(self._parts.scheme and self._parts.host)

    @property
    def is_relative_url(self) -> bool:
        return not self.is_absolute_url

    def copy_with(self, **kwargs: Any) -> URL:
        """A copy with the components given by keyword replaced (see the class docstring)."""
        return URL(self, **kwargs)

    def copy_set_param(self, key: str, value: Any = None) -> URL:
        return self.copy_with(params=self.params.set(key, value))

    def copy_add_param(self, key: str, value: Any = None) -> URL:
        return self.copy_with(params=self.params.add(key, value))

    def copy_remove_param(self, key: str) -> URL:
        return self.copy_with(params=self.params.remove(key))

    def copy_merge_params(self, params: QueryParamTypes) -> URL:
        return self.copy_with(params=self.params.merge(params))

    def join(self, url: URLTypes) -> URL:
        """Resolve `url` against this URL as the base (RFC 3986 §5.2)."""
        reference = url if isinstance(url, URL) else URL(url)
        return URL._from_parts(resolve_reference(self._parts, reference._parts))

    @_cached
    def _text(self) -> str:
        return unsplit(self._parts)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        userinfo = self._parts.userinfo
        if ":" in userinfo:
            text = unsplit(self._parts, userinfo.partition(":")[0] + ":[secure]")
        else:
            text = self._text
        return f"{type(self).__name__}({text!r})"

    def __hash__(self) -> int:
        return hash(self._text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL):
            return self._text == other._text
        if isinstance(other, str):
            if other == self._text:
                return True
            try:
                return self._text == URL(other)._text
            except InvalidURL:
                return False
        return NotImplemented


# ---------------------------------------------------------------------------------------------
# QueryParams
# ---------------------------------------------------------------------------------------------

# Form encoding leaves only these alone (what urllib.parse.urlencode, and so HTTPX, does).
_NOT_FORM_SAFE = re.compile("[^A-Za-z0-9_.~-]+")
_NOT_FORM_SAFE_OR_SPACE = re.compile("[^A-Za-z0-9_.~ -]")


def _form_encode_match(match: re.Match[str]) -> str:
    # Every "%" in the hex output starts an escape, so "%20" can only be an encoded space.
    return ("%" + match.group().encode("utf-8").hex("%").upper()).replace("%20", "+")


def _form_encode(text: str) -> str:
    """Encode one query key or value as an HTML form does (space -> "+", all else escaped)."""
    if _NOT_FORM_SAFE_OR_SPACE.search(text) is None:
        return text.replace(" ", "+")  # words separated by spaces: no escapes needed
    try:
        return _NOT_FORM_SAFE.sub(_form_encode_match, text)
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start]
        raise InvalidURL(
            f"Invalid character {char!r} in query parameters: "
            "a lone surrogate cannot be UTF-8 encoded."
        ) from None


def _form_urlencode(values_by_key: dict[str, list[str]]) -> str:
    """Serialise a multi-dict as `application/x-www-form-urlencoded`."""
    needs_encoding = _NOT_FORM_SAFE.search
    fields = []
    for key, values in values_by_key.items():
        if not (key.isalnum() and key.isascii()) and needs_encoding(key) is not None:
            key = _form_encode(key)
        for value in values:
            # isalnum() is a third of the cost of a regex search, and covers most values.
            if not (value.isalnum() and value.isascii()) and needs_encoding(value) is not None:
                value = _form_encode(value)
            fields.append(f"{key}={value}")
    return "&".join(fields)


def _parse_form_query(query: str) -> dict[str, list[str]]:
    """Parse a query string into {key: [values]}, keeping blank values (as HTTPX does)."""
    result: dict[str, list[str]] = {}
    for field in query.split("&"):
        if not field:
            continue
        key, _, value = field.partition("=")
        if "+" in field:
            key = key.replace("+", " ")
            value = value.replace("+", " ")
        key = unquote(key) if "%" in key else key
        value = unquote(value) if "%" in value else value
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


def _primitive_to_str(value: Any) -> str:
    # HTTPX's JSON-like spelling of non-string values.
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _dict_from_items(value: Mapping[Any, Any] | Iterable[Any]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    if type(value) is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                key = str(key)
            if type(item) is str:
                result[key] = [item]
            elif isinstance(item, (list, tuple)):
                if item:  # a key without values is no parameter at all
                    result[key] = [_primitive_to_str(one) for one in item]
            else:
                result[key] = [_primitive_to_str(item)]
        return result
    for pair in value:
        try:
            key, item = pair
        except (TypeError, ValueError):
            raise TypeError(f"QueryParams items must be (key, value) pairs, got {pair!r}") from None
        result.setdefault(str(key), []).append(_primitive_to_str(item))
    return result


class QueryParams(Mapping[str, str]):
    """An immutable multi-dict of query parameters; HTTPX's `httpx.QueryParams`.

    Built from a query string (str or bytes), a mapping (values may be lists or tuples),
    a sequence of (key, value) pairs, another QueryParams, or keyword arguments. Values
    True, False and None are spelled "true", "false" and "". Lookups give the first value
    of a key; `get_list` and `multi_items` give them all. `set`, `add`, `remove` and
    `merge` return new objects.
    """

    __slots__ = ("_dict", "_text")

    # Invariant: every key maps to a non-empty list, and the lists are never mutated, so
    # instances can share them.
    _dict: dict[str, list[str]]
    _text: str | None

    def __init__(self, *args: QueryParamTypes | None, **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError("QueryParams() takes at most one positional argument")
        if args and kwargs:
            raise TypeError("QueryParams() takes a positional argument or keywords, not both")
        value = args[0] if args else kwargs
        self._text = None
        if value is None:
            self._dict = {}
        elif isinstance(value, str):
            self._dict = _parse_form_query(value)
        elif isinstance(value, bytes):
            self._dict = _parse_form_query(value.decode("utf-8", "replace"))
        elif isinstance(value, QueryParams):
            self._dict = value._dict
            self._text = value._text
        else:
            self._dict = _dict_from_items(value)

    @classmethod
    def _from_dict(cls, values: dict[str, list[str]]) -> QueryParams:
        params = cls.__new__(cls)
        params._dict = values
        params._text = None
        return params

    def keys(self) -> KeysView[str]:
        return self._dict.keys()

    def values(self) -> ValuesView[str]:
        """The first value of each key."""
        return {key: values[0] for key, values in self._dict.items()}.values()

    def items(self) -> ItemsView[str, str]:
        """(key, first value) for each key."""
        return {key: values[0] for key, values in self._dict.items()}.items()

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (key, value) pair, repeated keys included, in order."""
        return [(key, value) for key, values in self._dict.items() for value in values]

    def get(self, key: Any, default: Any = None) -> Any:
        """The first value of `key`, or `default`."""
        values = self._dict.get(key)
        return values[0] if values else default

    def get_list(self, key: str) -> list[str]:
        """Every value of `key`, in order."""
        return list(self._dict.get(str(key), ()))

    def set(self, key: str, value: Any = None) -> QueryParams:
        """A copy in which `key` has the single value `value`."""
        values = dict(self._dict)
        values[str(key)] = [_primitive_to_str(value)]
        return QueryParams._from_dict(values)

    def add(self, key: str, value: Any = None) -> QueryParams:
        """A copy with `value` appended to the values of `key`."""
        values = dict(self._dict)
        values[str(key)] = [*values.get(str(key), ()), _primitive_to_str(value)]
        return QueryParams._from_dict(values)

    def remove(self, key: str) -> QueryParams:
        """A copy without `key`."""
        values = dict(self._dict)
        values.pop(str(key), None)
        return QueryParams._from_dict(values)

    def merge(self, params: QueryParamTypes | None = None) -> QueryParams:
        """A copy in which each key of `params` replaces that key's values."""
        return QueryParams._from_dict({**self._dict, **QueryParams(params)._dict})

    def __getitem__(self, key: str) -> str:
        return self._dict[key][0]

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __bool__(self) -> bool:
        return bool(self._dict)

    def __hash__(self) -> int:
        # Equality ignores order, so the hash must too.
        return hash(tuple(sorted(self.multi_items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams):
            return False
        if self._dict == other._dict:
            return True
        return sorted(self.multi_items()) == sorted(other.multi_items())

    def __str__(self) -> str:
        """The query string, encoded as an HTML form does: "a=b+c&d=e%2Ff"."""
        text = self._text
        if text is None:
            text = self._text = _form_urlencode(self._dict)
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def update(self, params: QueryParamTypes | None = None) -> None:
        raise RuntimeError(
            "QueryParams are immutable. Use `q = q.merge(...)` to create an updated copy."
        )

    def __setitem__(self, key: str, value: str) -> None:
        raise RuntimeError(
            "QueryParams are immutable. Use `q = q.set(key, value)` to create an updated copy."
        )
