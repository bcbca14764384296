"""URL parsing, percent-encoding, normalisation and validation. No public classes.

A URL is split by the five-part grammar of RFC 3986 (Appendix B), each component is
percent-encoded with its own WHATWG encode set (https://url.spec.whatwg.org/#percent-encoded-bytes),
and the result is stored as `URLParts`: canonical ASCII strings from which `zephyr.URL` derives
every property. Parsing is linear in the length of the input: no regular expression here has
nested or overlapping repetition (each run of a character class ends at a character the next
part cannot start with), so none can backtrack more than a bounded amount.

Where HTTPX has a rule, this module follows it (lower-cased scheme and host, dropped default
port, dot segments removed once there is a scheme or an authority, error messages); where
HTTPX leaves a gap that matters for safety, we are stricter: stray `%` is escaped as `%25`,
ports must be ASCII digits in 0-65535, IDNA input is bounded before `idna` sees it
(CVE-2024-3651), authority characters that NFKC-normalise to a delimiter are refused
(CVE-2019-9636), and a relative path that would read back as a scheme is refused.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeAlias

from ._exceptions import InvalidURL

MAX_URL_LENGTH = 65_536

# https://url.spec.whatwg.org/#url-miscellaneous
DEFAULT_PORTS: Mapping[str, int] = {"ftp": 21, "http": 80, "https": 443, "ws": 80, "wss": 443}

# RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 octets on the wire, which
# is 253 characters in text form (254 with the root's trailing dot).
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63


class URLParts(NamedTuple):
    """The canonical form of a URL: every field is already encoded and normalised."""

    scheme: str  # lower-case; "" when absent
    userinfo: str  # percent-encoded; "" when absent
    host: str  # ASCII (IDNA-encoded), lower-case; IPv6 without brackets; "" when absent
    port: int | None  # None when absent or equal to the scheme's default
    path: str  # percent-encoded; dot segments removed when there is a scheme or authority
    query: str | None  # percent-encoded; None when there is no "?"
    fragment: str | None  # percent-encoded; None when there is no "#"


# ---------------------------------------------------------------------------------------------
# Percent-encoding
# ---------------------------------------------------------------------------------------------

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SUB_DELIMS = "!$&'()*+,;="


def _printable_ascii_except(excluded: str) -> str:
    # The WHATWG sets are "C0 controls, space, non-ASCII, plus these": start from the printable
    # ASCII range (0x21-0x7E) and take the extra characters out.
    return "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in excluded)


FRAGMENT_SAFE = _printable_ascii_except('"<>`')
QUERY_SAFE = _printable_ascii_except('"#<>')
PATH_SAFE = _printable_ascii_except('"#<>?`{}')
# The userinfo set keeps ":" because it separates username from password; each of those on
# its own (given as keyword arguments) is encoded with ":" escaped.
USERINFO_SAFE = _printable_ascii_except('"#<>?`{}/;=@[\\]^|')
USERINFO_PART_SAFE = USERINFO_SAFE.replace(":", "")
# A registered name (RFC 3986 §3.2.2) is unreserved / sub-delims / pct-encoded; like HTTPX we
# also pass through the few characters that browsers leave alone in a host.
HOST_SAFE = _UNRESERVED + _SUB_DELIMS + '"`{}|\\'

_PERCENT_ESCAPE = re.compile("%[0-9A-Fa-f]{2}")
_NON_PRINTABLE_ASCII = re.compile("[\x00-\x1f\x7f]")
_SCHEME = re.compile("[A-Za-z][A-Za-z0-9+.-]*")
# RFC 3986 Appendix B, with HTTPX's scheme rule (valid or empty). Each group is one
# character-class run ending at a delimiter the next group cannot start with, so matching is
# linear; and it always matches the whole string.
_URL_GRAMMAR = re.compile(
    r"(?:([A-Za-z][A-Za-z0-9+.-]*|):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.S
)
# Characters that some component may need to encode (or refuse): everything but printable
# ASCII, plus the few printable characters outside the path, query and fragment safe sets,
# plus "%" (escapes must be checked). A URL without any needs no encoding pass at all.
_MAY_NEED_ENCODING = re.compile("[^" + re.escape(_printable_ascii_except('"<>`{}%')) + "]")
# A host that is already canonical: lower-case letters, digits, dots and hyphens.
_PLAIN_HOST = re.compile("[a-z0-9.-]+")
# The HTTPX rule: four dot-separated runs of ASCII digits are an IPv4 literal, anything else
# is a registered name. A valid one has four RFC 3986 dec-octets: 0-255, no leading zeros
# (which some resolvers read as octal).
_IPV4_SHAPED = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}")
# The four dots `idna` splits labels on (UTS #46 §2.3).
_LABEL_SEPARATORS = re.compile("[.\u3002\uff0e\uff61]")


def _percent_encode_match(match: re.Match[str]) -> str:
    run = match.group()
    if run == "%":
        # A "%" that does not start a valid escape is data, not an escape.
        return "%25"
    # bytes.hex with a separator does the whole run in C: b"\xe2\x9c" -> "e2%9c".
    return "%" + run.encode("utf-8").hex("%").upper()


def _make_encoder(safe: str) -> Callable[[str], str]:
    """Return a function that percent-encodes every character outside `safe`.

    Valid `%XX` escapes are kept as they are; a stray `%` becomes `%25`.
    """
    needs_encoding = re.compile(f"[^{re.escape(safe)}%]+|%(?![0-9A-Fa-f]{{2}})")
    search = needs_encoding.search
    substitute = needs_encoding.sub

    def encode(text: str) -> str:
        match = search(text)
        if match is None:
            return text  # the common case: already canonical, no copy
        start = match.start()
        try:
            return text[:start] + substitute(_percent_encode_match, text[start:])
        except UnicodeEncodeError as exc:
            char = exc.object[exc.start]
            raise InvalidURL(
                f"Invalid character {char!r} in URL: a lone surrogate cannot be UTF-8 encoded."
            ) from None

    return encode


encode_fragment = _make_encoder(FRAGMENT_SAFE)
encode_query = _make_encoder(QUERY_SAFE)
encode_path = _make_encoder(PATH_SAFE)
encode_userinfo = _make_encoder(USERINFO_SAFE)
encode_userinfo_part = _make_encoder(USERINFO_PART_SAFE)
_encode_host_chars = _make_encoder(HOST_SAFE)


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


def _shorten(text: str, limit: int = 80) -> str:
    """repr() of `text`, cut short so that a hostile 60 KiB input makes a readable message."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} characters)"


