"""`USE_CLIENT_DEFAULT`: one recognisable instance, whatever is done to it."""

from __future__ import annotations

import copy
import pickle

from zephyr._defaults import USE_CLIENT_DEFAULT, UseClientDefault


def test_use_client_default_is_a_singleton_with_a_readable_repr() -> None:
    assert repr(USE_CLIENT_DEFAULT) == "USE_CLIENT_DEFAULT"
    assert isinstance(USE_CLIENT_DEFAULT, UseClientDefault)
    assert UseClientDefault() is USE_CLIENT_DEFAULT
    assert USE_CLIENT_DEFAULT is not None


def test_use_client_default_survives_copy_and_pickle() -> None:
    assert copy.copy(USE_CLIENT_DEFAULT) is USE_CLIENT_DEFAULT
    assert copy.deepcopy({"auth": USE_CLIENT_DEFAULT})["auth"] is USE_CLIENT_DEFAULT
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(USE_CLIENT_DEFAULT, protocol)) is USE_CLIENT_DEFAULT
