"""What the fuzz tests share: their hypothesis settings (the CI size by default, 50 times more
for `make fuzz`), and the helpers that split a feed and join the body events it gives.

`ZEPHYR_FUZZ=long` (what `make fuzz` sets) selects the long profile. The profiles are
registered here but never loaded globally: each fuzz test takes `fuzz(n)`, so other property
tests keep their own settings. `print_blob` makes a failure print the `@reproduce_failure`
line that replays it; `pytest --hypothesis-seed=N` replays a whole run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from zephyr._protocol.events import DataReceived, Event

__all__ = ["FUZZ_SCALE", "fuzz", "merged", "split"]

settings.register_profile(
    "zephyr-fuzz-ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("zephyr-fuzz-long", settings.get_profile("zephyr-fuzz-ci"))

_PROFILE = "zephyr-fuzz-long" if os.environ.get("ZEPHYR_FUZZ") == "long" else "zephyr-fuzz-ci"
FUZZ_SCALE = 50 if _PROFILE == "zephyr-fuzz-long" else 1


def fuzz(max_examples: int) -> settings:
    """Settings for a fuzz test: `max_examples` in CI, `FUZZ_SCALE` times that under make fuzz."""
    return settings(settings.get_profile(_PROFILE), max_examples=max_examples * FUZZ_SCALE)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the positions `cuts` name (modulo its length, duplicates ignored)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def merged(events: list[Event]) -> list[Event]:
    """Adjacent body events joined, empty ones dropped: what a feed means, however split."""
    result: list[Event] = []
    for event in events:
        if isinstance(event, DataReceived):
            if not event.data:
                continue  # an empty read of the body says nothing
            if result and isinstance(result[-1], DataReceived):
                result[-1] = DataReceived(result[-1].data + event.data)
                continue
        result.append(event)
    return result