def check_printable(text: str, component: str | None = None) -> None:
    """Refuse ASCII control characters (CR, LF, NUL, TAB, DEL, ...): never encode them away."""
    match = _NON_PRINTABLE_ASCII.search(text)
    if match is not None:
        where = "URL" if component is None else f"URL {component} component"
        raise InvalidURL(
            f"Invalid non-printable ASCII character in {where}, "
            f"{match.group()!r} at position {match.start()}."
        )


_DELIMITER_REMOVAL = str.maketrans("", "", "/?#@:")


def _reject_nfkc_delimiters(text: str) -> None:
    """Refuse authority text that another parser would split differently (CVE-2019-9636).

    A client that NFKC-normalises the authority (as IDNA processing does) would turn, say,
    U+FF03 FULLWIDTH NUMBER SIGN into "#" and see a different host than we do.
    """
    if text.isascii():
        return
    # The real delimiters are already handled by the parse; only look at what NFKC creates.
    stripped = text.translate(_DELIMITER_REMOVAL)
    normalized = unicodedata.normalize("NFKC", stripped)
    if normalized == stripped or not any(delim in normalized for delim in "/?#@:"):
        return
    for char in stripped:
        if not char.isascii():
            becomes = unicodedata.normalize("NFKC", char)
            if any(delim in becomes for delim in "/?#@:"):
                raise InvalidURL(
                    f"Invalid character {char!r} in URL authority: under NFKC normalization "
                    f"it becomes {becomes!r}, a URL delimiter."
                )
    # Normalisation of a sequence (not of any single character) produced a delimiter.
    raise InvalidURL(
        f"Invalid URL authority {_shorten(text)}: it contains a URL delimiter under NFKC "
        "normalization."
    )


