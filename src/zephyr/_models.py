"""The data model's two central classes, re-exported from the modules that define them."""

from ._request import Request
from ._response import Response

__all__ = ["Request", "Response"]
