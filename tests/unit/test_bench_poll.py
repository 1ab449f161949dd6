"""The flow bench's poll schedule: rare while much is left, frequent near the end."""

from tests.bench.scenario_flow import next_poll


def test_without_a_rate_the_bench_polls_every_second():
    assert next_poll(0, 20000, None) == 1.0
    assert next_poll(100, 20000, 0.0) == 1.0


def test_polls_come_at_half_the_time_left_within_bounds():
    assert next_poll(10000, 20000, 100.0) == 5.0        # 100 s left: capped
    assert next_poll(19400, 20000, 100.0) == 3.0        # 6 s left: half of it
    assert next_poll(19990, 20000, 100.0) == 0.5        # 0.1 s left: the floor


class _Store:
    """A store count that answers from a list (the last value repeats)."""

    def __init__(self, *values: int) -> None:
        self.values, self.calls = list(values), 0

    async def decided(self) -> int:
        self.calls += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


async def test_the_counters_progress_is_confirmed_by_one_store_count():
    from tests.bench.scenario_flow import _Progress

    store = _Store(500)
    assert await _Progress(None, store).confirm("decided", 500) == ""  # type: ignore[arg-type]
    assert store.calls == 1


async def test_a_store_short_of_the_counter_is_polled_until_it_has_all_and_said():
    from tests.bench.scenario_flow import _Progress

    store = _Store(499, 500)
    said = await _Progress(None, store).confirm("decided", 500)  # type: ignore[arg-type]
    assert said == "decided: the store had 499 of 500 when the counter had all"
    assert store.calls == 2  # the short count, then `_wait` until it has all
