"""HTTP Digest access authentication, the server's half (RFC 7616), with no I/O.

`DigestAuthority` issues challenges and checks the credentials a client computes from them:
MD5, SHA-256 and SHA-512 (httpbin's set; SHA-512-256 too where hashlib has it), each also
as a `-sess` variant, with qop `auth` and `auth-int`.

Nonces are stateless: a timestamp, a random part and an HMAC over both under a per-process
secret, so any nonce we did not mint is refused and an old one is reported `stale=true`
(RFC 7616 section 3.3) instead of failing outright. The opaque value is an HMAC of the nonce,
so a client that does not return it unchanged is refused as well. Replayed
(nonce, cnonce, nc) triples are refused; out-of-order counts are not, because concurrent
requests on one nonce may legitimately arrive out of order.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["DigestAuthority", "DigestChallengeParameters", "Verdict", "digest_hash"]

DigestChallengeParameters = dict[str, str]

_HASHLIB_NAMES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512": "sha512"}
if "sha512_256" in hashlib.algorithms_available:
    _HASHLIB_NAMES["SHA-512-256"] = "sha512_256"

SUPPORTED_ALGORITHMS = frozenset([*_HASHLIB_NAMES, *(f"{name}-sess" for name in _HASHLIB_NAMES)])
SUPPORTED_QOPS = ("auth", "auth-int")

# An auth-param: token "=" ( token / quoted-string ), then a comma or the end (RFC 9110 11.2).
_AUTH_PARAM = re.compile(
    r"\s*(?P<name>[!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*"
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^,\s]*))\s*(?:,|$)'
)
_NONCE_COUNT = re.compile(r"[0-9a-fA-F]{8}")


class Verdict(enum.Enum):
    AUTHENTICATED = "authenticated"
    STALE = "stale"  # right password, expired nonce: challenge again with stale=true
    DENIED = "denied"


def digest_hash(algorithm: str, data: str) -> str:
    """H(data) for a Digest `algorithm` (a `-sess` suffix does not change the hash)."""
    name = _HASHLIB_NAMES[algorithm.removesuffix("-sess")]
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def parse_digest_credentials(authorization: str) -> dict[str, str] | None:
    """The parameters of `Authorization: Digest ...`, or None if it is not well-formed Digest."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    parameters: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _AUTH_PARAM.match(rest, position)
        if match is None or match.end() == position:
            return None
        if match["quoted"] is not None:
            value = re.sub(r"\\(.)", r"\1", match["quoted"])
        else:
            value = match["token"]
        parameters[match["name"].lower()] = value
        position = match.end()
    return parameters


class DigestAuthority:
    """Mints nonces for one realm and verifies Digest credentials against them."""

    def __init__(
        self,
        realm: str,
        *,
        nonce_lifetime: float = 300.0,
        clock: Callable[[], float] = time.time,
        max_remembered_counts: int = 10_000,
    ) -> None:
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        self._clock = clock
        self._secret = os.urandom(32)
        self._seen_counts: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._max_remembered_counts = max_remembered_counts

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def new_nonce(self) -> str:
        issued = f"{int(self._clock()):016x}{os.urandom(8).hex()}"
        return issued + self._mac(issued)

    def opaque_for(self, nonce: str) -> str:
        return self._mac("opaque:" + nonce)

    def challenge(self, algorithm: str, qops: tuple[str, ...], *, stale: bool = False) -> str:
        """A `WWW-Authenticate` value carrying a fresh nonce."""
        nonce = self.new_nonce()
        header = (
            f'Digest realm="{self.realm}", qop="{", ".join(qops)}", nonce="{nonce}", '
            f'opaque="{self.opaque_for(nonce)}", algorithm={algorithm}'
        )
        return header + (", stale=TRUE" if stale else "")

    def _nonce_is_ours(self, nonce: str) -> bool:
        if len(nonce) != 64 or not all(c in "0123456789abcdef" for c in nonce):
            return False
        return hmac.compare_digest(nonce[32:], self._mac(nonce[:32]))

    def _nonce_expired(self, nonce: str) -> bool:
        return self._clock() - int(nonce[:16], 16) > self.nonce_lifetime

    def _is_replay(self, nonce: str, cnonce: str, count: str) -> bool:
        key = (nonce, cnonce, count.lower())
        if key in self._seen_counts:
            return True
        self._seen_counts[key] = None
        if len(self._seen_counts) > self._max_remembered_counts:
            self._seen_counts.popitem(last=False)
        return False

    def verify(
        self,
        authorization: str | None,
        *,
        method: str,
        request_target: str,
        body: bytes,
        username: str,
        password: str,
        algorithm: str,
        qops: tuple[str, ...],
    ) -> Verdict:
        """Check an `Authorization` header against the expected user, password and options."""
        credentials = parse_digest_credentials(authorization or "")
        if credentials is None or not self._fields_match(
            credentials, request_target, username, algorithm, qops
        ):
            return Verdict.DENIED
        nonce = credentials["nonce"]
        expected = self.expected_response(credentials, method, body, password, algorithm)
        if not hmac.compare_digest(credentials["response"].lower(), expected):
            return Verdict.DENIED
        # Only a client that knows the password learns that its nonce went stale.
        if self._nonce_expired(nonce):
            return Verdict.STALE
        if self._is_replay(nonce, credentials["cnonce"], credentials["nc"]):
            return Verdict.DENIED
        return Verdict.AUTHENTICATED

    def _fields_match(
        self,
        credentials: dict[str, str],
        request_target: str,
        username: str,
        algorithm: str,
        qops: tuple[str, ...],
    ) -> bool:
        required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(name not in credentials for name in required):
            return False
        nonce = credentials["nonce"]
        # RFC 7616 section 3.4: an absent algorithm means MD5.
        return (
            credentials["username"] == username
            and credentials["realm"] == self.realm
            and credentials["uri"] == request_target
            and credentials.get("algorithm", "MD5").upper() == algorithm.upper()
            and credentials["qop"] in qops
            and _NONCE_COUNT.fullmatch(credentials["nc"]) is not None
            and self._nonce_is_ours(nonce)
            and hmac.compare_digest(credentials.get("opaque", ""), self.opaque_for(nonce))
        )

    def expected_response(
        self, credentials: dict[str, str], method: str, body: bytes, password: str, algorithm: str
    ) -> str:
        """The `response` value a correct client computes (RFC 7616 section 3.4.1)."""

        def h(data: str) -> str:
            return digest_hash(algorithm, data)

        nonce, cnonce, qop = credentials["nonce"], credentials["cnonce"], credentials["qop"]
        secret_hash = h(f"{credentials['username']}:{self.realm}:{password}")
        if algorithm.endswith("-sess"):
            # RFC 7616 section 3.4.2: the session variant folds both nonces into A1.
            secret_hash = h(f"{secret_hash}:{nonce}:{cnonce}")
        request_digest = f"{method}:{credentials['uri']}"
        if qop == "auth-int":
            # RFC 7616 section 3.4.3: auth-int also covers H(entity-body).
            body_hash = hashlib.new(_HASHLIB_NAMES[algorithm.removesuffix("-sess")], body)
            request_digest += ":" + body_hash.hexdigest()
        return h(f"{secret_hash}:{nonce}:{credentials['nc']}:{cnonce}:{qop}:{h(request_digest)}")
