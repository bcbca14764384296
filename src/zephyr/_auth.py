"""Authentication as sans-I/O flows: HTTPX's `Auth` API, with Digest done in full.

An `Auth` is a generator that yields requests and receives their responses:

    response = yield request            # send this, give me what came back
    request.headers[...] = ...          # answer a challenge
    response = yield request            # and send again

`Client` and `AsyncClient` drive the same generator through `sync_auth_flow` and
`async_auth_flow`, which only add the body reads that `requires_request_body` and
`requires_response_body` ask for: the policy is written once, for both colours.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import quote

from ._challenges import Challenge, parse_challenges
from ._cookies import Cookies
from ._exceptions import LocalProtocolError, ProtocolError, RemoteProtocolError, RequestNotRead
from ._models import Request, Response

__all__ = [
    "Auth",
    "AuthTypes",
    "BasicAuth",
    "BearerAuth",
    "DigestAuth",
    "FunctionAuth",
    "NetRCAuth",
    "build_auth",
]


class Auth:
    """The base class of authentication schemes; subclass it and write `auth_flow`.

    Set `requires_request_body` when the flow needs `request.content` (for signing it), and
    `requires_response_body` when it needs `response.content`: the driver reads them first.
    """

    requires_request_body: bool = False
    requires_response_body: bool = False

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Yield each request to send; receive its response. The last response is the result."""
        yield request

    def sync_auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """`auth_flow`, with bodies read synchronously where the flags ask for them."""
        if self.requires_request_body:
            request.read()
        flow = self.auth_flow(request)
        try:
            next_request = next(flow)
            while True:
                response = yield next_request
                if self.requires_response_body:
                    response.read()
                try:
                    next_request = flow.send(response)
                except StopIteration:
                    return
        finally:
            # The driver may abandon us (an exception, a cancellation): end the inner flow now
            # rather than whenever the garbage collector gets to it.
            flow.close()

    async def async_auth_flow(self, request: Request) -> AsyncGenerator[Request, Response]:
        """`auth_flow`, with bodies read asynchronously where the flags ask for them."""
        if self.requires_request_body:
            await request.aread()
        flow = self.auth_flow(request)
        try:
            next_request = next(flow)
            while True:
                response = yield next_request
                if self.requires_response_body:
                    await response.aread()
                try:
                    next_request = flow.send(response)
                except StopIteration:
                    return
        finally:
            flow.close()


class FunctionAuth(Auth):
    """Authentication by a function that takes the request and returns it, modified."""

    def __init__(self, func: Callable[[Request], Request]) -> None:
        self._func = func

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        yield self._func(request)


def _credential_bytes(value: str | bytes, what: str) -> bytes:
    # UTF-8, as HTTPX encodes: RFC 7617 §2.1 and RFC 7616 §4 define no charset but UTF-8. A
    # server wanting ISO-8859-1 (or anything else) gets the bytes it wants when given bytes.
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"The {what} must be str or bytes, not {type(value).__name__}.")


class BasicAuth(Auth):
    """HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(user:password)`."""

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        user_id = _credential_bytes(username, "username")
        if b":" in user_id:
            # RFC 7617 §2: "a user-id containing a colon character is invalid" -- the server
            # splits at the first colon, so it would check a different user and password.
            raise ValueError("A Basic auth username cannot contain a colon (RFC 7617 §2).")
        token = base64.b64encode(user_id + b":" + _credential_bytes(password, "password"))
        self._auth_header = "Basic " + token.decode("ascii")

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        request.headers["Authorization"] = self._auth_header
        yield request


# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_match_b64token = re.compile(r"[A-Za-z0-9\-._~+/]+=*").fullmatch
_B64TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
_CONTROL_NAMES = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\x00": "a NUL"}


