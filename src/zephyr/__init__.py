"""zephyr: a fast HTTP client for Python, with the API HTTPX users know."""

from .__version__ import __version__

__all__ = ["__version__"]
