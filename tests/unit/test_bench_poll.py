"""The flow bench's poll schedule: rare while much is left, frequent near the end."""

from tests.bench.scenario_flow import next_poll


def test_without_a_rate_the_bench_polls_every_second():
    assert next_poll(0, 20000, None) == 1.0
    assert next_poll(100, 20000, 0.0) == 1.0


def test_polls_come_at_half_the_time_left_within_bounds():
    assert next_poll(10000, 20000, 100.0) == 5.0        # 100 s left: capped
    assert next_poll(19400, 20000, 100.0) == 3.0        # 6 s left: half of it
    assert next_poll(19990, 20000, 100.0) == 0.5        # 0.1 s left: the floor