def validate_path(path: str, *, has_scheme: bool, has_authority: bool) -> None:
    """Path rules that depend on the rest of the URL (RFC 3986 §3.3)."""
    if has_authority:
        # "If a URI contains an authority component, then the path component must either be
        # empty or begin with a slash."
        if path and path[0] != "/":
            raise InvalidURL("For absolute URLs, path must be empty or begin with '/'")
    elif not has_scheme:
        # Without an authority a path cannot begin with "//" (it would read as one), and the
        # first segment of a relative reference cannot contain a ":" that would make it read
        # as a scheme (RFC 3986 §4.2).
        if path.startswith("//"):
            raise InvalidURL("Relative URLs cannot have a path starting with '//'")
        if path.startswith(":"):
            raise InvalidURL("Relative URLs cannot have a path starting with ':'")
        first_segment = path.partition("/")[0]
        colon = first_segment.find(":")
        if colon > 0 and _SCHEME.fullmatch(first_segment[:colon]):
            raise InvalidURL(
                f"Relative URLs cannot have a first path segment like {path[: colon + 1]!r}: "
                "it would read as a scheme"
            )


def remove_dot_segments(path: str) -> str:
    """Resolve "." and ".." segments (RFC 3986 §5.2.4), in one pass over the segments."""
    # A dot segment starts the path or follows a "/": most paths have neither.
    if "/." not in path and not path.startswith("."):
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == "..":
            # Never pop the empty first segment of an absolute path: "/.." is "/".
            if output and (len(output) > 1 or output[0] != ""):
                output.pop()
        elif segment != ".":
            output.append(segment)
    if segments[-1] in (".", ".."):
        # "a/b/.." names the directory "a/", so the result keeps its trailing slash.
        output.append("")
    return "/".join(output)


# ---------------------------------------------------------------------------------------------
# Host and port
# ---------------------------------------------------------------------------------------------


def _uppercase_escape(match: re.Match[str]) -> str:
    return match.group().upper()


def _encode_ipv6(host: str) -> str:
    inner = host[1:-1]
    address, has_zone, zone = inner.partition("%")
    # RFC 6874: a zone identifier is unreserved characters; anything else would let delimiters
    # into the netloc.
    valid_zone = not has_zone or (zone != "" and all(char in _UNRESERVED for char in zone))
    import ipaddress  # only IPv6 literals need it

    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        valid_zone = False
    if not valid_zone:
        raise InvalidURL(f"Invalid IPv6 address: {_shorten(host)}")
    return address.lower() + has_zone + zone


def _encode_idna(host: str) -> str:
    # Bound the input before `idna` sees it (CVE-2024-3651: quadratic work on huge labels).
    # An A-label is never shorter than its Unicode form, so these limits reject nothing valid.
    limit = MAX_HOST_LENGTH + 1 if host.endswith(".") else MAX_HOST_LENGTH
    too_long = len(host) > limit or any(
        len(label) > MAX_LABEL_LENGTH for label in _LABEL_SEPARATORS.split(host)
    )
    if too_long:
        raise InvalidURL(
            f"Invalid IDNA hostname: {_shorten(host)} (a DNS name is at most {MAX_HOST_LENGTH} "
            f"characters, a label at most {MAX_LABEL_LENGTH})"
        )
    import idna  # only non-ASCII hosts need it

    try:
        return idna.encode(host.lower()).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidURL(f"Invalid IDNA hostname: {_shorten(host)}") from None


