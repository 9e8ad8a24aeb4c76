from __future__ import annotations

from collections import Counter

import pytest

_failed: Counter[str] = Counter()
_owners: Counter[str] = Counter()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("owners")
    group.addoption("--require-owner", action="store_true", help="error every test without @pytest.mark.owner")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "owner(team): the team that answers for this test")
    _failed.clear()
    _owners.clear()


def owner_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("owner")
    return marker.args[0] if marker and marker.args else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.config.getoption("require_owner") and owner_of(item) is None:
        pytest.fail(f"{item.nodeid} has no @pytest.mark.owner", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    team = owner_of(item) or "unowned"
    if report.when == "call":
        _owners[team] += 1
    if report.failed:
        _failed[team] += 1
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if not _owners:
        return
    parts = ", ".join(f"{team}={_failed[team]}/{count}" for team, count in sorted(_owners.items()))
    terminalreporter.write_line(f"owners: {parts}")


@pytest.fixture
def owner(request: pytest.FixtureRequest) -> str:
    team = owner_of(request.node)
    if team is None:
        raise LookupError(f"{request.node.name} has no owner marker")
    return team
