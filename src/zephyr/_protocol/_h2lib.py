"""Which HTTP/2 library the core is built on: `jh2` when it is installed, `h2` otherwise.

jh2 is a fork of h2 with the same API (module for module: `config`, `connection`, `events`,
`exceptions`, `settings`, `stream`), hpack and hyperframe vendored inside it, and HPACK done
by a native extension: the same client costs about half as much per request (see
benchmarks/micro_http2.py). Everything of the library that the core uses comes from here, so
that one process never mixes the two (an h2 `NeverIndexedHeaderTuple` handed to jh2's encoder
would be indexed like any other field: a credential in the compression context).

The choice is made once, at import. ``ZEPHYR_HTTP2_LIBRARY=h2`` (or ``jh2``) forces it: the
tests run under each in turn. Type checking always sees h2, which is typed (jh2 ships no
``py.typed``); the core uses nothing that differs between the two in type.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

__all__ = [
    "LIBRARY",
    "VERSION",
    "AllowedStreamIDs",
    "ConnectionState",
    "DenialOfServiceError",
    "ErrorCodes",
    "Event",
    "Frame",
    "FrameTooLargeError",
    "GoAwayFrame",
    "H2Configuration",
    "H2Connection",
    "H2Stream",
    "H2StreamState",
    "NeverIndexedHeaderTuple",
    "ProtocolError",
    "SettingCodes",
    "Settings",
    "StreamClosedError",
    "events",
    "hyperframe_frame",
]

_VARIABLE = "ZEPHYR_HTTP2_LIBRARY"


def _choose() -> str:
    wanted = os.environ.get(_VARIABLE, "")
    if wanted in ("h2", "jh2"):
        return wanted
    if wanted:
        raise ImportError(f"{_VARIABLE} must be 'h2' or 'jh2', not {wanted!r}.")
    return "jh2" if importlib.util.find_spec("jh2") is not None else "h2"


LIBRARY = _choose()

if TYPE_CHECKING:
    import hyperframe.frame as hyperframe_frame
    from h2 import __version__ as VERSION
    from h2 import events
    from h2.config import H2Configuration
    from h2.connection import AllowedStreamIDs, ConnectionState, H2Connection
    from h2.errors import ErrorCodes
    from h2.events import Event
    from h2.exceptions import (
        DenialOfServiceError,
        FrameTooLargeError,
        ProtocolError,
        StreamClosedError,
    )
    from h2.settings import SettingCodes, Settings
    from h2.stream import H2Stream
    from h2.stream import StreamState as H2StreamState
    from hpack import NeverIndexedHeaderTuple
    from hyperframe.frame import Frame, GoAwayFrame
elif LIBRARY == "jh2":
    import jh2.hyperframe.frame as hyperframe_frame
    from jh2 import __version__ as VERSION
    from jh2 import events
    from jh2.config import H2Configuration
    from jh2.connection import AllowedStreamIDs, ConnectionState, H2Connection
    from jh2.errors import ErrorCodes
    from jh2.events import Event
    from jh2.exceptions import (
        DenialOfServiceError,
        FrameTooLargeError,
        ProtocolError,
        StreamClosedError,
    )
    from jh2.hpack import NeverIndexedHeaderTuple
    from jh2.hyperframe.frame import Frame, GoAwayFrame
    from jh2.settings import SettingCodes, Settings
    from jh2.stream import H2Stream
    from jh2.stream import StreamState as H2StreamState
else:
    import hyperframe.frame as hyperframe_frame
    from h2 import __version__ as VERSION
    from h2 import events
    from h2.config import H2Configuration
    from h2.connection import AllowedStreamIDs, ConnectionState, H2Connection
    from h2.errors import ErrorCodes
    from h2.events import Event
    from h2.exceptions import (
        DenialOfServiceError,
        FrameTooLargeError,
        ProtocolError,
        StreamClosedError,
    )
    from h2.settings import SettingCodes, Settings
    from h2.stream import H2Stream
    from h2.stream import StreamState as H2StreamState
    from hpack import NeverIndexedHeaderTuple
    from hyperframe.frame import Frame, GoAwayFrame
