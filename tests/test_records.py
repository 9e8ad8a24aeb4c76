"""The append-only records store survives crashes and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import warnings
from pathlib import Path

import pytest

from kit.run.records import RunRecord, append_records, iter_records, load_records


def test_records_round_trip_with_versions_as_columns(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    append_records([RunRecord("probe", "tcp", "passed", duration_s=0.01, versions={"sqlalchemy": "2.1.9"}),
                    RunRecord("scenario", "x", "failed", variant="broken", error_type="RuntimeError",
                              error_message="postgresql://u:hunter2@h/db attached to a different loop")], path)
    frame = load_records(path)
    assert list(frame["subject"]) == ["tcp", "x"]
    assert frame.loc[0, "v_sqlalchemy"] == "2.1.9"
    assert "hunter2" not in path.read_text()
    assert len(load_records(path, kind="scenario")) == 1


def test_a_torn_last_line_is_skipped_with_a_warning_and_appends_continue(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    append_records([RunRecord("probe", "tcp", "passed")], path)
    with open(path, "a") as handle:
        handle.write('{"kind": "probe", "subj')  # a crash mid-write
    with pytest.warns(UserWarning, match="skipped 1 torn"):
        assert len(load_records(path)) == 1
    append_records([RunRecord("probe", "asyncpg", "passed")], path)
    with pytest.warns(UserWarning):
        assert list(load_records(path)["subject"]) == ["tcp", "asyncpg"]


def _writer(path: str, worker: int) -> None:
    append_records([RunRecord("test", f"w{worker}-{i}", "passed", details={"pad": "x" * 5000}) for i in range(50)],
                   Path(path))


def test_concurrent_writers_never_interleave_lines(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    processes = [multiprocessing.Process(target=_writer, args=(str(path), n)) for n in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_records(path)) == 200


def test_missing_store_loads_as_an_empty_frame(tmp_path: Path):
    assert load_records(tmp_path / "none.jsonl").empty


def test_versions_are_stored_once_and_resolved_on_load(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    versions = {"sqlalchemy": "2.1.9", "asyncpg": "0.32.0"}
    for batch in range(3):
        append_records([RunRecord("test", f"t{batch}-{i}", "passed", versions=versions) for i in range(10)]
                       + [RunRecord("probe", "tcp", "passed", versions={"sqlalchemy": "2.0.0"})], path)
    text = path.read_text()
    assert text.count('"kind": "versions"') == 2 and text.count("2.1.9") == 1
    frame = load_records(path)
    assert len(frame) == 33 and set(frame["kind"]) == {"test", "probe"}
    assert list(frame["v_sqlalchemy"]).count("2.1.9") == 30 and frame.loc[0, "versions"] == versions
    assert list(load_records(path, kind="probe")["v_sqlalchemy"]) == ["2.0.0"] * 3
    assert [row["versions"] for row in iter_records("probe", path)] == [{"sqlalchemy": "2.0.0"}] * 3


def test_a_replaced_store_gets_its_versions_line_again(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    append_records([RunRecord("probe", "tcp", "passed", versions={"asyncpg": "0.32.0"})], path)
    path.unlink()
    append_records([RunRecord("probe", "tcp", "passed", versions={"asyncpg": "0.32.0"})], path)
    assert load_records(path).loc[0, "v_asyncpg"] == "0.32.0"


def test_records_with_inline_versions_still_load(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    line = {"kind": "probe", "subject": "tcp", "outcome": "passed", "versions": {"asyncpg": "0.29.0"}}
    path.write_text(json.dumps(line) + "\n" + json.dumps({**line, "versions": {}}) + "\n")
    frame = load_records(path)
    assert frame.loc[0, "v_asyncpg"] == "0.29.0" and frame.loc[0, "versions"] == {"asyncpg": "0.29.0"}
    assert frame.loc[1, "versions"] == {}
    assert iter_records("probe", path)[0]["versions"] == {"asyncpg": "0.29.0"}


def test_line_separator_characters_inside_a_record_do_not_split_it(tmp_path: Path):
    path = tmp_path / "runs.jsonl"
    append_records([RunRecord("scenario", "x", "failed", error_message="one\u2028two\u2029three\x85four")], path)
    with open(path, "a") as handle:
        handle.write('{"kind": "probe"\n')  # a torn line sealed by the next append: the line-by-line path
    append_records([RunRecord("scenario", "y", "passed")], path)
    with pytest.warns(UserWarning, match="torn"):
        assert list(load_records(path)["subject"]) == ["x", "y"]
    assert [row["subject"] for row in iter_records("scenario", path)] == ["x", "y"]


def test_installed_versions_read_from_dist_info_names_agree_with_importlib_metadata(tmp_path: Path, monkeypatch):
    """The recorder's versions come from dist-info directory names, first sys.path entry first; each must be what
    importlib.metadata says, an egg-info is asked of importlib.metadata, and a missing package is None."""
    from importlib import metadata

    from kit.common.versions import PACKAGES, installed_versions

    names = (*PACKAGES, "pip", "typing_extensions", "Jinja2", "no-such-distribution")

    def expected(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    found = installed_versions(names)
    assert {name: found[name] for name in names} == {name: expected(name) for name in names}
    assert found["sqlalchemy"] and found["no-such-distribution"] is None

    # a directory earlier on sys.path shadows site-packages, as it does for imports; an egg-info is read properly
    shadow = tmp_path / "shadow"
    (shadow / "SQLAlchemy-0.0.1.dist-info").mkdir(parents=True)
    (shadow / "SQLAlchemy-0.0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: SQLAlchemy\n"
                                                                     "Version: 0.0.1\n")
    (shadow / "legacy_thing.egg-info").mkdir()
    (shadow / "legacy_thing.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: legacy-thing\n"
                                                               "Version: 4.5\n")
    monkeypatch.syspath_prepend(str(shadow))
    shadowed = installed_versions(("sqlalchemy", "legacy-thing"))
    assert shadowed["sqlalchemy"] == "0.0.1" == expected("sqlalchemy")
    assert shadowed["legacy-thing"] == "4.5" == expected("legacy-thing")