def encode_host(host: str) -> str:
    """Validate and encode a host: IPv4, [IPv6], ASCII registered name, or IDNA name."""
    if not host:
        return ""
    if _PLAIN_HOST.fullmatch(host) is not None:
        # The common case: a lower-case DNS name, or an IPv4 literal (only these have the
        # digits-and-dots shape of one).
        if host[-1].isdigit() and _IPV4_SHAPED.fullmatch(host) and not _IPV4.fullmatch(host):
            raise InvalidURL(f"Invalid IPv4 address: {_shorten(host)}")
        return host
    if host[0] == "[" and host[-1] == "]" and len(host) > 1:
        return _encode_ipv6(host)
    if not host.isascii():
        _reject_nfkc_delimiters(host)
        return _encode_idna(host)
    encoded = _encode_host_chars(host.lower())
    if "%" in encoded:
        # Keep the host idempotent under re-parsing: escapes in upper case (RFC 3986 §6.2.2.1).
        encoded = _PERCENT_ESCAPE.sub(_uppercase_escape, encoded)
    return encoded


def decode_host(host: str) -> str:
    """The Unicode form of an encoded host: each valid "xn--" label decoded, others kept."""
    if "xn--" not in host or len(host) > MAX_HOST_LENGTH + 1:
        return host
    import idna  # only IDNA hosts need it

    labels = host.split(".")
    for index, label in enumerate(labels):
        if label.startswith("xn--") and len(label) <= MAX_LABEL_LENGTH:
            # A label that is not valid punycode is shown as it is on the wire.
            with contextlib.suppress(idna.IDNAError, UnicodeError, ValueError):
                labels[index] = idna.decode(label)
    return ".".join(labels)


def normalize_port(port: str | None, scheme: str) -> int | None:
    """Parse a port and drop it when it is the scheme's default (RFC 3986 §3.2.3)."""
    if not port:
        return None
    if not (port.isascii() and port.isdigit()):
        raise InvalidURL(f"Invalid port: {_shorten(port)}")
    # Strip leading zeros before int(): a 60 KiB run of digits must stay cheap.
    digits = port.lstrip("0") or "0"
    if len(digits) > 5 or int(digits) > 65535:
        raise InvalidURL(f"Invalid port: {_shorten(port)} (a port is a number from 0 to 65535)")
    number = int(digits)
    return None if DEFAULT_PORTS.get(scheme) == number else number


# ---------------------------------------------------------------------------------------------
# Splitting and assembling
# ---------------------------------------------------------------------------------------------

# (scheme, userinfo, host, port, path, query, fragment) before encoding; host keeps IPv6
# brackets, port is text.
RawComponents: TypeAlias = tuple[str, str, str, str | None, str, str | None, str | None]

_new_parts = tuple.__new__  # URLParts(...) without the NamedTuple's Python-level __new__


def split_authority(authority: str) -> tuple[str, str, str | None]:
    """Split an authority into (userinfo, host, port). The last "@" ends the userinfo."""
    at = authority.rfind("@")
    userinfo = authority[:at] if at >= 0 else ""
    host_and_port = authority[at + 1 :]
    if host_and_port.startswith("["):
        close = host_and_port.rfind("]")
        if close > 0:
            rest = host_and_port[close + 1 :]
            port = rest[1:] if rest[:1] == ":" else rest or None
            return userinfo, host_and_port[: close + 1], port
    host, has_port, port = host_and_port.partition(":")
    return userinfo, host, port if has_port else None


def split_url(url: str) -> RawComponents:
    """Split a URL into raw components by the RFC 3986 Appendix B grammar."""
    match = _URL_GRAMMAR.match(url)
    assert match is not None  # every string matches the grammar
    scheme, authority, path, query, fragment = match.groups()
    if authority:
        userinfo, host, port = split_authority(authority)
        return scheme or "", userinfo, host, port, path, query, fragment
    return scheme or "", "", "", None, path, query, fragment


