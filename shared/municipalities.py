"""The 53 municipalities of the Ruhr metropolitan region (data file in shared/data)."""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files

OUTSIDE = "outside"


@cache
def ruhr_municipalities() -> tuple[str, ...]:
    """Municipality names as spelled in the data file, in file order."""
    text = files("shared.data").joinpath("ruhr_municipalities.csv").read_text(encoding="utf-8")
    return tuple(row["municipality"] for row in csv.DictReader(text.splitlines()))


def is_valid_municipality(name: str) -> bool:
    """One of the 53, or `outside`."""
    return name == OUTSIDE or name in ruhr_municipalities()
