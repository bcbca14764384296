"""Authentication flows, driven by hand: the generators are the behaviour under test.

A flow yields requests and is sent responses, exactly as Client and AsyncClient drive it.
Digest responses are checked against values computed here, independently, from the
formulas of RFC 7616 §3.4 -- and against the RFC's own worked example (§3.9.1).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import pathlib
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator

import pytest

import zephyr
from zephyr._auth import (
    Auth,
    BasicAuth,
    BearerAuth,
    DigestAuth,
    FunctionAuth,
    NetRCAuth,
    build_auth,
)
from zephyr._challenges import Challenge, parse_challenges

URL = "http://www.example.org/dir/index.html"


def send(
    flow: Generator[zephyr.Request, zephyr.Response, None], response: zephyr.Response
) -> zephyr.Request | None:
    """Send `response` into `flow`: the next request it wants sent, or None when it is done."""
    try:
        return flow.send(response)
    except StopIteration:
        return None


def unauthorized(request: zephyr.Request, *challenges: str, **headers: str) -> zephyr.Response:
    """A 401 with one WWW-Authenticate field per challenge string."""
    fields = [("WWW-Authenticate", challenge) for challenge in challenges]
    return zephyr.Response(401, headers=fields + list(headers.items()), request=request)


def ok(request: zephyr.Request) -> zephyr.Response:
    return zephyr.Response(200, request=request)


# -- base class, FunctionAuth, Basic, Bearer ---------------------------------------------------


def test_base_auth_sends_the_request_unchanged() -> None:
    request = zephyr.Request("GET", URL)
    flow = Auth().auth_flow(request)
    assert next(flow) is request
    assert "authorization" not in request.headers
    assert send(flow, ok(request)) is None


def test_function_auth_sends_what_the_function_returns() -> None:
    def sign(request: zephyr.Request) -> zephyr.Request:
        request.headers["X-Signature"] = "signed:" + request.method
        return request

    request = zephyr.Request("POST", URL)
    flow = FunctionAuth(sign).auth_flow(request)
    assert next(flow).headers["X-Signature"] == "signed:POST"
    assert send(flow, ok(request)) is None


def test_basic_auth_ascii_is_the_rfc_7617_example() -> None:
    request = zephyr.Request("GET", URL)
    sent = next(BasicAuth("Aladdin", "open sesame").auth_flow(request))
    # RFC 7617 §2: user "Aladdin", password "open sesame".
    assert (b"Authorization", b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") in sent.headers.raw


def test_basic_auth_non_ascii_str_is_utf8() -> None:
    request = zephyr.Request("GET", URL)
    sent = next(BasicAuth("test", "123\u00a3").auth_flow(request))
    # RFC 7617 §2.1's example with charset="UTF-8": "test" / "123£".
    assert sent.headers["Authorization"] == "Basic dGVzdDoxMjPCow=="
    assert base64.b64decode("dGVzdDoxMjPCow==") == b"test:123\xc2\xa3"


def test_basic_auth_bytes_are_sent_as_given() -> None:
    request = zephyr.Request("GET", URL)
    password = "123\u00a3".encode("latin-1")
    sent = next(BasicAuth(b"test", password).auth_flow(request))
    expected = base64.b64encode(b"test:123\xa3")
    assert (b"Authorization", b"Basic " + expected) in sent.headers.raw


def test_basic_auth_replaces_an_existing_authorization_header() -> None:
    request = zephyr.Request("GET", URL, headers={"Authorization": "Bearer old"})
    sent = next(BasicAuth("a", "b").auth_flow(request))
    assert sent.headers.get_list("authorization") == ["Basic YTpi"]


def test_basic_auth_refuses_a_colon_in_the_username_and_wrong_types() -> None:
    with pytest.raises(ValueError, match="colon"):
        BasicAuth("a:b", "c")
    with pytest.raises(TypeError, match="username must be str or bytes, not int"):
        BasicAuth(1, "c")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="password must be str or bytes, not NoneType"):
        BasicAuth("a", None)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", ["mF_9.B5f-4.1JqM", "abc+/~==", "a"])
def test_bearer_auth(token: str) -> None:
    request = zephyr.Request("GET", URL)
    flow = BearerAuth(token).auth_flow(request)
    assert next(flow).headers["Authorization"] == f"Bearer {token}"
    assert send(flow, ok(request)) is None


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("secret\r\nX-Evil: 1", "carriage return"),
        ("secret\n", "line feed .* trailing newline"),
        ("sec\x00ret", "NUL"),
        ("two words", "U\\+0020"),
        ("ab=cd", "'=' at position 2"),
        ("t\u00f6ken", "U\\+00F6"),
        ("", "empty"),
    ],
)
def test_bearer_auth_refuses_tokens_outside_b64token(token: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"Invalid bearer token: .*{problem}") as info:
        BearerAuth(token)
    assert "RFC 6750" in str(info.value)
    if len(token) > 3:
        assert token[:3] not in str(info.value)  # the secret itself is never quoted


def test_bearer_auth_refuses_non_str() -> None:
    with pytest.raises(TypeError, match="must be a str, not bytes"):
        BearerAuth(b"token")  # type: ignore[arg-type]


# -- build_auth --------------------------------------------------------------------------------


def test_build_auth_for_every_accepted_type() -> None:
    assert build_auth(None) is None

    basic = build_auth(("user", b"pass"))
    assert isinstance(basic, BasicAuth)
    request = zephyr.Request("GET", URL)
    assert next(basic.auth_flow(request)).headers["Authorization"] == "Basic dXNlcjpwYXNz"

    def add_header(request: zephyr.Request) -> zephyr.Request:
        request.headers["X-Auth"] = "yes"
        return request

    function_auth = build_auth(add_header)
    assert isinstance(function_auth, FunctionAuth)
    assert next(function_auth.auth_flow(zephyr.Request("GET", URL))).headers["X-Auth"] == "yes"

    digest = DigestAuth("u", "p")
    assert build_auth(digest) is digest


@pytest.mark.parametrize(
    ("auth", "type_name"),
    [(["user", "hunter2"], "list"), ("hunter2", "str"), (42, "int"), ({"u": "hunter2"}, "dict")],
)
def test_build_auth_refuses_other_types_naming_the_type(auth: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=f'^Invalid "auth" argument: {type_name};') as info:
        build_auth(auth)  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)


def test_build_auth_refuses_a_tuple_that_is_not_a_pair() -> None:
    with pytest.raises(TypeError, match='Invalid "auth" argument: a tuple of 3 items'):
        build_auth(("user", "pass", "extra"))  # type: ignore[arg-type]


# -- NetRCAuth ---------------------------------------------------------------------------------


def netrc_file(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "netrc"
    path.write_text(text)
    path.chmod(0o600)
    return path


def netrc_authorization(auth: NetRCAuth, url: str) -> str | None:
    request = zephyr.Request("GET", url)
    sent = next(auth.auth_flow(request))
    assert sent is request
    value: str | None = sent.headers.get("authorization")
    return value


ALICE = "Basic " + base64.b64encode(b"alice:s3cret").decode()


def test_netrc_credentials_go_only_to_the_host_contacted(tmp_path: pathlib.Path) -> None:
    path = netrc_file(
        tmp_path,
        "machine example.org login alice password s3cret\n"
        "machine other.test login bob\n",  # no password: nothing to send
    )
    auth = NetRCAuth(str(path))
    assert netrc_authorization(auth, "https://example.org/path") == ALICE
    assert netrc_authorization(auth, "http://EXAMPLE.org:8080/") == ALICE  # any port, any case
    for elsewhere in (
        "https://unknown.test/",
        "https://other.test/",
        "https://example.org.evil.test/",  # look-alike: the name as a prefix
        "https://notexample.org/",  # look-alike: the name as a suffix
        "https://evil.test/?host=example.org",
        "https://example.org@evil.test/",  # the name as userinfo
        # requests CVE-2024-47081: a second URL parser read "example.org" as the host here.
        "http://example.org:@evil.test/",
    ):
        assert netrc_authorization(auth, elsewhere) is None, elsewhere


def test_netrc_machine_names_are_case_insensitive_and_paths_accepted(
    tmp_path: pathlib.Path,
) -> None:
    path = netrc_file(tmp_path, "machine Example.ORG login alice password s3cret\n")
    assert netrc_authorization(NetRCAuth(path), "https://example.org/") == ALICE


def test_netrc_default_entry_serves_hosts_without_their_own(tmp_path: pathlib.Path) -> None:
    path = netrc_file(
        tmp_path,
        "machine example.org login alice password s3cret\n"
        "machine nopass.test login bob\n"
        "default login anon password guest\n",
    )
    auth = NetRCAuth(str(path))
    assert netrc_authorization(auth, "https://example.org/") == ALICE
    assert netrc_authorization(auth, "https://nopass.test/") is None  # its own entry rules
    anon = "Basic " + base64.b64encode(b"anon:guest").decode()
    assert netrc_authorization(auth, "https://elsewhere.test/") == anon


def test_netrc_missing_file_is_an_error_at_construction(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        NetRCAuth(str(tmp_path / "does-not-exist"))


# -- Digest: the expected values, computed here from RFC 7616 §3.4 -----------------------------

HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA": lambda data: hashlib.sha1(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "SHA-512": lambda data: hashlib.sha512(data).hexdigest(),
}
if "sha512_256" in hashlib.algorithms_available:
    HASHES["SHA-512-256"] = lambda data: hashlib.new("sha512_256", data).hexdigest()


def expected_response(
    algorithm: str,
    *,
    username: str,
    password: str,
    realm: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """RFC 7616 §3.4.1-3 (and RFC 2069 without qop), written out independently."""
    h = HASHES[algorithm.upper().removesuffix("-SESS")]
    ha1 = h(f"{username}:{realm}:{password}".encode())
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    a2 = f"{method}:{uri}" + (":" + h(body) if qop == "auth-int" else "")
    if qop is None:
        return h(f"{ha1}:{nonce}:{h(a2.encode())}".encode())
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{h(a2.encode())}".encode())


_AUTH_PARAM = re.compile(r'\s*([A-Za-z*-]+)=(?:"((?:[^"\\]|\\.)*)"|([^",\s]+))\s*(?:,|$)')


def digest_params(header: str) -> dict[str, str]:
    """The parameters of an `Authorization: Digest ...` value (a parser of the test's own)."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "Digest"
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _AUTH_PARAM.match(rest, position)
        assert match is not None, rest[position:]
        quoted, token = match.group(2), match.group(3)
        params[match.group(1)] = token if quoted is None else re.sub(r"\\(.)", r"\1", quoted)
        position = match.end()
    return params


def assert_digest_valid(
    request: zephyr.Request, *, username: str, password: str, body: bytes = b""
) -> dict[str, str]:
    """Check the request's Digest credentials as a server would; return their parameters."""
    header = request.headers["Authorization"]
    params = digest_params(header)
    qop = params.get("qop")
    for bare in ("algorithm", "qop", "nc"):  # RFC 7616 §3.4: never quoted
        if bare in params:
            assert f'{bare}="' not in header
    assert params["uri"] == request.url.raw_path.decode()
    assert params["response"] == expected_response(
        params.get("algorithm", "MD5"),
        username=username,
        password=password,
        realm=params["realm"],
        nonce=params["nonce"],
        method=request.method,
        uri=params["uri"],
        qop=qop,
        nc=params.get("nc", ""),
        cnonce=params.get("cnonce", ""),
        body=body,
    )
    return params


class FixedCnonceDigestAuth(DigestAuth):
    """Digest with the RFC example's client nonce, so that its published values come out."""

    def _new_cnonce(self) -> str:
        return "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


@pytest.mark.parametrize(
    ("algorithm", "published_response"),
    [
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ],
)
def test_digest_rfc_7616_worked_example(algorithm: str, published_response: str) -> None:
    # RFC 7616 §3.9.1: the challenge, and the Authorization header the client answers with.
    request = zephyr.Request("GET", URL)
    flow = FixedCnonceDigestAuth("Mufasa", "Circle of Life").auth_flow(request)
    first = next(flow)
    assert "authorization" not in first.headers  # nothing before the challenge
    challenge = (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'
    )
    retried = send(flow, unauthorized(request, challenge))
    assert retried is request
    assert retried.headers["Authorization"] == (
        'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", '
        f'algorithm={algorithm}, nonce="{RFC_NONCE}", nc=00000001, '
        'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, '
        f'response="{published_response}", opaque="{RFC_OPAQUE}"'
    )
    # The test's own formulas agree with the RFC, so the checks below are worth something.
    params = assert_digest_valid(retried, username="Mufasa", password="Circle of Life")
    assert params["response"] == published_response
    assert send(flow, ok(request)) is None


ALGORITHMS = sorted([*HASHES, *(f"{name}-sess" for name in HASHES)])


@pytest.mark.parametrize(
    ("algorithm", "qop"),
    # A session algorithm without a qop is an error (tested below), hence no such pairs here.
    [(a, q) for a in ALGORITHMS for q in ("auth", "auth-int", None) if q or "-sess" not in a],
)
def test_digest_every_algorithm_and_qop(algorithm: str, qop: str | None) -> None:
    body = b'{"amount": 10}'
    request = zephyr.Request("PUT", "https://api.example.org/pay?to=bob&x=%20", content=body)
    flow = DigestAuth("bob", "pa ss").auth_flow(request)
    next(flow)
    qop_param = "" if qop is None else f', qop="{qop}"'
    retried = send(
        flow,
        unauthorized(request, f'Digest realm="pay", nonce="abc", algorithm={algorithm}{qop_param}'),
    )
    assert retried is not None
    params = assert_digest_valid(retried, username="bob", password="pa ss", body=body)
    assert params["uri"] == "/pay?to=bob&x=%20"
    assert params["algorithm"] == algorithm
    assert params.get("qop") == qop
    if qop is None:  # RFC 2069: no nc, no cnonce
        assert "nc" not in params
        assert "cnonce" not in params
    else:
        assert params["nc"] == "00000001"
    assert "opaque" not in params  # none was offered


def test_digest_algorithm_is_case_insensitive_and_echoed_as_sent() -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    challenge = 'Digest realm="r", nonce="n", qop="auth", algorithm=sha-256-SESS'
    retried = send(flow, unauthorized(request, challenge))
    assert retried is not None
    params = assert_digest_valid(retried, username="u", password="p")
    assert params["algorithm"] == "sha-256-SESS"


def test_digest_without_algorithm_means_md5_and_none_is_sent() -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth"'))
    assert retried is not None
    params = assert_digest_valid(retried, username="u", password="p")
    assert "algorithm" not in params
    assert len(params["response"]) == 32  # an MD5 digest


def test_digest_prefers_auth_over_auth_int() -> None:
    request = zephyr.Request("POST", URL, content=b"body")
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    challenge = 'Digest realm="r", nonce="n", qop="auth-int, auth"'
    retried = send(flow, unauthorized(request, challenge))
    assert retried is not None
    assert assert_digest_valid(retried, username="u", password="p")["qop"] == "auth"


def streamed(*chunks: bytes) -> Iterator[bytes]:
    yield from chunks


def test_digest_auth_int_needs_the_body_in_memory() -> None:
    request = zephyr.Request("POST", URL, content=streamed(b"a", b"b"))
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    with pytest.raises(zephyr.LocalProtocolError, match=r"auth-int.*not in memory") as info:
        send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth-int"'))
    assert info.value.request is request

    # Offered beside "auth", the streamed body is no problem.
    request = zephyr.Request("POST", URL, content=streamed(b"a", b"b"))
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth-int,auth"'))
    assert retried is not None
    assert digest_params(retried.headers["Authorization"])["qop"] == "auth"


@pytest.mark.parametrize(
    ("challenge", "message"),
    [
        ('Digest realm="r", qop="auth"', "no 'nonce' parameter, which RFC 7616 §3.3 requires"),
        ('Digest nonce="n", qop="auth"', "no 'realm' parameter"),
        ('Digest realm="r", nonce="n", algorithm=SHA3-256', "algorithm 'SHA3-256'.*supports MD5"),
        ('Digest realm="r", nonce="n", qop="auth-conf"', "qop 'auth-conf'"),
        ('Digest realm="r", nonce="n", algorithm=MD5-sess', "session algorithm needs one"),
        ('Digest realm="r", nonce="n', "Malformed Digest challenge: the quoted string"),
        ('Digest realm="r", realm="s", nonce="n"', "Malformed.*'realm' occurs twice"),
    ],
)
def test_digest_unusable_challenges_are_clear_errors(challenge: str, message: str) -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    with pytest.raises(zephyr.RemoteProtocolError, match=message) as info:
        send(flow, unauthorized(request, challenge))
    assert isinstance(info.value, zephyr.ProtocolError)  # what HTTPX code catches
    assert info.value.request is request


def test_digest_401_without_a_digest_challenge_is_returned_as_is() -> None:
    for response_headers in (['Basic realm="r"', 'Bearer realm="r"'], []):
        request = zephyr.Request("GET", URL)
        flow = DigestAuth("u", "p").auth_flow(request)
        next(flow)
        assert send(flow, unauthorized(request, *response_headers)) is None
        assert "authorization" not in request.headers
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    assert send(flow, ok(request)) is None  # no challenge at all: done


def test_digest_picks_its_challenge_among_several_fields_and_schemes() -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    response = unauthorized(
        request,
        'Basic realm="basic"',
        'Newauth realm="apps", type=1, title="Login, \\"apps\\"", '
        'Digest realm="say \\"hi\\", friend", nonce="n,o", opaque="o\\\\p", qop="auth"',
    )
    retried = send(flow, response)
    assert retried is not None
    params = assert_digest_valid(retried, username="u", password="p")
    assert params["realm"] == 'say "hi", friend'
    assert params["nonce"] == "n,o"
    assert params["opaque"] == "o\\p"  # returned unchanged (RFC 7616 §3.3)


def test_digest_uses_the_first_supported_challenge() -> None:
    # RFC 7616 §3.7: the server lists its preferred challenge first; skip what we cannot use.
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    response = unauthorized(
        request,
        'Digest realm="r", nonce="n1", algorithm=SHA3-512, qop="auth"',
        'Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"',
        'Digest realm="r", nonce="n3", algorithm=MD5, qop="auth"',
    )
    retried = send(flow, response)
    assert retried is not None
    params = assert_digest_valid(retried, username="u", password="p")
    assert (params["algorithm"], params["nonce"]) == ("SHA-256", "n2")


def test_digest_reports_the_first_problem_when_no_challenge_is_usable() -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    response = unauthorized(
        request, 'Digest realm="r", nonce="n", algorithm=SHA3-512, Digest realm="r"'
    )
    with pytest.raises(zephyr.RemoteProtocolError, match=r"SHA3-512.*1 other Digest"):
        send(flow, response)


def test_digest_quotes_and_encodes_usernames() -> None:
    cases = {
        'Mu"fa\\sa': 'username="Mu\\"fa\\\\sa"',
        "J\u00e4s\u00f8n Doe": 'username="J\u00e4s\u00f8n Doe"',  # UTF-8 inside the quotes
        "tab\there": 'username="tab\there"',
        "bell\x07": "username*=UTF-8''bell%07",  # RFC 7616 §3.4.4: not quotable
    }
    for username, expected in cases.items():
        request = zephyr.Request("GET", URL)
        flow = DigestAuth(username, "p").auth_flow(request)
        next(flow)
        retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth"'))
        assert retried is not None
        header = retried.headers["Authorization"]
        assert header.startswith(f"Digest {expected}, ")
        assert_digest_valid(retried, username=username, password="p")
    # Bytes that are not UTF-8 are percent-encoded as they are.
    request = zephyr.Request("GET", URL)
    flow = DigestAuth(b"caf\xe9", "p").auth_flow(request)
    next(flow)
    retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth"'))
    assert retried is not None
    assert retried.headers["Authorization"].startswith("Digest username*=UTF-8''caf%E9, ")
    # And a str name goes on the wire as UTF-8 bytes, as HTTPX sends it.
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("J\u00e4s", "p").auth_flow(request)
    next(flow)
    retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth"'))
    assert retried is not None
    (raw,) = [value for name, value in retried.headers.raw if name == b"Authorization"]
    assert raw.startswith(b'Digest username="J\xc3\xa4s", ')


def test_digest_userhash() -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("Mufasa", "Circle of Life").auth_flow(request)
    next(flow)
    challenge = 'Digest realm="api", nonce="n", qop="auth", algorithm=SHA-256, userhash=true'
    retried = send(flow, unauthorized(request, challenge))
    assert retried is not None
    params = digest_params(retried.headers["Authorization"])
    # RFC 7616 §3.4.4: username = H(username ":" realm); the response still uses the name.
    assert params["username"] == hashlib.sha256(b"Mufasa:api").hexdigest()
    assert params["userhash"] == "true"
    assert_digest_valid(retried, username="Mufasa", password="Circle of Life")


def test_digest_cnonce_is_fresh_for_every_request() -> None:
    cnonces = set()
    for _ in range(5):
        request = zephyr.Request("GET", URL)
        flow = DigestAuth("u", "p").auth_flow(request)
        next(flow)
        retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n", qop="auth"'))
        assert retried is not None
        cnonces.add(digest_params(retried.headers["Authorization"])["cnonce"])
    assert len(cnonces) == 5


def test_digest_sends_cookies_set_with_the_challenge() -> None:
    request = zephyr.Request("GET", URL)
    flow = DigestAuth("u", "p").auth_flow(request)
    next(flow)
    response = unauthorized(
        request, 'Digest realm="r", nonce="n", qop="auth"', **{"Set-Cookie": "fake=fake_value"}
    )
    retried = send(flow, response)
    assert retried is not None
    assert retried.headers["Cookie"] == "fake=fake_value"


# -- Digest: state across requests -------------------------------------------------------------


def authenticate(
    auth: DigestAuth, url: str = URL, challenge: str = 'Digest realm="r", nonce="n1", qop="auth"'
) -> dict[str, str]:
    """One request through a 401 with `challenge` to a 200; the credentials sent."""
    request = zephyr.Request("GET", url)
    flow = auth.auth_flow(request)
    next(flow)
    retried = send(flow, unauthorized(request, challenge))
    assert retried is not None
    params = assert_digest_valid(retried, username="u", password="p")
    assert send(flow, ok(request)) is None
    return params


def preemptive(
    auth: DigestAuth, url: str = URL
) -> tuple[zephyr.Request, Generator[zephyr.Request, zephyr.Response, None]]:
    """Start a flow; return the first request it sends (and the flow)."""
    request = zephyr.Request("GET", url)
    flow = auth.auth_flow(request)
    return next(flow), flow


def test_digest_reuses_an_accepted_challenge_and_counts_nonce_uses() -> None:
    auth = DigestAuth("u", "p")
    first = authenticate(auth)
    assert first["nc"] == "00000001"
    for count in (2, 3, 4):
        request, flow = preemptive(auth)
        params = assert_digest_valid(request, username="u", password="p")
        assert (params["nonce"], params["nc"]) == ("n1", f"{count:08x}")
        assert params["cnonce"] != first["cnonce"]
        assert send(flow, ok(request)) is None  # accepted: no second request


def test_digest_nonce_count_restarts_with_a_new_nonce() -> None:
    auth = DigestAuth("u", "p")
    authenticate(auth)
    request, flow = preemptive(auth)
    assert digest_params(request.headers["Authorization"])["nc"] == "00000002"
    # The server has moved on to a new nonce (without saying stale): answer it, from 1.
    retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="n2", qop="auth"'))
    assert retried is not None
    params = assert_digest_valid(retried, username="u", password="p")
    assert (params["nonce"], params["nc"]) == ("n2", "00000001")
    assert send(flow, ok(request)) is None
    request, flow = preemptive(auth)
    params = digest_params(request.headers["Authorization"])
    assert (params["nonce"], params["nc"]) == ("n2", "00000002")


def test_digest_stale_nonce_is_retried_with_the_new_one() -> None:
    auth = DigestAuth("u", "p")
    request = zephyr.Request("GET", URL)
    flow = auth.auth_flow(request)
    next(flow)
    retried = send(flow, unauthorized(request, 'Digest realm="r", nonce="old", qop="auth"'))
    assert retried is not None
    stale = 'Digest realm="r", nonce="new", qop="auth", stale=TRUE'
    again = send(flow, unauthorized(request, stale))
    assert again is not None
    params = assert_digest_valid(again, username="u", password="p")
    assert (params["nonce"], params["nc"]) == ("new", "00000001")
    assert send(flow, ok(request)) is None
    request, flow = preemptive(auth)
    assert digest_params(request.headers["Authorization"])["nonce"] == "new"


def test_digest_gives_up_when_the_server_keeps_refusing() -> None:
    # Wrong credentials: a 401 without stale=true to a fresh answer ends the flow.
    auth = DigestAuth("u", "p")
    request = zephyr.Request("GET", URL)
    flow = auth.auth_flow(request)
    next(flow)
    assert send(flow, unauthorized(request, 'Digest realm="r", nonce="n1", qop="auth"'))
    assert send(flow, unauthorized(request, 'Digest realm="r", nonce="n2", qop="auth"')) is None
    # stale=true again and again: bounded, never a loop.
    request = zephyr.Request("GET", URL)
    flow = auth.auth_flow(request)
    next(flow)
    sent = 0
    for number in range(1, 10):
        challenge = f'Digest realm="r", nonce="n{number}", qop="auth", stale=true'
        if send(flow, unauthorized(request, challenge)) is None:
            break
        sent += 1
    assert sent == 2  # the answer to the first 401, and one retry for the stale nonce
    # stale=true with the nonce just used is no reason to try again.
    request = zephyr.Request("GET", URL)
    flow = auth.auth_flow(request)
    next(flow)
    assert send(flow, unauthorized(request, 'Digest realm="r", nonce="same", qop="auth"'))
    stale_same = 'Digest realm="r", nonce="same", qop="auth", stale=true'
    assert send(flow, unauthorized(request, stale_same)) is None
    # Nothing refused was remembered: the next request goes bare.
    request, _ = preemptive(auth)
    assert "authorization" not in request.headers


def test_digest_forgets_a_challenge_whose_credentials_are_refused() -> None:
    auth = DigestAuth("u", "p")
    authenticate(auth)
    request, flow = preemptive(auth)
    assert "authorization" in request.headers
    assert send(flow, unauthorized(request, 'Basic realm="now basic"')) is None
    request, _ = preemptive(auth)
    assert "authorization" not in request.headers


def test_digest_reuses_a_challenge_only_on_its_own_origin() -> None:
    auth = DigestAuth("u", "p")
    authenticate(auth, "https://a.example/one")
    request, _ = preemptive(auth, "https://a.example:443/two?x=1")  # same origin
    assert assert_digest_valid(request, username="u", password="p")["uri"] == "/two?x=1"
    for other in ("https://b.example/one", "https://a.example:8443/one", "http://a.example/one"):
        request, _ = preemptive(auth, other)
        assert "authorization" not in request.headers, other


def test_digest_does_not_reuse_an_auth_int_challenge_for_a_streamed_body() -> None:
    auth = DigestAuth("u", "p")
    authenticate(auth, challenge='Digest realm="r", nonce="n", qop="auth-int"')
    request = zephyr.Request("POST", URL, content=streamed(b"x"))
    assert "authorization" not in next(auth.auth_flow(request)).headers
    request = zephyr.Request("POST", URL, content=b"in memory")
    sent = next(auth.auth_flow(request))
    params = assert_digest_valid(sent, username="u", password="p", body=b"in memory")
    assert params["qop"] == "auth-int"


def test_digest_counts_nonce_uses_exactly_across_threads() -> None:
    auth = DigestAuth("u", "p")
    authenticate(auth)
    counts: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            request, flow = preemptive(auth)
            count = int(digest_params(request.headers["Authorization"])["nc"], 16)
            assert send(flow, ok(request)) is None
            with lock:
                counts.append(count)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert sorted(counts) == list(range(2, 2 + 8 * 200))  # no count used twice, none skipped


# -- sync_auth_flow / async_auth_flow ----------------------------------------------------------


class BodySigningAuth(Auth):
    """Needs both bodies: records them, then resends once with a signature of both."""

    requires_request_body = True
    requires_response_body = True

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.closed = False
        # Holding the flows keeps the garbage collector from closing them behind our back:
        # only an explicit close() by the driver ends one early.
        self.flows: list[Generator[zephyr.Request, zephyr.Response, None]] = []

    def auth_flow(
        self, request: zephyr.Request
    ) -> Generator[zephyr.Request, zephyr.Response, None]:
        flow = self._signing_flow(request)
        self.flows.append(flow)
        return flow

    def _signing_flow(
        self, request: zephyr.Request
    ) -> Generator[zephyr.Request, zephyr.Response, None]:
        try:
            self.seen.append(request.content)
            response = yield request
            self.seen.append(response.content)
            request.headers["X-Signature"] = hashlib.sha256(
                request.content + response.content
            ).hexdigest()
            response = yield request
            self.seen.append(response.content)
        finally:
            self.closed = True


def test_sync_auth_flow_reads_bodies_when_asked() -> None:
    auth = BodySigningAuth()
    request = zephyr.Request("POST", URL, content=streamed(b"he", b"llo"))
    flow = auth.sync_auth_flow(request)
    assert next(flow) is request
    first = zephyr.Response(401, content=streamed(b"chal", b"lenge"), request=request)
    signed = send(flow, first)
    assert signed is not None
    assert signed.headers["X-Signature"] == hashlib.sha256(b"hellochallenge").hexdigest()
    assert send(flow, zephyr.Response(200, content=streamed(b"done"), request=request)) is None
    assert auth.seen == [b"hello", b"challenge", b"done"]
    assert auth.closed


def test_async_auth_flow_reads_bodies_when_asked() -> None:
    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def drive() -> BodySigningAuth:
        auth = BodySigningAuth()
        request = zephyr.Request("POST", URL, content=chunks(b"he", b"llo"))
        flow = auth.async_auth_flow(request)
        assert await flow.__anext__() is request
        first = zephyr.Response(401, content=chunks(b"chal", b"lenge"), request=request)
        signed = await flow.asend(first)
        assert signed.headers["X-Signature"] == hashlib.sha256(b"hellochallenge").hexdigest()
        with pytest.raises(StopAsyncIteration):
            await flow.asend(zephyr.Response(200, content=chunks(b"done"), request=request))
        return auth

    auth = asyncio.run(drive())
    assert auth.seen == [b"hello", b"challenge", b"done"]
    assert auth.closed


def test_flows_leave_bodies_unread_unless_asked() -> None:
    class Peek(Auth):
        def auth_flow(
            self, request: zephyr.Request
        ) -> Generator[zephyr.Request, zephyr.Response, None]:
            with pytest.raises(zephyr.RequestNotRead):
                request.content  # noqa: B018
            response = yield request
            with pytest.raises(zephyr.ResponseNotRead):
                response.content  # noqa: B018

    request = zephyr.Request("POST", URL, content=streamed(b"x"))
    flow = Peek().sync_auth_flow(request)
    next(flow)
    assert send(flow, zephyr.Response(200, content=streamed(b"y"), request=request)) is None


def test_closing_the_driver_flow_closes_the_auth_flow() -> None:
    auth = BodySigningAuth()
    request = zephyr.Request("POST", URL, content=b"x")
    flow = auth.sync_auth_flow(request)
    next(flow)
    flow.close()  # the driver gave up (an exception, a cancellation)
    assert auth.closed

    async def drive() -> BodySigningAuth:
        auth = BodySigningAuth()
        flow = auth.async_auth_flow(zephyr.Request("POST", URL, content=b"x"))
        await flow.__anext__()
        await flow.aclose()
        return auth

    assert asyncio.run(drive()).closed


def test_digest_through_the_async_driver() -> None:
    async def drive() -> dict[str, str]:
        auth = DigestAuth("u", "p")
        request = zephyr.Request("GET", URL)
        flow = auth.async_auth_flow(request)
        await flow.__anext__()
        challenge = 'Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512'
        retried = await flow.asend(unauthorized(request, challenge))
        with pytest.raises(StopAsyncIteration):
            await flow.asend(ok(request))
        return assert_digest_valid(retried, username="u", password="p")

    assert asyncio.run(drive())["algorithm"] == "SHA-512"


# -- the challenge parser ----------------------------------------------------------------------


def test_parse_challenges_rfc_9110_example() -> None:
    # RFC 9110 §11.6.1: two challenges in one field, a quoted comma and escaped quotes.
    value = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'
    assert parse_challenges([value]) == [
        Challenge("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
        Challenge("basic", {"realm": "simple"}),
    ]


def test_parse_challenges_token68_empty_elements_and_case() -> None:
    challenges = parse_challenges(
        [", Negotiate YII= \t, ,", 'BASIC Realm = "x" ,, Bearer', "DiGeSt NONCE=abc"]
    )
    assert challenges == [
        Challenge("negotiate", token68="YII="),
        Challenge("basic", {"realm": "x"}),
        Challenge("bearer"),
        Challenge("digest", {"nonce": "abc"}),
    ]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ('Digest realm="open', "quoted string at position 13 is unterminated"),
        ('Digest realm="a\x01"', "unterminated or holds a control character"),
        ('Digest realm="a" nonce="b"', "expected a comma at position 17"),
        ("Digest realm=a, realm=b", "'realm' occurs twice"),
        ('Digest="x"', "expected a space after the scheme"),
        ('"quoted"', "expected a scheme at position 0"),
    ],
)
def test_parse_challenges_reports_malformed_ones(value: str, error: str) -> None:
    challenges = parse_challenges([value, "Basic realm=after"])
    broken = challenges[0]
    assert broken.error is not None
    assert re.search(error, broken.error), broken.error
    # A broken field ends where it broke; the next field is parsed on its own.
    assert challenges[-1] == Challenge("basic", {"realm": "after"})


def test_parse_challenges_is_linear_time() -> None:
    hostile = [
        "Digest " + "".join(f"p{number}=v, " for number in range(100_000)),
        'Digest realm="' + "\\x" * 200_000,  # unterminated, full of escapes
        "Basic " + "A" * 400_000 + " x",  # a token68 that is not one
        ", " * 200_000 + "Bearer",
    ]
    started = time.perf_counter()
    challenges = parse_challenges(hostile)
    assert time.perf_counter() - started < 2.0  # a quadratic parser takes hours here
    assert challenges[-1] == Challenge("bearer")