def _bearer_token_problem(token: str) -> str:
    """Why `token` is not an RFC 6750 b64token -- without quoting the secret itself."""
    if not token:
        return "it is empty"
    padding_from = len(token.rstrip("="))
    for position, char in enumerate(token):
        if char in _B64TOKEN_CHARS or (char == "=" and position >= padding_from):
            continue
        if char in _CONTROL_NAMES:
            hint = (
                " (a trailing newline from a file? strip() it)"
                if position >= len(token) - 2
                else ""
            )
            return f"it contains {_CONTROL_NAMES[char]} at position {position}{hint}"
        if char == "=":
            return f"it contains '=' at position {position}, where only trailing padding may be"
        return f"it contains the character U+{ord(char):04X} at position {position}"
    raise AssertionError("unreachable: the token matched no rule")  # pragma: no cover


class BearerAuth(Auth):
    """OAuth 2.0 bearer tokens (RFC 6750 §2.1): `Authorization: Bearer <token>`."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str):
            raise TypeError(f"A bearer token must be a str, not {type(token).__name__}.")
        if _match_b64token(token) is None:
            # Refused here, not at send time: a CR or LF would let the token write headers of
            # its own (RELIABILITY.md item 6), and anything else outside b64token is a token
            # the server cannot parse. The message never quotes the token: it is a secret.
            raise ValueError(
                f"Invalid bearer token: {_bearer_token_problem(token)}. RFC 6750 §2.1 allows "
                "only letters, digits and - . _ ~ + /, then optional '=' padding."
            )
        self._auth_header = "Bearer " + token

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        request.headers["Authorization"] = self._auth_header
        yield request


class NetRCAuth(Auth):
    """Basic credentials from a netrc file (default `~/.netrc`), for the host contacted.

    The file is read once, here; a missing file raises FileNotFoundError and a malformed one
    `netrc.NetrcParseError`, as with HTTPX. A request to a host with no entry (and no
    `default` entry) is sent unchanged.
    """

    def __init__(self, file: str | os.PathLike[str] | None = None) -> None:
        import netrc  # only the users of this class pay for the import

        hosts = netrc.netrc(None if file is None else os.fspath(file)).hosts
        # Host names are case-insensitive (RFC 4343); the stdlib matches them exactly.
        self._credentials = {
            machine.lower(): (login, password)
            for machine, (login, _account, password) in hosts.items()
        }

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        # The host the transport will connect to, from the one parsed URL: a host read from
        # the URL by a second, different parser is how requests leaked credentials
        # (CVE-2024-47081; RELIABILITY.md item 5). Both spellings of an IDNA host are tried.
        url = request.url
        credentials = self._credentials.get(url.host)  # already lower-cased by URL
        if credentials is None:
            credentials = self._credentials.get(url.raw_host.decode("ascii").lower())
        if credentials is None:
            credentials = self._credentials.get("default")  # netrc's "any other host" entry
        # An entry without a password names the host's login but authorises nothing (HTTPX
        # sends nothing for it either); it still stops the `default` entry from applying.
        if credentials is not None and credentials[1]:
            login, password = credentials
            request.headers["Authorization"] = BasicAuth(login, password)._auth_header
        yield request


# -- Digest (RFC 7616) -----------------------------------------------------------------------

# Algorithm (upper-cased, without "-sess") -> hashlib name. "SHA" (SHA-1) is in no RFC, but
# HTTPX accepts it and servers exist that send it.
_DIGEST_HASHES = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}
if "sha512_256" in hashlib.algorithms_available:  # pragma: no branch -- OpenSSL-dependent
    _DIGEST_HASHES["SHA-512-256"] = "sha512_256"
_SUPPORTED_ALGORITHMS = ", ".join(f"{name}, {name}-sess" for name in _DIGEST_HASHES)
_SUPPORTED_QOPS = frozenset(("auth", "auth-int"))

# Nonces whose use count we keep; old ones are dropped, which only resets a count to 1.
_COUNTED_NONCES_LIMIT = 32
# Origins whose last accepted challenge we keep for pre-emptive authorisation.
_REMEMBERED_ORIGINS_LIMIT = 32
# A quoted-string holds HTAB, SP, VCHAR and obs-text (RFC 9110 §5.6.4); other controls must go
# in `username*` instead (RFC 7616 §3.4.4).
_search_unquotable = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search

_Origin: TypeAlias = tuple[bytes, bytes, int]


@dataclass(frozen=True, slots=True)
class _DigestChallenge:
    realm: str
    nonce: str
    algorithm: str | None  # as the server spelled it; None when absent (MD5, RFC 7616 §3.3)
    hash_name: str
    session: bool
    qops: frozenset[str]  # empty: an RFC 2069 challenge without qop
    opaque: str | None
    stale: bool
    userhash: bool


def _digest_hash(hash_name: str, data: bytes) -> str:
    return hashlib.new(hash_name, data).hexdigest()


def _read_digest_challenge(challenge: Challenge) -> _DigestChallenge:
    """The challenge's Digest parameters, or RemoteProtocolError saying why they are unusable.

    RemoteProtocolError, because the fault lies in what the server sent: a challenge RFC 7616
    §3.3 forbids, or one that asks for what we cannot do. It is a ProtocolError, which is what
    HTTPX raises for a malformed Digest challenge, so `except httpx.ProtocolError` still works.
    """
    if challenge.error is not None:
        raise RemoteProtocolError(f"Malformed Digest challenge: {challenge.error}.")
    params = challenge.params
    for required in ("realm", "nonce"):
        if required not in params:
            raise RemoteProtocolError(
                f"The Digest challenge has no {required!r} parameter, which RFC 7616 §3.3 requires."
            )
    algorithm = params.get("algorithm")
    name = (algorithm or "MD5").upper()
    session = name.endswith("-SESS")
    hash_name = _DIGEST_HASHES.get(name.removesuffix("-SESS"))
    if hash_name is None:
        raise RemoteProtocolError(
            f"The Digest challenge asks for algorithm {algorithm!r}, which zephyr does not "
            f"support (it supports {_SUPPORTED_ALGORITHMS})."
        )
    qops: frozenset[str] = frozenset()
    if "qop" in params:
        offered = {qop.strip().lower() for qop in params["qop"].split(",")}
        qops = frozenset(offered & _SUPPORTED_QOPS)
        if not qops:
            raise RemoteProtocolError(
                f"The Digest challenge offers qop {params['qop']!r}; zephyr supports only "
                "'auth' and 'auth-int'."
            )
    elif session:
        # A -sess A1 hashes the cnonce (RFC 7616 §3.4.2), which is sent only with a qop.
        raise RemoteProtocolError(
            f"The Digest challenge asks for algorithm {algorithm!r} without a qop; a session "
            "algorithm needs one (RFC 7616 §3.4.2)."
        )
    return _DigestChallenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=algorithm,
        hash_name=hash_name,
        session=session,
        qops=qops,
        opaque=params.get("opaque"),
        # RFC 7616 §3.3: stale and userhash are "true" or "false", case-insensitively.
        stale=params.get("stale", "").lower() == "true",
        userhash=params.get("userhash", "").lower() == "true",
    )


def _choose_qop(challenge: _DigestChallenge, request: Request) -> tuple[str | None, bytes]:
    """The qop to answer with, and the body that auth-int signs (b"" when unused)."""
    if not challenge.qops:
        return None, b""
    if "auth" in challenge.qops:
        return "auth", b""
    try:
        body = request.content
    except RequestNotRead:
        raise LocalProtocolError(
            "The server accepts only Digest qop 'auth-int', which hashes the request body "
            "(RFC 7616 §3.4.3), but this request's body is a stream that is not in memory. "
            "Pass the body as bytes, or call request.read() before sending.",
            request=request,
        ) from None
    return "auth-int", body


def _quoted(value: str) -> str:
    """`value` as an RFC 9110 §5.6.4 quoted-string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _username_param(username: bytes) -> str:
    try:
        text = username.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and _search_unquotable(text) is None:
        return "username=" + _quoted(text)
    # RFC 7616 §3.4.4: a name that a quoted-string cannot carry goes in `username*`, in the
    # RFC 8187 extended notation.
    return "username*=UTF-8''" + quote(username, safe="!#$&+-.^_`|~")


