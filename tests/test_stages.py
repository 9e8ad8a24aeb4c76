"""The reference API's suite at every stage of the investigation, on the real embedded PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from conftest import assert_no_traceback

from kit.reference import suite as stages


@pytest.fixture(scope="module")
def runs(target):
    return {r.stage: r for r in stages.run_stages(None, target, record=False)}


def _by_test(result):
    return {t.nodeid.split("::")[-1]: t for t in result.tests}


def test_every_stage_behaves_as_the_report_says(runs):
    assert list(runs) == ["original", "simplified", "stabilised", "auth", "full", "real-deps", "real-deps-fixed"]
    for result in runs.values():
        assert result.as_expected, [(t.nodeid, t.mismatch) for t in result.tests if not t.as_expected]


def test_original_fails_with_the_interface_error(runs):
    original = runs["original"]
    assert original.passed == 0
    kinds = {t.error_type.rsplit(".", 1)[-1] for t in original.tests if t.error_type}
    assert "InterfaceError" in kinds
    assert any("another operation is in progress" in (t.message or "") for t in original.tests)


def test_simplified_keeps_the_interface_error_and_register_hits_a_different_loop(runs):
    simplified = _by_test(runs["simplified"])
    register = simplified["test_register_user"]
    assert register.outcome == "failed" and register.error_type == "RuntimeError"
    assert "attached to a different loop" in register.message
    assert any((t.error_type or "").endswith("InterfaceError") for t in simplified.values())


def test_stabilised_makes_register_pass(runs):
    assert _by_test(runs["stabilised"])["test_register_user"].outcome == "passed"


def test_auth_stage_passes_every_auth_test(runs):
    auth = runs["auth"]
    assert auth.passed == len(auth.tests) >= 6 and {t.suite for t in auth.tests} == {"auth"}


def test_full_stage_passes_the_whole_suite_and_exercises_the_app(runs):
    full = runs["full"]
    assert full.failed == full.errors == 0
    per_suite = {suite: sum(t.suite == suite and t.outcome == "passed" for t in full.tests)
                 for suite in ("auth", "business", "coaching")}
    assert per_suite["auth"] >= 6 and per_suite["business"] >= 5 and per_suite["coaching"] >= 5
    passed = {name for name, t in _by_test(full).items() if t.outcome == "passed"}
    # the app's own behaviour: register, duplicate refused, login, bad password refused, token required
    assert {"test_register_user", "test_register_duplicate_email_refused", "test_login_returns_bearer_token",
            "test_login_bad_password_refused", "test_me_with_token", "test_me_without_token"} <= passed


REDIS_FAILURES = {  # each failing test and the Redis test before it, which opened the connection it got
    "test_offers_are_cached_in_redis": "test_add_offer",
    "test_create_session_is_planned_by_orchestrator": "test_new_offer_invalidates_cache",
    "test_session_creation_is_rate_limited": "test_orchestrator_failure_is_bad_gateway",
}


def test_real_deps_breaks_every_second_test_that_reaches_the_module_level_redis_client(runs):
    real = runs["real-deps"]
    assert stages.get_stage("real-deps").services == ("redis",)
    assert real.passed == len(real.tests) - 3 and real.errors == 0
    by_test = _by_test(real)
    assert {name for name, t in by_test.items() if t.outcome != "passed"} == set(REDIS_FAILURES)
    for name, opener in REDIS_FAILURES.items():
        test = by_test[name]
        assert (test.outcome, test.phase, test.error_type, test.message) == (
            "failed", "call", "RuntimeError", "Event loop is closed"), test
        assert "attached to a different loop" in test.cause
        # the recorder saw the app's one client hand this test a connection the previous Redis test opened
        assert re.fullmatch(rf"redis, opened on L\d+ in {opener}", test.cross_loop), test.cross_loop
        assert test.cross_loop.split()[3] not in test.loops["call"]
    # the tests around them reached Redis through the same client and passed: cache, invalidation, rate counter
    assert all(by_test[name].outcome == "passed" for name in REDIS_FAILURES.values())


def test_real_deps_fixed_passes_the_whole_suite_on_real_redis(runs):
    fixed = runs["real-deps-fixed"]
    assert fixed.as_expected and fixed.failed == fixed.errors == 0
    assert fixed.passed == len(fixed.tests) == len(runs["full"].tests)
    assert not any(t.cross_loop for t in fixed.tests)


def test_real_deps_diff_shows_the_redis_client_change():
    from_mock = stages.diff_stages("full", "real-deps")
    assert "-    app.dependency_overrides[get_redis] = override_get_redis" in from_mock
    assert "-class FakeRedis:" in from_mock and "+class RedisStore(MutableMapping):" in from_mock
    repair = stages.diff_stages("real-deps", "real-deps-fixed")
    assert repair.startswith("--- real-deps/conftest.py\n+++ real-deps-fixed/conftest.py")
    for line in ("+async def redis_client(mock_redis):", "+    client = redis.asyncio.from_url(TEST_REDIS_URL",
                 "+    await client.aclose()", "+    app.dependency_overrides[get_redis] = override_get_redis"):
        assert line in repair, line
    assert "pytest.ini" not in repair  # same loop scopes: only the client changed


def test_real_deps_cli_on_the_embedded_redis_never_shows_its_password(target, run_kit, tmp_path):
    from kit.db.redis_server import EmbeddedRedis

    out = tmp_path / "real-deps.json"
    result = run_kit("stage", "run", "real-deps", "--json", str(out))
    assert result.code == 0, result.all
    payload = json.loads(out.read_text())
    assert (payload["passed"], payload["failed"], payload["errors"]) == (len(payload["tests"]) - 3, 3, 0)
    secret = EmbeddedRedis().secret
    assert secret not in result.all + out.read_text() and target.password not in result.all + out.read_text()
    fixed = run_kit("stage", "run", "real-deps-fixed")
    assert fixed.code == 0 and "as expected" in fixed.all, fixed.all


def test_stage_cli_contract(target, run_kit, tmp_path):
    out = tmp_path / "simplified.json"
    result = run_kit("stage", "run", "simplified", "--json", str(out))
    assert result.code == 0, result.all
    payload = json.loads(out.read_text())
    assert {"stage", "passed", "failed", "errors", "tests"} <= set(payload) and payload["stage"] == "simplified"
    assert all({"nodeid", "suite", "outcome", "error_type", "message", "duration_s"} <= set(t)
               for t in payload["tests"])
    assert payload["failed"] == 2 and target.password not in result.all + out.read_text()
    diff = run_kit("stage", "diff", "simplified", "stabilised")
    assert diff.code == 0 and diff.out.startswith("--- simplified/conftest.py")
    unknown = run_kit("stage", "run", "nope")
    assert unknown.code == 2 and "no stage 'nope'" in unknown.err
    assert_no_traceback(unknown.all)
