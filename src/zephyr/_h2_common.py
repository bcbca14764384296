"""What the blocking and the asyncio HTTP/2 drivers share, whatever their I/O.

A request's translation for the HTTP/2 core, the rule for sending a request again after the
server refused it or went away without processing it, the ALPN decision, and every error
message: one copy, so that `Client` and `AsyncClient` behave and speak alike. Nothing here
blocks, awaits or touches a socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import ConnectError, RemoteProtocolError
from ._io_common import is_replayable
from ._streams import ByteStream

if TYPE_CHECKING:
    from ._request import Request
    from ._streams import AsyncByteStream, SyncByteStream

__all__ = [
    "HTTP2_VERSION",
    "MAX_GRACEFUL_RETRIES",
    "MAX_UNPROCESSED_RETRIES",
    "RequestHead",
    "RetryBudget",
    "Unprocessed",
    "connection_lost_error",
    "goaway_mid_response_error",
    "goaway_reason",
    "handshake_error",
    "http2_extensions",
    "is_h2c",
    "may_be_http2",
    "may_retry",
    "negotiated_http2",
    "request_body",
    "request_head",
    "stream_reset_error",
    "unoffered_h2_error",
    "unprocessed_error",
]

# `response.extensions["http_version"]`, as `Response.http_version` shows it.
HTTP2_VERSION = b"HTTP/2"

# How often one request is sent again after GOAWAY / REFUSED_STREAM before its error is
# raised: a server that keeps refusing must not keep us in a loop. A graceful GOAWAY from a
# server that did process streams on that connection (it serves N requests per connection,
# as nginx's keepalive_requests) is progress, not refusal: those retries count against the
# larger bound only, since 100 requests in flight on connections that serve 20 each need 5.
MAX_UNPROCESSED_RETRIES = 3
MAX_GRACEFUL_RETRIES = 50

_METHODS = {m: m.encode() for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}

# (method, scheme, authority, path, headers) as `HTTP2Connection.send_request` takes them.
RequestHead = tuple[bytes, bytes, bytes, bytes, list[tuple[bytes, bytes]]]


class Unprocessed(Exception):
    """The server did not process the request (GOAWAY above its last stream id, or
    RST_STREAM with REFUSED_STREAM): the transport may send it again on another connection
    (`may_retry`), or raise `error`."""

    def __init__(self, reason: str, *, goaway: bool, progress: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.goaway = goaway
        # A graceful GOAWAY after the server processed streams on the connection.
        self.progress = progress

    def error(self, request: Request) -> RemoteProtocolError:
        return unprocessed_error(request, self.reason, goaway=self.goaway)


class RetryBudget:
    """Counts one request's transparent re-sends after `Unprocessed`; see the bounds above."""

    __slots__ = ("graceful", "refused")

    def __init__(self) -> None:
        self.refused = 0
        self.graceful = 0

    def allows(self, request: Request, unprocessed: Unprocessed) -> bool:
        """May the request be sent again? Counts the attempt if so."""
        if not may_retry(request):
            return False
        if unprocessed.progress:
            self.graceful += 1
            return self.graceful <= MAX_GRACEFUL_RETRIES
        self.refused += 1
        return self.refused <= MAX_UNPROCESSED_RETRIES


# -- negotiation ----------------------------------------------------------------------------


def may_be_http2(scheme: bytes, http1: bool, http2: bool) -> bool:
    """Can a connection for `scheme` turn out HTTP/2? Over TLS when "h2" is offered in ALPN;
    over cleartext only with prior knowledge (`http1=False`), as HTTPX does."""
    if not http2:
        return False
    return scheme == b"https" or not http1


def is_h2c(scheme: bytes, http1: bool, http2: bool) -> bool:
    """HTTP/2 with prior knowledge over cleartext (RFC 9113 §3.3)."""
    return http2 and not http1 and scheme == b"http"


def negotiated_http2(selected_alpn: str | None, http1: bool, host: str) -> bool:
    """Did TLS negotiate HTTP/2? ConnectError when HTTP/1.1 is not allowed and the server
    did not pick "h2"."""
    if selected_alpn == "h2":
        return True
    if not http1:
        chosen = f"ALPN selected {selected_alpn!r}" if selected_alpn else "no protocol by ALPN"
        raise ConnectError(
            f"The server at {host!r} does not speak HTTP/2 ({chosen}), and HTTP/1.1 is "
            "disabled (http1=False)."
        )
    return False


