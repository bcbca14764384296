"""Sans-I/O protocol cores: bytes in, events out, bytes to send.

``http11`` drives llhttp (through httptools); its events are in ``events``. Nothing here
knows of sockets, clocks or event loops, and nothing is imported eagerly: each transport
imports the core it speaks, so HTTP/1.1-only code never loads h2 and vice versa.
"""
