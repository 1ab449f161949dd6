"""`make docs`: write each service's AsyncAPI document (the published event catalogue).

Run: python -m shared.asyncapi docs/asyncapi
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

SERVICES = ("registration", "agenda", "results", "notify")


def document(service: str) -> dict[str, Any]:
    """The AsyncAPI document of one service, built without connecting to anything."""
    app = importlib.import_module(f"services.{service}.app").create_app()
    return app.state.runtime.asyncapi()  # type: ignore[no-any-return]


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/asyncapi")
    target.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = target / f"{service}.json"
        path.write_text(json.dumps(document(service), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