def unoffered_h2_error(host: str) -> ConnectError:
    """The server chose "h2" by ALPN on a connection that did not offer it: the SSLContext given
    as `verify` had its ALPN list changed after the client set it. Speaking HTTP/1.1 there
    would fail on the server's first frame with a baffling parse error."""
    return ConnectError(
        f"The server at {host!r} chose HTTP/2 by ALPN, which this client does not speak "
        "(http2=False): the SSLContext given as `verify` offers 'h2'. Set http2=True, or leave "
        "the context's ALPN protocols to the client."
    )


# -- requests -------------------------------------------------------------------------------


def request_head(request: Request) -> RequestHead:
    """The request's head for `HTTP2Connection.send_request`. Its headers are HTTP/1-style:
    the core turns Host into :authority and refuses what must not be sent."""
    url = request.url
    method = _METHODS.get(request.method) or request.method.encode("ascii")
    scheme: bytes = url._origin[0]
    return method, scheme, url.netloc, url.raw_path, request.headers.raw


def request_body(request: Request) -> tuple[bytes, SyncByteStream | AsyncByteStream | None]:
    """The request body in memory (b"" for none) and the stream still to send, if any."""
    stream = request.stream
    if isinstance(stream, ByteStream):
        return stream._body, None
    return b"", stream


def may_retry(request: Request) -> bool:
    """May a request the server did not process be sent again, transparently? Only when
    repeating it could not matter (an idempotent method) and its body can be replayed."""
    return is_replayable(request)


# -- errors ---------------------------------------------------------------------------------


def unprocessed_error(request: Request, reason: str, *, goaway: bool) -> RemoteProtocolError:
    what = (
        "The server went away (GOAWAY) before processing the request"
        if goaway
        else "The server refused the request stream (REFUSED_STREAM) before processing it"
    )
    if may_retry(request):
        why = "it was sent again as often as allowed, and refused each time"
    else:
        why = f"a {request.method} request is not retried automatically"
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"):
            why = "its body cannot be replayed"
    return RemoteProtocolError(f"{what}; {why}. ({reason})")


def goaway_mid_response_error(reason: str) -> RemoteProtocolError:
    """A GOAWAY that calls a stream unprocessed when its response had already begun: the
    server contradicts itself, and the request is not retried."""
    return RemoteProtocolError(
        "The server went away (GOAWAY) in the middle of the response, after saying it had "
        f"not processed the request. ({reason})"
    )


def stream_reset_error(reason: str) -> RemoteProtocolError:
    """The error of one request whose stream ended abnormally; `reason` from `StreamReset`."""
    return RemoteProtocolError(reason)


def connection_lost_error(detail: str | None = None) -> RemoteProtocolError:
    message = "The HTTP/2 connection closed before the response was complete"
    return RemoteProtocolError(f"{message}: {detail}" if detail else message + ".")


def handshake_error(host: str, detail: str) -> ConnectError:
    return ConnectError(f"HTTP/2 connection setup with {host!r} failed: {detail}")


def goaway_reason(error_code: int, last_stream_id: int, additional_data: bytes) -> str:
    """A sentence for a GOAWAY, for the errors of the requests it ended."""
    reason = f"GOAWAY with error code 0x{error_code:x}, last stream id {last_stream_id}"
    if additional_data:
        reason += f", debug data {additional_data[:200]!r}"
    return reason


def http2_extensions(timing: dict[str, float]) -> dict[str, Any]:
    """A Response's extensions for an HTTP/2 response (no network_stream: that is for 101)."""
    return {"http_version": HTTP2_VERSION, "reason_phrase": b"", "timing": timing}


def goaway_progress(error_code: int, last_stream_id: int) -> bool:
    """Was a GOAWAY the server's ordinary turnover (NO_ERROR after it processed streams on the
    connection) rather than a refusal? See MAX_GRACEFUL_RETRIES."""
    return error_code == 0 and last_stream_id > 0
