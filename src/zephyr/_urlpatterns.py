"""URL patterns for `mounts=`: which transport serves which URL, as HTTPX matches them.

"all://"                   every URL
"https://"                 every https URL
"http://example.com"       that host, any port
"all://example.com:8080"   that host and port, any scheme
"all://*example.com"       example.com and every subdomain of it
"all://*.example.com"      subdomains of example.com only
"""

from __future__ import annotations

from ._exceptions import InvalidURL
from ._urls import URL

__all__ = ["URLPattern"]


class URLPattern:
    __slots__ = ("host", "host_suffix", "pattern", "port", "scheme")

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str) or "://" not in pattern:
            raise InvalidURL(
                f"Invalid mount pattern {pattern!r}: expected '<scheme>://[<host>[:<port>]]', "
                "such as 'all://', 'https://' or 'http://example.com'."
            )
        self.pattern = pattern
        scheme, _, rest = pattern.partition("://")
        self.scheme = "" if scheme == "all" else scheme.lower()
        hostport = rest.split("/", 1)[0]
        host, port = hostport, None
        if hostport.startswith("["):  # an IPv6 literal: [::1]:8080
            end = hostport.find("]")
            host = hostport[1:end]
            if hostport[end + 1 : end + 2] == ":":
                port = hostport[end + 2 :]
        elif ":" in hostport:
            host, _, port = hostport.rpartition(":")
        self.host = host.lower()
        # "*example.com" matches the domain and its subdomains; "*.example.com" only subdomains.
        self.host_suffix: str | None = None
        if self.host.startswith("*"):
            self.host_suffix = self.host[1:]
        if port:
            if not port.isdigit():
                raise InvalidURL(f"Invalid port {port!r} in mount pattern {pattern!r}.")
            self.port: int | None = int(port)
        else:
            self.port = None

    def matches(self, url: URL) -> bool:
        if self.scheme and url.scheme != self.scheme:
            return False
        host = url.host
        if self.host_suffix is not None:
            suffix = self.host_suffix
            if suffix.startswith("."):
                if not host.endswith(suffix):
                    return False
            elif host != suffix and not host.endswith("." + suffix):
                return False
        elif self.host and host != self.host:
            return False
        return self.port is None or url.port == self.port or _default_port(url) == self.port

    @property
    def priority(self) -> tuple[int, int, int]:
        """Sort key: more specific patterns first (a port, then a longer host, then a scheme)."""
        return (
            0 if self.port is not None else 1,
            -len(self.host),
            -len(self.scheme),
        )

    def __lt__(self, other: URLPattern) -> bool:
        return self.priority < other.priority

    def __eq__(self, other: object) -> bool:
        return isinstance(other, URLPattern) and self.pattern == other.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"URLPattern({self.pattern!r})"


def _default_port(url: URL) -> int | None:
    return {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(url.scheme)
