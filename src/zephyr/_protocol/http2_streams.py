"""Per-stream bookkeeping of the HTTP/2 core, and the receive-side flow-control credit.

Credit (RFC 9113 §5.2, §6.9): the server may send on a stream, and on the connection, only
as much as our windows allow; we give credit back, with WINDOW_UPDATE, as the *reader
consumes* the data, so that a slow reader holds the server back instead of filling memory.
h2 keeps the windows and sends WINDOW_UPDATE once half a window is consumed; handing it every
acknowledgement costs a call into h2 per DATA frame. `ReceiveCredit` gathers acknowledgements
first and hands them on in batches, small enough never to hold the server back:

- an open stream's credit goes to h2 once it reaches an eighth of the stream window (or a
  sixteenth of the connection window, if that is less);
- all credit goes to h2 once the total not yet reported reaches a sixteenth of the
  connection window.

So less than a sixteenth of the connection window, and an eighth of a stream window, is ever
held back, while h2 itself waits for half of one: the server never stalls on credit we kept
(`test_many_streams_read_piecemeal_never_stall_on_withheld_credit`). Once the server has ended
a stream its window no longer matters, only the connection's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._h2lib import H2Connection

if TYPE_CHECKING:
    from h2.stream import H2StreamStateMachine
    from h2.windows import WindowManager

__all__ = ["ReceiveCredit", "StreamState"]


class StreamState:
    """What the core tracks of one request's stream beyond h2's state machine."""

    __slots__ = (
        "content_length",
        "credit",
        "head_only",
        "informational_count",
        "local_closed",
        "machine",
        "received",
        "receiving",
        "remote_closed",
        "request_bytes_left",
        "unacknowledged",
        "window",
    )

    def __init__(
        self,
        head_only: bool,
        request_bytes_left: int | None,
        ended: bool,
        machine: H2StreamStateMachine,
        window: WindowManager,
    ) -> None:
        self.head_only = head_only  # HEAD: the response has no body, whatever its headers say
        self.request_bytes_left = request_bytes_left  # of the request's content-length
        self.local_closed = ended  # END_STREAM sent
        self.remote_closed = False  # END_STREAM received
        self.content_length: int | None = None  # of the response; 0 when it has no body
        self.received = 0  # response body bytes
        self.unacknowledged = 0  # flow-controlled bytes received, not yet consumed
        self.credit = 0  # consumed while the stream is open, not yet reported to h2
        self.informational_count = 0
        # DATA frames may take the core's fast path (see `http2`): the final response head
        # has arrived and END_STREAM has not.
        self.receiving = False
        # h2's state machine and receive window of the stream, which that fast path reads and
        # debits as h2 itself would.
        self.machine = machine
        self.window = window


class ReceiveCredit:
    """Consumed bytes, handed to h2 in batches: see the module's docstring."""

    __slots__ = (
        "_connection_batch",
        "_connection_only",
        "_h2",
        "_stream_batch",
        "_streams",
        "_unreported",
        "_via_stream_id",
        "enabled",
    )

    def __init__(
        self,
        h2: H2Connection,
        streams: dict[int, StreamState],
        stream_window: int,
        connection_window: int,
    ) -> None:
        self._h2 = h2
        self._streams = streams
        self._connection_batch = connection_window // 16
        self._stream_batch = min(stream_window // 8, self._connection_batch)
        self._unreported = 0  # every stream's credit, and `_connection_only`
        self._connection_only = 0  # credit of streams the server has ended
        # A stream the server has ended, to hand h2 `_connection_only` through: h2 takes
        # credit only per stream, and for such a stream gives it to the connection alone.
        self._via_stream_id = 0
        self.enabled = True  # False once the connection is closed: nothing more to send

    def consumed(self, stream_id: int, stream: StreamState, nbytes: int) -> None:
        """The reader consumed `nbytes` of the stream's body (at most its unacknowledged)."""
        stream.unacknowledged -= nbytes
        if stream.remote_closed:
            self._connection_only += nbytes
            self._via_stream_id = stream_id
        else:
            credit = stream.credit + nbytes
            if credit >= self._stream_batch:
                self._report(stream_id, credit)
                self._unreported -= credit
                credit = 0
            stream.credit = credit
        self._unreported += nbytes
        if self._unreported >= self._connection_batch:
            self.flush()

    def stream_ended(self, stream_id: int, stream: StreamState) -> None:
        """The server ended the stream: its credit only matters to the connection now."""
        if stream.credit:
            self._connection_only += stream.credit
            stream.credit = 0
        self._via_stream_id = stream_id

    def release(self, stream_id: int, stream: StreamState) -> None:
        """The stream is over and nobody will consume the rest: all its credit goes back to
        the connection, or it would shrink every other stream's share for good."""
        unconsumed = stream.unacknowledged
        stream.unacknowledged = 0
        self._unreported += unconsumed
        self._connection_only += unconsumed + stream.credit
        stream.credit = 0
        self._via_stream_id = stream_id
        if self._unreported >= self._connection_batch:
            self.flush()

    def flush(self) -> None:
        """Hand every bit of credit to h2 (it sends WINDOW_UPDATE as it sees fit)."""
        for stream_id, stream in self._streams.items():
            if stream.credit:
                self._report(stream_id, stream.credit)
                stream.credit = 0
        if self._connection_only:
            self._report(self._via_stream_id, self._connection_only)
            self._connection_only = 0
        self._unreported = 0

    def _report(self, stream_id: int, nbytes: int) -> None:
        if self.enabled:
            self._h2.acknowledge_received_data(nbytes, stream_id)