def assemble(
    scheme: str,
    userinfo: str,
    host: str,
    port: int | None,
    path: str,
    query: str | None,
    fragment: str | None,
) -> URLParts:
    """Build URLParts from already-encoded components: validate and normalise the path."""
    if userinfo or host or port is not None:
        if path and path[0] != "/":
            validate_path(path, has_scheme=bool(scheme), has_authority=True)
        path = remove_dot_segments(path)
    elif scheme:
        path = remove_dot_segments(path)
    elif path[:1] == "/" or ":" in path:
        validate_path(path, has_scheme=False, has_authority=False)
    return _new_parts(URLParts, (scheme, userinfo, host, port, path, query, fragment))


def encode_components(raw: RawComponents) -> URLParts:
    """Encode and normalise raw components into the canonical URLParts."""
    scheme, userinfo, host, port, path, query, fragment = raw
    scheme = scheme.lower()
    if not userinfo.isascii():
        _reject_nfkc_delimiters(userinfo)
    return assemble(
        scheme,
        encode_userinfo(userinfo),
        encode_host(host),
        normalize_port(port, scheme),
        encode_path(path),
        None if query is None else encode_query(query),
        None if fragment is None else encode_fragment(fragment),
    )


def parse_url(url: str) -> URLParts:
    """Parse a URL string; InvalidURL is the only exception this raises."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    if _MAY_NEED_ENCODING.search(url) is not None:
        check_printable(url)
        return encode_components(split_url(url))
    # Fast path: printable ASCII with nothing to escape in path, query or fragment, so only
    # the authority needs work.
    match = _URL_GRAMMAR.match(url)
    assert match is not None  # every string matches the grammar
    scheme, authority, path, query, fragment = match.groups()
    scheme = scheme.lower() if scheme else ""
    if not authority:
        return assemble(scheme, "", "", None, path, query, fragment)
    userinfo, host, port = split_authority(authority)
    return assemble(
        scheme,
        encode_userinfo(userinfo) if userinfo else "",
        encode_host(host),
        normalize_port(port, scheme) if port else None,
        path,
        query,
        fragment,
    )


def _component_is_well_formed(name: str, value: str) -> bool:
    # A component given on its own must not contain the delimiter that would end it: the
    # URL would otherwise change shape when serialised and parsed again (CVE-2021-41945).
    if name == "scheme":
        return not value or _SCHEME.fullmatch(value) is not None
    if name == "path":
        return "?" not in value and "#" not in value
    if name == "query":
        return "#" not in value
    if name == "userinfo":
        return "@" not in value
    return True


def _expand_components(components: Mapping[str, str | None]) -> dict[str, str | None]:
    """Check keyword components and rewrite the derived ones, in HTTPX's order:
    netloc -> host/port, username/password -> userinfo, raw_path -> path/query."""
    for name, value in components.items():
        if value is not None:
            if len(value) > MAX_URL_LENGTH:
                raise InvalidURL(f"URL component '{name}' too long")
            check_printable(value, name)
    given = dict(components)
    if "netloc" in given:
        userinfo, host, port = split_authority(given.pop("netloc") or "")
        if userinfo or "@" in host:
            raise InvalidURL("Invalid URL component 'netloc'")
        given["host"], given["port"] = host, port
    if "username" in given or "password" in given:
        username = given.pop("username", None) or ""
        password = given.pop("password", None) or ""
        _reject_nfkc_delimiters(username)
        _reject_nfkc_delimiters(password)
        username = encode_userinfo_part(username)
        password = encode_userinfo_part(password)
        given["userinfo"] = f"{username}:{password}" if password else username
    if "raw_path" in given:
        path, has_query, query = (given.pop("raw_path") or "").partition("?")
        given["path"], given["query"] = path, query if has_query else None
    given_host = given.get("host")
    if given_host and ":" in given_host and not (given_host[0] == "[" and given_host[-1] == "]"):
        given["host"] = f"[{given_host}]"  # an IPv6 address given without brackets
    for name, value in given.items():
        if value is not None and not _component_is_well_formed(name, value):
            raise InvalidURL(f"Invalid URL component '{name}'")
    return given


def parse_url_with_components(url: str, components: Mapping[str, str | None]) -> URLParts:
    """Parse `url`, replacing the components given by keyword before anything is encoded.

    `components` holds text keyed by the URL() keyword names (bytes already decoded, port
    as digits); None removes a component.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    check_printable(url)
    given = _expand_components(components)
    scheme, userinfo, host, port, path, query, fragment = split_url(url)
    return encode_components(
        (
            (given["scheme"] or "") if "scheme" in given else scheme,
            (given["userinfo"] or "") if "userinfo" in given else userinfo,
            (given["host"] or "") if "host" in given else host,
            given.get("port", port),
            (given["path"] or "") if "path" in given else path,
            given.get("query", query),
            given.get("fragment", fragment),
        )
    )


