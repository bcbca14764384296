"""The blocking I/O drivers: sockets opened, requests written and responses read in the
calling thread. The asyncio drivers live beside them; both drive the same sans-I/O cores."""
