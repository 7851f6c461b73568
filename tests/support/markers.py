"""Every test that drives a browser or starts processes says so with a marker, so
`make test-fast` (`-m "not browser and not worker and not slow"`) can leave it out.

The markers are registered in pyproject.toml. A test that uses one of the fixtures
below without a marker that covers it stops the collection with its name.
"""

from __future__ import annotations

import pytest

# fixture -> the markers any one of which covers it
NEEDS = {
    "workers": ("worker",),  # Celery worker and beat processes
    "private_redis": ("worker", "slow"),  # a redis-server process
}


def missing_markers(item: pytest.Item) -> list[str]:
    have = {mark.name for mark in item.iter_markers()}
    problems = [
        f"uses `{fixture}`: mark it {' or '.join(marks)}"
        for fixture, marks in NEEDS.items()
        if fixture in getattr(item, "fixturenames", ()) and not have.intersection(marks)
    ]
    if drives_a_browser(item) and "browser" not in have:
        problems.append("drives a browser: mark it browser")
    return problems


def drives_a_browser(item: pytest.Item) -> bool:
    if "/tests/browser/" in item.path.as_posix():
        return True
    module = getattr(item, "module", None)
    values = vars(module).values() if module is not None else ()
    names = (getattr(value, "__name__", "") for value in values)
    return any(name.startswith(("playwright", "axe_playwright")) for name in names)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [f"{item.nodeid} {problem}" for item in items for problem in missing_markers(item)]
    if unmarked:
        raise pytest.UsageError("Tests without the marker they need:\n  " + "\n  ".join(unmarked))
