"""The census table of `python -m tests.bench.census`: per registration, the floor's database left out."""

from tests.bench.census import table


def test_the_census_is_divided_by_the_registrations_inserted_and_sorted_by_cpu():
    counts = {"themenforum_registration|registrations|insert": [10, 400, 2.0],
              "themenforum_registration|registrations|find": [100, 0, 1.0],
              "themenforum_notify|deliveries|update": [50, 200, 4.0],
              "admin||commitTransaction": [200, 0, 0.4],
              "bench_flow_abc|registrations|insert": [40, 400, 9.0]}
    text = table(counts)
    assert text.startswith("400 registrations; store CPU 18.50 ms per registration: notify 10.00, registration 7.50, admin 1.00")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "collection" not in line]
    assert rows[0] == "| notify | deliveries | update | 0.125 | 0.500 | 10.000 | 80,000 |"
    assert [r.split(" | ")[1] for r in rows] == ["deliveries", "registrations", "registrations", ""]
    assert "bench_flow" not in text


def test_no_registrations_no_division():
    assert table({"themenforum_agenda|people|update": [1, 1, 0.1]}) == "no registrations counted"