def replace_components(parts: URLParts, components: Mapping[str, str | None]) -> URLParts:
    """A copy of `parts` with the components given by keyword replaced (URL.copy_with).

    Only the given components are encoded: the others are canonical already.
    """
    given = _expand_components(components)
    scheme, userinfo, host, port, path, query, fragment = parts
    if "scheme" in given:
        scheme = (given["scheme"] or "").lower()
    if "userinfo" in given:
        userinfo = given["userinfo"] or ""
        _reject_nfkc_delimiters(userinfo)
        userinfo = encode_userinfo(userinfo)
    if "host" in given:
        host = encode_host(given["host"] or "")
    if "port" in given:
        port = normalize_port(given["port"], scheme)
    elif port is not None and port == DEFAULT_PORTS.get(scheme):
        port = None  # the new scheme's default
    if "path" in given:
        path = encode_path(given["path"] or "")
    if "query" in given:
        query = given["query"]
        query = None if query is None else encode_query(query)
    if "fragment" in given:
        fragment = given["fragment"]
        fragment = None if fragment is None else encode_fragment(fragment)
    return assemble(scheme, userinfo, host, port, path, query, fragment)


def unsplit(parts: URLParts, userinfo: str | None = None) -> str:
    """Serialise URLParts; `userinfo` replaces the stored one (for a masked repr)."""
    scheme, stored_userinfo, host, port, path, query, fragment = parts
    if userinfo is None:
        userinfo = stored_userinfo
    pieces = [scheme, ":"] if scheme else []
    authority = netloc(host, port)
    if userinfo:
        authority = userinfo + "@" + authority
    # An empty authority before a path that starts with "//" must stay visible, or the path's
    # first segment would read as a host when the string is parsed again.
    if authority or path.startswith("//"):
        pieces += ["//", authority]
    pieces.append(path)
    if query is not None:
        pieces += ["?", query]
    if fragment is not None:
        pieces += ["#", fragment]
    return "".join(pieces)


def netloc(host: str, port: int | None) -> str:
    """host[:port], with an IPv6 host in brackets."""
    text = f"[{host}]" if ":" in host else host
    return text if port is None else f"{text}:{port}"


def resolve_reference(base: URLParts, ref: URLParts) -> URLParts:
    """Resolve `ref` against `base` (RFC 3986 §5.2.2, strict: a scheme makes it absolute)."""
    if ref.scheme:
        return ref  # already normalised when it was parsed
    scheme = base.scheme
    if ref.userinfo or ref.host or ref.port is not None:
        # The default port depends on the scheme, which only now is known.
        port = None if ref.port == DEFAULT_PORTS.get(scheme) else ref.port
        return assemble(scheme, ref.userinfo, ref.host, port, ref.path, ref.query, ref.fragment)
    if not ref.path:
        path = base.path
        query = base.query if ref.query is None else ref.query
    else:
        if ref.path.startswith("/"):
            path = ref.path
        elif (base.userinfo or base.host or base.port is not None) and not base.path:
            path = "/" + ref.path  # §5.2.3, merge with an empty base path
        else:
            path = base.path[: base.path.rfind("/") + 1] + ref.path
        path = remove_dot_segments(path)
        query = ref.query
    return assemble(scheme, base.userinfo, base.host, base.port, path, query, ref.fragment)
