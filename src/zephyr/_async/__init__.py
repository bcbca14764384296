"""The asyncio I/O drivers: an `asyncio.Protocol` per connection feeding the sans-I/O cores.

The blocking drivers live beside them in `_sync`; both drive the same sans-I/O cores, and
what they share (routing, request writes, error messages) is in `_io_common`.
"""