class DigestAuth(Auth):
    """HTTP Digest authentication (RFC 7616; RFC 2617 and RFC 2069 servers too).

    The first request to an origin goes without credentials; a 401 carrying a Digest challenge
    is answered and the request sent again. Once credentials built from a challenge have been
    accepted, later requests to the same origin carry credentials at once, from that challenge
    with the nonce count incremented. One instance may be shared by threads.
    """

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self._username = _credential_bytes(username, "username")
        self._password = _credential_bytes(password, "password")
        self._lock = threading.Lock()
        self._nonce_counts: OrderedDict[str, int] = OrderedDict()
        self._challenges_by_origin: OrderedDict[_Origin, _DigestChallenge] = OrderedDict()

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        origin = request.url._origin
        used = self._remembered_challenge(origin, request)
        if used is not None:
            self._authorize(request, used)
        response = yield request

        fresh = False  # whether `used` answered a 401 to this very request
        # At most two answers: one to the first 401, one more if the server then says that
        # nonce went stale. More could loop forever against a broken server.
        for _ in range(2):
            if response.status_code != 401:
                break
            challenge = self._select_challenge(request, response)
            if challenge is None:
                break  # no Digest challenge: the 401 is the answer
            if (
                fresh
                and used is not None
                and not (challenge.stale and challenge.nonce != used.nonce)
            ):
                # RFC 7616 §3.3: without stale=true, a 401 to credentials computed from a
                # fresh challenge means they are wrong; asking again cannot help.
                break
            self._authorize(request, challenge)
            if "set-cookie" in response.headers:
                # A server may tie the challenge to a cookie it sets alongside (httpbin does).
                Cookies(response.cookies).set_cookie_header(request)
            response = yield request
            used, fresh = challenge, True

        if used is not None:
            with self._lock:
                if response.status_code == 401:
                    self._challenges_by_origin.pop(origin, None)
                else:
                    self._challenges_by_origin[origin] = used
                    self._challenges_by_origin.move_to_end(origin)
                    if len(self._challenges_by_origin) > _REMEMBERED_ORIGINS_LIMIT:
                        self._challenges_by_origin.popitem(last=False)

    def _remembered_challenge(self, origin: _Origin, request: Request) -> _DigestChallenge | None:
        """The challenge to authorise `request` with before any 401, if there is one."""
        with self._lock:
            challenge = self._challenges_by_origin.get(origin)
        # Only for the origin that issued it: Digest credentials are useless elsewhere, and
        # they would hand another server the username and material for a password guess.
        if challenge is None:
            return None
        if not challenge.qops or "auth" in challenge.qops:
            return challenge
        try:
            request.content  # noqa: B018 -- auth-int needs the body in memory
        except RequestNotRead:
            return None  # sent bare; the 401 that follows explains the problem
        return challenge

    def _select_challenge(self, request: Request, response: Response) -> _DigestChallenge | None:
        """The first usable Digest challenge of `response`, None if it has no Digest one.

        RFC 7616 §3.7: a server lists its preferred challenge first, and a client uses the
        first one it supports. If there are Digest challenges but none is usable, that is an
        error rather than a silent 401: the user asked for Digest and deserves to know why.
        """
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        digest_challenges = [c for c in challenges if c.scheme == "digest"]
        problems: list[ProtocolError] = []
        for challenge in digest_challenges:
            try:
                digest_challenge = _read_digest_challenge(challenge)
                _choose_qop(digest_challenge, request)
            except ProtocolError as exc:
                problems.append(exc)
                continue
            return digest_challenge
        if not problems:
            return None
        first = problems[0]
        if len(problems) > 1:
            first = type(first)(
                f"{first} ({len(problems) - 1} other Digest challenge(s) unusable too.)"
            )
        first.request = request
        raise first

    def _authorize(self, request: Request, challenge: _DigestChallenge) -> None:
        request.headers["Authorization"] = self._authorization(request, challenge)

    def _new_cnonce(self) -> str:
        """A client nonce: random for each request (RFC 7616 §3.4 -- it defeats chosen-
        plaintext attacks by the server, so it must never repeat)."""
        return secrets.token_hex(16)

    def _count_nonce_use(self, nonce: str) -> int:
        """1 for a nonce's first use, then 2, 3, ... (RFC 7616 §3.4: nc counts per nonce)."""
        with self._lock:
            count = self._nonce_counts.pop(nonce, 0) + 1
            self._nonce_counts[nonce] = count
            if len(self._nonce_counts) > _COUNTED_NONCES_LIMIT:
                self._nonce_counts.popitem(last=False)
        return count

    def _authorization(self, request: Request, challenge: _DigestChallenge) -> str:
        """The `Authorization` value for `request` under `challenge` (RFC 7616 §3.4)."""
        qop, body = _choose_qop(challenge, request)

        def h(data: bytes) -> str:
            return _digest_hash(challenge.hash_name, data)

        # RFC 7616 §3.4.6: the URI is the request target as sent, path and query.
        uri = request.url.raw_path.decode("ascii")
        nonce, cnonce = challenge.nonce, self._new_cnonce()
        nc_value = f"{self._count_nonce_use(nonce):08x}"

        # §3.4.2: A1 = username ":" realm ":" passwd; for -sess, H(that) ":" nonce ":" cnonce.
        ha1 = h(b":".join((self._username, challenge.realm.encode(), self._password)))
        if challenge.session:
            ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
        # §3.4.3: A2 = method ":" uri, with ":" H(entity-body) appended for auth-int.
        a2 = f"{request.method}:{uri}"
        if qop == "auth-int":
            a2 += ":" + h(body)
        ha2 = h(a2.encode())
        # §3.4.1: response = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2)); without a
        # qop (RFC 2069), KD(H(A1), nonce ":" H(A2)).
        if qop is None:
            response = h(f"{ha1}:{nonce}:{ha2}".encode())
        else:
            response = h(f"{ha1}:{nonce}:{nc_value}:{cnonce}:{qop}:{ha2}".encode())

        if challenge.userhash:
            # §3.4.4: username = H(unq(username) ":" unq(realm)), computed after A1 (which
            # keeps the plain name), and announced with userhash=true.
            hashed = h(self._username + b":" + challenge.realm.encode())
            params = [f"username={_quoted(hashed)}"]
        else:
            params = [_username_param(self._username)]
        params += [f"realm={_quoted(challenge.realm)}", f"uri={_quoted(uri)}"]
        # §3.4: algorithm, qop and nc are sent as bare tokens, never quoted.
        if challenge.algorithm is not None:
            params.append(f"algorithm={challenge.algorithm}")
        params.append(f"nonce={_quoted(nonce)}")
        if qop is not None:
            params += [f"nc={nc_value}", f"cnonce={_quoted(cnonce)}", f"qop={qop}"]
        params.append(f"response={_quoted(response)}")
        if challenge.opaque is not None:
            params.append(f"opaque={_quoted(challenge.opaque)}")  # §3.3: returned unchanged
        if challenge.userhash:
            params.append("userhash=true")
        return "Digest " + ", ".join(params)


# -- the `auth=` argument ---------------------------------------------------------------------

AuthTypes: TypeAlias = tuple[str | bytes, str | bytes] | Callable[[Request], Request] | Auth


def build_auth(auth: AuthTypes | None) -> Auth | None:
    """The `Auth` for an `auth=` argument: a (username, password) tuple means Basic."""
    if auth is None:
        return None
    if isinstance(auth, tuple):
        if len(auth) != 2:
            raise TypeError(
                f'Invalid "auth" argument: a tuple of {len(auth)} items; expected a '
                "(username, password) pair."
            )
        return BasicAuth(username=auth[0], password=auth[1])
    if isinstance(auth, Auth):
        return auth
    if callable(auth):
        return FunctionAuth(func=auth)
    # The type, never the value: a misplaced ["user", "password"] list must not reach a log.
    raise TypeError(
        f'Invalid "auth" argument: {type(auth).__name__}; expected a (username, password) '
        "tuple, a callable or an Auth instance."
    )
