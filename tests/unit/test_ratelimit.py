from shared.ratelimit import RateLimiter


def test_a_bucket_allows_its_burst_then_refills_at_the_rate():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.allow("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", now=0.0)  # other addresses have their own bucket
    assert not limiter.allow("a", now=0.5)
    assert limiter.allow("a", now=1.6)


def test_the_number_of_tracked_addresses_is_bounded():
    limiter = RateLimiter(per_minute=1, burst=1, max_keys=100)
    for i in range(1000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(limiter.buckets) == 100


def test_exhausted_looks_without_taking_a_token():
    limiter = RateLimiter(per_minute=60, burst=1)
    assert not limiter.exhausted("a", now=0.0) and not limiter.exhausted("a", now=0.0)
    limiter.allow("a", now=0.0)
    assert limiter.exhausted("a", now=0.1)
