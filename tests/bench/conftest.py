"""Benchmarks run only under `make bench` (HOLIDESK_BENCH=1); `make test` skips them.

Each benchmark prints a table, writes JSON to bench-results/<topic>.json, and compares
against a baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HOLIDESK_BENCH") == "1":
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "tests/bench/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "median_ms": statistics.median(samples) * 1000 if samples else float("nan"),
        "p95_ms": percentile(samples, 95) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
    }


def report(topic: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    """Print a table of rows (dicts with the same keys) and write them as JSON."""
    RESULTS.mkdir(exist_ok=True)
    payload = {"topic": topic, "rows": rows, **(extra or {})}
    (RESULTS / f"{topic}.json").write_text(json.dumps(payload, indent=2, default=str))
    if not rows:
        return
    keys = list(rows[0])
    widths = [max(len(k), *(len(_fmt(r.get(k))) for r in rows)) for k in keys]
    print()
    print(f"== {topic} ==")
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for row in rows:
        print("  ".join(_fmt(row.get(k)).ljust(w) for k, w in zip(keys, widths, strict=True)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
