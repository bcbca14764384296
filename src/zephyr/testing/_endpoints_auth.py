"""Authentication endpoints: `/basic-auth`, `/bearer` and `/digest-auth` (RFC 7617, 6750, 7616)."""

from __future__ import annotations

import base64
import binascii
import hmac

from ._asgi import Request, Response, json_response
from ._digest import SUPPORTED_ALGORITHMS, SUPPORTED_QOPS, DigestAuthority, Verdict
from ._routing import RouteTable

__all__ = ["DIGEST_REALM", "routes"]

routes = RouteTable()

BASIC_CHALLENGE = 'Basic realm="Fake Realm"'
DIGEST_REALM = "zephyr-testing@localhost"

# One authority for the process: a nonce minted by any request is valid on any other.
_digest_authority = DigestAuthority(DIGEST_REALM)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) from `Authorization: Basic ...`, or None when absent or malformed."""
    scheme, _, encoded = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


@routes.add("/basic-auth/{user}/{passwd}")
async def basic_auth(request: Request) -> Response:
    user, password = request.path_params["user"], request.path_params["passwd"]
    credentials = basic_credentials(request)
    if credentials is None or not (
        hmac.compare_digest(credentials[0].encode(), user.encode())
        and hmac.compare_digest(credentials[1].encode(), password.encode())
    ):
        return Response(status=401, headers=[("WWW-Authenticate", BASIC_CHALLENGE)])
    return json_response({"authenticated": True, "user": user})


@routes.add("/bearer")
async def bearer(request: Request) -> Response:
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Response(status=401, headers=[("WWW-Authenticate", "Bearer")])
    return json_response({"authenticated": True, "token": token})


# Any method, unlike httpbin: auth-int protects a body, and GET has none to protect.
@routes.add("/digest-auth/{qop}/{user}/{passwd}", methods=None)
@routes.add("/digest-auth/{qop}/{user}/{passwd}/{algorithm}", methods=None)
async def digest_auth(request: Request) -> Response:
    user, password = request.path_params["user"], request.path_params["passwd"]
    # As httpbin: an unknown qop offers both, an unknown algorithm falls back to MD5.
    qop = request.path_params["qop"]
    qops = (qop,) if qop in SUPPORTED_QOPS else SUPPORTED_QOPS
    algorithm = request.path_params.get("algorithm", "MD5").upper().replace("-SESS", "-sess")
    if algorithm not in SUPPORTED_ALGORITHMS:
        algorithm = "MD5"

    verdict = _digest_authority.verify(
        request.header("authorization"),
        method=request.method,
        request_target=request.target,
        body=request.body,
        username=user,
        password=password,
        algorithm=algorithm,
        qops=qops,
    )
    if verdict is Verdict.AUTHENTICATED:
        return json_response({"authenticated": True, "user": user})
    challenge = _digest_authority.challenge(algorithm, qops, stale=verdict is Verdict.STALE)
    return Response(status=401, headers=[("WWW-Authenticate", challenge)])
