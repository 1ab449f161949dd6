"""The soak report's growth over the last ten minutes: the column that tells a warm-up from a leak."""
from tests.soak.__main__ import _last_ten

MINUTE = 60  # one RSS sample per second


def test_growth_that_levels_off_shows_flat_last_ten_minutes() -> None:
    warm_up, level = [100.0] * (5 * MINUTE), [120.0] * (11 * MINUTE)
    assert _last_ten(warm_up + level, MINUTE) == "+0.0 %"


def test_growth_that_goes_on_shows_in_the_last_ten_minutes() -> None:
    leaking = [100.0 + i / MINUTE for i in range(16 * MINUTE)]  # one MB a minute
    assert _last_ten(leaking, MINUTE) == "+9.5 %"  # minute 5 (about 105.5) to minute 15 (about 115.5)


def test_a_run_of_ten_minutes_or_less_has_no_such_column() -> None:
    assert _last_ten([100.0] * (10 * MINUTE), MINUTE) == "–"
