"""`USE_CLIENT_DEFAULT`: "this request gives no value of its own; use the client's".

A per-request argument such as `auth=`, `timeout=` or `follow_redirects=` cannot use `None` for
"not given", because `None` is a meaningful value there (`auth=None` turns authentication off
for one request, `timeout=None` disables timeouts). HTTPX has the same sentinel under the same
name, so `httpx.USE_CLIENT_DEFAULT` code keeps working with zephyr.
"""

from __future__ import annotations

from typing import ClassVar, Final

__all__ = ["USE_CLIENT_DEFAULT", "UseClientDefault"]


class UseClientDefault:
    """The type of `USE_CLIENT_DEFAULT`; it has exactly one instance.

    Test for it with `isinstance(value, UseClientDefault)` (or `value is USE_CLIENT_DEFAULT`).
    """

    __slots__ = ()
    _instance: ClassVar[UseClientDefault | None] = None

    def __new__(cls) -> UseClientDefault:
        # One instance, so that `is` comparisons hold even for code that calls the class.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"

    def __reduce__(self) -> str:
        # Pickled (and copied) by reference to the module-level name: unpickling gives back the
        # one instance, never a second object that `is USE_CLIENT_DEFAULT` would reject.
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT: Final = UseClientDefault()
