"""The public API: one `__all__`, sorted, complete, and every name importable from `zephyr`."""

import importlib
import pkgutil

import zephyr


def test_all_is_sorted() -> None:
    assert zephyr.__all__ == sorted(zephyr.__all__)


def test_all_names_are_importable() -> None:
    for name in zephyr.__all__:
        assert getattr(zephyr, name) is not None, name


def test_all_is_complete() -> None:
    # Every public class or function defined in a private module and re-exported must be listed;
    # and nothing public in the package namespace is missing from __all__.
    public = {
        name
        for name, value in vars(zephyr).items()
        if not name.startswith("_") and not isinstance(value, type(zephyr))
    }
    assert public <= set(zephyr.__all__), public - set(zephyr.__all__)


def test_public_classes_report_the_package_as_their_module() -> None:
    assert zephyr.Response.__module__ == "zephyr"
    assert repr(zephyr.ReadTimeout) == "<class 'zephyr.ReadTimeout'>"


def test_version_is_a_string() -> None:
    assert isinstance(zephyr.__version__, str)
    assert zephyr.__version__.count(".") == 2


def test_every_private_module_imports() -> None:
    for module in pkgutil.walk_packages(zephyr.__path__, "zephyr."):
        if module.name.startswith("zephyr.testing"):
            continue  # needs the `testing` extra; covered by its own tests
        importlib.import_module(module.name)


def test_httpx_style_names_exist() -> None:
    # The names an HTTPX tutorial uses on the data model.
    for name in (
        "URL",
        "Headers",
        "QueryParams",
        "Cookies",
        "Request",
        "Response",
        "Timeout",
        "Limits",
        "codes",
        "HTTPError",
        "RequestError",
        "HTTPStatusError",
        "TimeoutException",
        "ConnectTimeout",
        "ReadTimeout",
        "InvalidURL",
    ):
        assert hasattr(zephyr, name), name


def test_import_loads_neither_ssl_nor_the_transports() -> None:
    # DESIGN.md: import is cheap. HTTPTransport, AsyncHTTPTransport and create_ssl_context
    # load on first use; a fresh interpreter shows what `import zephyr` alone pulls in.
    import subprocess
    import sys

    probe = (
        "import sys, zephyr; "
        "print(sorted(m for m in ('ssl', 'asyncio', 'zephyr._ssl', 'zephyr._transports.http') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
    assert zephyr.create_ssl_context(verify=False).check_hostname is False
