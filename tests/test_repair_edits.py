"""kit fix's editors: each repair changes exactly what it names and leaves every other byte the user's.

Pure tests on strings and temporary directories (no database). The Python edits are held to their exact output,
since a repair's diff is what the user reviews; every produced text must still compile. The configuration edits
are checked against pytest's own readers (its config-file discovery and iniconfig), so "the file pytest reads"
and "the value pytest sees" mean what pytest means.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import iniconfig
import pytest
from _pytest.config.findpaths import locate_config

from kit.diagnose.repair.cfgedit import config_file, ini_option, set_ini_options
from kit.diagnose.repair.pyedit import (
    Edited,
    append_block,
    async_fixture_decorator,
    ensure_import,
    fixture_keyword,
    insert_after_yield,
    remove_function,
    rewrite_asyncclient_app,
    set_call_keyword,
)
from kit.errors import FixError

FACTORIES = frozenset({"async_sessionmaker", "sessionmaker"})


def compiled(edited: Edited | None) -> Edited:
    """The edit, which must exist and still be Python."""
    assert edited is not None
    compile(edited.text, "edited.py", "exec")
    return edited


# --- set_call_keyword -----------------------------------------------------------------------------------------

def test_a_one_line_call_stays_one_line_and_its_comment_stays():
    source = "from x import y\n\nSession = async_sessionmaker(engine)  # the factory, ours\n"
    edited = compiled(set_call_keyword(source, FACTORIES, "expire_on_commit", "False"))
    assert edited.text == ("from x import y\n\n"
                           "Session = async_sessionmaker(engine, expire_on_commit=False)  # the factory, ours\n")
    assert edited.line == 3
    assert edited.description == "`expire_on_commit=False` on async_sessionmaker(...)"
    assert set_call_keyword(edited.text, FACTORIES, "expire_on_commit", "False") is None


def test_a_multi_line_call_with_a_trailing_comma_gets_a_line_of_its_own():
    source = ("def factory(engine):\n"
              "    return async_sessionmaker(\n"
              "        engine,\n"
              "        # which class\n"
              "        class_=AsyncSession,  # ours\n"
              "    )\n")
    edited = compiled(set_call_keyword(source, FACTORIES, "expire_on_commit", "False"))
    assert edited.text == ("def factory(engine):\n"
                           "    return async_sessionmaker(\n"
                           "        engine,\n"
                           "        # which class\n"
                           "        class_=AsyncSession,  # ours\n"
                           "        expire_on_commit=False,\n"
                           "    )\n")
    assert edited.line == 2
    assert set_call_keyword(edited.text, FACTORIES, "expire_on_commit", "False") is None


def test_a_multi_line_call_without_a_trailing_comma_keeps_the_comment_on_its_argument():
    source = "Session = sessionmaker(\n    bind=engine,\n    class_=Session  # sync\n)\n"
    edited = compiled(set_call_keyword(source, FACTORIES, "expire_on_commit", "False"))
    assert edited.text == ("Session = sessionmaker(\n    bind=engine,\n    class_=Session,  # sync\n"
                           "    expire_on_commit=False\n)\n")


def test_a_hanging_indent_is_followed():
    source = "Session = orm.sessionmaker(engine,\n                           class_=AsyncSession)\n"
    edited = compiled(set_call_keyword(source, FACTORIES, "expire_on_commit", "False"))
    assert edited.text == ("Session = orm.sessionmaker(engine,\n"
                           "                           class_=AsyncSession,\n"
                           "                           expire_on_commit=False)\n")
    assert edited.description == "`expire_on_commit=False` on sessionmaker(...)"


def test_calls_that_pass_the_keyword_or_may_pass_it_are_left_alone():
    source = ("a = async_sessionmaker(engine, expire_on_commit=True)\n"
              "b = async_sessionmaker(engine, **options)\n"
              "c = create_async_engine(url)\n"
              "d = async_sessionmaker(engine)\n")
    edited = compiled(set_call_keyword(source, FACTORIES, "expire_on_commit", "False"))
    assert edited.text == source.replace("d = async_sessionmaker(engine)",
                                         "d = async_sessionmaker(engine, expire_on_commit=False)")
    assert edited.line == 4
    assert set_call_keyword(source.replace("d = async_sessionmaker(engine)\n", ""), FACTORIES,
                            "expire_on_commit", "False") is None


def test_every_call_is_changed_and_the_first_one_is_reported():
    source = "a = 1\nx = sessionmaker()\ny = sessionmaker(bind=e,)\n"
    edited = compiled(set_call_keyword(source, FACTORIES, "join_transaction_mode", '"create_savepoint"'))
    assert edited.text == ('a = 1\nx = sessionmaker(join_transaction_mode="create_savepoint")\n'
                           'y = sessionmaker(bind=e, join_transaction_mode="create_savepoint",)\n')
    assert edited.line == 2
    assert "(2 calls)" in edited.description


def test_source_that_does_not_parse_is_an_error_that_says_so():
    with pytest.raises(FixError, match="does not parse"):
        set_call_keyword("def broken(:\n", FACTORIES, "expire_on_commit", "False")


# --- ensure_import --------------------------------------------------------------------------------------------

def test_an_import_goes_after_the_header_imports_not_into_functions():
    source = ('"""Fixtures."""\n'
              "from __future__ import annotations\n"
              "\n"
              "import pytest  # the runner\n"
              "\n"
              "\n"
              "def helper():\n"
              "    import pytest_asyncio\n"
              "    return pytest_asyncio\n")
    text = ensure_import(source, "pytest_asyncio")
    assert text == source.replace("# the runner\n", "# the runner\nimport pytest_asyncio\n", 1)
    compile(text, "x", "exec")
    assert ensure_import(text, "pytest_asyncio") == text


@pytest.mark.parametrize("source, expected", [
    # joins the standard-library group in order, before its `from` lines
    ("from __future__ import annotations\n\nimport os\nfrom pathlib import Path\n\nimport pytest\n",
     "from __future__ import annotations\n\nimport asyncio\nimport os\nfrom pathlib import Path\n\nimport pytest\n"),
    ("import sys\n\nimport pytest\n", "import asyncio\nimport sys\n\nimport pytest\n"),
    # no standard-library import yet: a group of its own before the others, a comment heading them stays on top
    ("# the suite's fixtures\nfrom ledger.models import Base\nimport pytest\n",
     "# the suite's fixtures\nimport asyncio\n\nfrom ledger.models import Base\nimport pytest\n"),
])
def test_a_standard_library_import_joins_its_group_as_import_sorters_order_it(source, expected):
    assert ensure_import(source, "asyncio") == expected
    assert ensure_import(expected, "asyncio") == expected


@pytest.mark.parametrize("present", [
    "from httpx import ASGITransport\n",
    "from httpx import AsyncClient, ASGITransport\n",
    "from httpx import (\n    ASGITransport,  # the transport\n    AsyncClient,\n)\n",
])
def test_a_name_already_imported_in_either_form_is_not_imported_again(present):
    source = present + "\nx = 1\n"
    assert ensure_import(source, "httpx", "ASGITransport") == source


def test_an_alias_does_not_count_as_the_name_and_a_docstring_only_module_gets_one_after_it():
    assert ensure_import("import pytest_asyncio as pa\n", "pytest_asyncio") == (
        "import pytest_asyncio as pa\nimport pytest_asyncio\n")
    assert ensure_import('"""Doc."""\nx = 1\n', "httpx", "ASGITransport") == (
        '"""Doc."""\n\nfrom httpx import ASGITransport\nx = 1\n')


# --- fixture decorators ---------------------------------------------------------------------------------------

CONFTEST = '''"""The suite's fixtures."""
import pytest
from pytest import fixture


# one engine for the session
# (disposed by the test run)
@pytest.fixture(scope="session")  # session on purpose
async def engine():
    engine = make_engine()
    async with engine.begin() as conn:
        yield conn


@fixture
async def client():
    yield "client"


@pytest.fixture
def settings():
    return {}


class TestThings:
    @pytest.fixture
    async def thing(self):
        try:
            yield 1
        finally:
            pass
'''


def test_async_fixtures_get_pytest_asyncio_decorators_with_their_arguments_and_comments():
    edited = compiled(async_fixture_decorator(CONFTEST))
    expected = (CONFTEST
                .replace("from pytest import fixture\n", "from pytest import fixture\nimport pytest_asyncio\n")
                .replace('@pytest.fixture(scope="session")  # session on purpose',
                         '@pytest_asyncio.fixture(scope="session")  # session on purpose')
                .replace("@fixture\nasync def client", "@pytest_asyncio.fixture\nasync def client")
                .replace("    @pytest.fixture\n    async def thing",
                         "    @pytest_asyncio.fixture\n    async def thing"))
    assert edited.text == expected
    assert "@pytest.fixture\ndef settings" in edited.text  # a sync fixture is pytest's
    assert edited.line == 9  # the engine's decorator, one line lower for the import
    assert edited.description == "`@pytest_asyncio.fixture` on `engine`, `client`, `thing`"
    assert async_fixture_decorator(edited.text) is None
    assert edited.text.count("import pytest_asyncio") == 1


def test_only_the_named_async_fixtures_change():
    edited = compiled(async_fixture_decorator(CONFTEST, frozenset({"thing"})))
    assert edited.text.count("@pytest_asyncio.fixture") == 1
    assert "    @pytest_asyncio.fixture\n    async def thing" in edited.text
    assert async_fixture_decorator(CONFTEST, frozenset({"settings"})) is None


def test_a_fixture_keyword_turns_a_bare_decorator_into_a_call_and_replaces_a_different_value():
    bare = compiled(fixture_keyword(CONFTEST, "client", "loop_scope", '"session"'))
    assert bare.text == CONFTEST.replace("@fixture\nasync def client",
                                         '@fixture(loop_scope="session")\nasync def client')
    assert bare.line == 15
    replaced = compiled(fixture_keyword(CONFTEST, "engine", "scope", '"function"'))
    assert replaced.text == CONFTEST.replace('(scope="session")  # session', '(scope="function")  # session')
    added = compiled(fixture_keyword(CONFTEST, "engine", "loop_scope", '"session"'))
    assert '@pytest.fixture(scope="session", loop_scope="session")  # session on purpose' in added.text
    assert fixture_keyword(CONFTEST, "engine", "scope", "'session'") is None  # the same value, other quotes
    assert fixture_keyword(added.text, "engine", "loop_scope", '"session"') is None
    assert fixture_keyword(CONFTEST, "no_such_fixture", "scope", '"session"') is None


def test_a_fixture_keyword_on_a_pytest_asyncio_decorator_and_one_with_options_unpacked():
    source = "import pytest_asyncio\n\n\n@pytest_asyncio.fixture(**OPTIONS)\nasync def db():\n    yield 1\n"
    assert fixture_keyword(source, "db", "loop_scope", '"session"') is None
    source = source.replace("(**OPTIONS)", "")
    edited = compiled(fixture_keyword(source, "db", "loop_scope", '"session"'))
    assert '@pytest_asyncio.fixture(loop_scope="session")\nasync def db' in edited.text


# --- statements -----------------------------------------------------------------------------------------------

def test_a_statement_goes_right_after_the_yield_in_its_block():
    edited = compiled(insert_after_yield(CONFTEST, "engine", "await engine.dispose()"))
    assert edited.text == CONFTEST.replace("        yield conn\n",
                                           "        yield conn\n        await engine.dispose()\n")
    assert edited.line == 13
    assert insert_after_yield(edited.text, "engine", "await engine.dispose()") is None
    method = compiled(insert_after_yield(CONFTEST, "thing", "cleanup()"))
    assert "            yield 1\n            cleanup()\n        finally:" in method.text
    assert insert_after_yield(CONFTEST, "settings", "cleanup()") is None  # no yield


def test_a_statement_already_in_the_teardown_is_not_added_and_nested_yields_do_not_count():
    source = ("async def engine():\n"
              "    def inner():\n"
              "        yield 0\n"
              "    e = make()\n"
              "    try:\n"
              "        yield e\n"
              "    finally:\n"
              "        await e.dispose()  # always\n")
    assert insert_after_yield(source, "engine", "await  e.dispose()") is None
    edited = compiled(insert_after_yield(source, "engine", "log('done')"))
    assert "        yield e\n        log('done')\n    finally:" in edited.text
    assert "        yield 0\n    e = make()" in edited.text


def test_asyncclient_app_becomes_an_asgi_transport():
    source = ("import httpx\n"
              "from httpx import AsyncClient\n"
              "\n"
              "\n"
              "async def client(app):\n"
              '    async with AsyncClient(app=app, base_url="http://test") as c:  # in-process\n'
              "        yield c\n")
    edited = compiled(rewrite_asyncclient_app(source))
    assert edited.text == source.replace(
        "from httpx import AsyncClient\n", "from httpx import AsyncClient\nfrom httpx import ASGITransport\n").replace(
        "AsyncClient(app=app,", "AsyncClient(transport=ASGITransport(app=app),")
    assert edited.line == 7
    assert rewrite_asyncclient_app(edited.text) is None


def test_httpx_asyncclient_gets_httpx_asgitransport_without_an_import():
    source = ('import httpx\n\nclient = httpx.AsyncClient(\n    app=app,\n    base_url="http://test",\n)\n')
    edited = compiled(rewrite_asyncclient_app(source))
    assert edited.text == source.replace("    app=app,", "    transport=httpx.ASGITransport(app=app),")
    assert rewrite_asyncclient_app("client = AsyncClient(base_url='http://x')\n") is None


def test_a_block_is_appended_after_two_blank_lines_once():
    block = '@pytest.fixture(scope="session")\ndef anyio_backend():\n    return "asyncio"\n'
    source = "import pytest\n\nX = 1  # last line\n\n"
    edited = compiled(append_block(source, block))
    assert edited.text == "import pytest\n\nX = 1  # last line\n\n\n" + block
    assert edited.line == 6
    assert append_block(edited.text, block) is None
    crlf = compiled(append_block("X = 1\r\n", block))
    assert crlf.text == "X = 1\r\n\r\n\r\n" + block.replace("\n", "\r\n")


def test_a_function_goes_with_its_decorators_and_own_comments_a_section_comment_stays():
    source = ("import pytest\n"
              "\n"
              "\n"
              "# --- loops ---\n"
              "\n"
              "# pytest-asyncio 0.21's way\n"
              "@pytest.fixture(scope='session')  # shared\n"
              "def event_loop():\n"
              "    yield loop\n"
              "\n"
              "\n"
              "def other():\n"
              "    pass\n")
    edited = compiled(remove_function(source, "event_loop"))
    assert edited.text == "import pytest\n\n\n# --- loops ---\n\n\ndef other():\n    pass\n"
    assert edited.description == "removed `event_loop`"
    assert remove_function(edited.text, "event_loop") is None
    assert compiled(remove_function(source, "other")).text == source[:source.index("\n\n\ndef other")] + "\n"


# --- configuration --------------------------------------------------------------------------------------------

def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def pytest_reads(project_dir: Path) -> Path | None:
    """The file pytest itself picks (its rootdir/inifile discovery), the oracle for ``config_file``."""
    return locate_config(project_dir, [project_dir])[1]


@pytest.mark.parametrize(("files", "expected"), [
    ({}, None),
    ({"pytest.ini": "# nothing yet\n", "pyproject.toml": "[tool.pytest.ini_options]\nx = '1'\n"}, "pytest.ini"),
    ({".pytest.ini": "[pytest]\n", "tox.ini": "[pytest]\n"}, ".pytest.ini"),
    ({"pyproject.toml": "[tool.pytest.ini_options]\n", "tox.ini": "[pytest]\n"}, "pyproject.toml"),
    ({"pyproject.toml": "[tool.pytest]\nminversion = '8.0'\n", "setup.cfg": "[tool:pytest]\n"}, "pyproject.toml"),
    ({"pyproject.toml": "[project]\nname = 'x'\n", "tox.ini": "[pytest]\naddopts = -q\n"}, "tox.ini"),
    ({"tox.ini": "[tox]\nenvlist = py311\n", "setup.cfg": "[tool:pytest]\naddopts = -q\n"}, "setup.cfg"),
    ({"setup.cfg": "[metadata]\nname = x\n"}, None),
    ({"pytest.toml": "[pytest]\n", "pytest.ini": "[pytest]\n"}, "pytest.toml"),
])
def test_the_config_file_is_the_one_pytest_reads(tmp_path, files, expected):
    found = config_file(project(tmp_path, files))
    assert found == (tmp_path / expected if expected else None)
    assert found == (pytest_reads(tmp_path) if expected else None)


PYTEST_INI = """\
; the suite's options
[pytest]
addopts = -ra
asyncio_mode: strict
filterwarnings =
    error
    # third-party noise
    ignore::DeprecationWarning:somelib

markers =
    slow: slow tests

"""


def test_an_ini_option_is_replaced_on_its_line_and_its_separator_kept(tmp_path):
    root = project(tmp_path, {"pytest.ini": PYTEST_INI})
    assert ini_option(root, "asyncio_mode") == "strict"
    path, text, line = set_ini_options(root, {"asyncio_mode": "auto"})
    assert path == root / "pytest.ini"
    assert text == PYTEST_INI.replace("asyncio_mode: strict", "asyncio_mode: auto")
    assert line == 4
    path.write_text(text)
    assert set_ini_options(root, {"asyncio_mode": "auto"}) is None
    assert ini_option(root, "asyncio_mode") == "auto"


def test_a_multi_line_ini_value_is_replaced_completely_and_new_options_end_the_section(tmp_path):
    root = project(tmp_path, {"pytest.ini": PYTEST_INI})
    assert ini_option(root, "filterwarnings") == "error\nignore::DeprecationWarning:somelib"
    path, text, line = set_ini_options(root, {"filterwarnings": "error",
                                              "asyncio_default_fixture_loop_scope": "function"})
    assert text == PYTEST_INI.replace("    ignore::DeprecationWarning:somelib\n", "").replace(
        "    slow: slow tests\n", "    slow: slow tests\nasyncio_default_fixture_loop_scope = function\n")
    assert line == 5
    read = iniconfig.IniConfig("pytest.ini", data=text)["pytest"]
    assert read["filterwarnings"] == "error"
    assert read["markers"] == "slow: slow tests"
    assert read["asyncio_default_fixture_loop_scope"] == "function"


def test_only_pytests_section_of_tox_ini_changes(tmp_path):
    tox = ("[tox]\nenvlist = py311\n\n"
           "[pytest]\nasyncio_mode=strict\n\n"
           "# the test environment\n"
           "[testenv]\nasyncio_mode = strict\ncommands =\n    pytest {posargs}\n")
    root = project(tmp_path, {"tox.ini": tox, "setup.cfg": "[tool:pytest]\nasyncio_mode = strict\n"})
    path, text, line = set_ini_options(root, {"asyncio_mode": "auto", "asyncio_default_test_loop_scope": "function"})
    assert path == root / "tox.ini"
    assert text == tox.replace("asyncio_mode=strict\n",
                               "asyncio_mode=auto\nasyncio_default_test_loop_scope = function\n")
    assert line == 5
    read = iniconfig.IniConfig("tox.ini", data=text)
    assert read["testenv"]["asyncio_mode"] == "strict"
    assert read["pytest"]["asyncio_default_test_loop_scope"] == "function"


def test_setup_cfg_without_a_final_newline_gets_the_option_in_tool_pytest(tmp_path):
    root = project(tmp_path, {"setup.cfg": "[metadata]\nname = demo\n\n[tool:pytest]\ntestpaths = tests"})
    path, text, line = set_ini_options(root, {"asyncio_mode": "auto"})
    assert (path.name, line) == ("setup.cfg", 6)
    assert text == "[metadata]\nname = demo\n\n[tool:pytest]\ntestpaths = tests\nasyncio_mode = auto\n"


def test_a_pytest_ini_without_a_section_gets_one(tmp_path):
    root = project(tmp_path, {"pytest.ini": "# options go here\n"})
    path, text, line = set_ini_options(root, {"asyncio_mode": "auto"})
    assert text == "# options go here\n\n[pytest]\nasyncio_mode = auto\n"
    assert line == 4


def test_without_a_config_file_a_new_pytest_ini_holds_the_options(tmp_path):
    assert ini_option(tmp_path, "asyncio_mode") is None
    options = {"asyncio_mode": "auto", "filterwarnings": "\nerror\nignore::UserWarning"}
    path, text, line = set_ini_options(tmp_path, options)
    assert path == tmp_path / "pytest.ini" and not path.exists()  # nothing is written
    assert text == "[pytest]\nasyncio_mode = auto\nfilterwarnings =\n    error\n    ignore::UserWarning\n"
    assert line == 2
    read = iniconfig.IniConfig("pytest.ini", data=text)["pytest"]
    assert read["filterwarnings"] == "error\nignore::UserWarning"


PYPROJECT = """\
[project]
name = "demo"

[tool.pytest.ini_options]
# how pytest-asyncio runs this suite
asyncio_mode = "strict"  # explicit, on purpose
testpaths = ["tests"]

[tool.ruff]
line-length = 100  # wide
"""


def test_pyproject_ini_options_are_edited_through_tomlkit_keeping_comments(tmp_path):
    root = project(tmp_path, {"pyproject.toml": PYPROJECT})
    assert ini_option(root, "testpaths") == "tests"
    path, text, line = set_ini_options(root, {"asyncio_mode": "auto", "asyncio_default_fixture_loop_scope": "function"})
    assert path == root / "pyproject.toml"
    assert text == PYPROJECT.replace('"strict"  # explicit', '"auto"  # explicit').replace(
        'testpaths = ["tests"]\n', 'testpaths = ["tests"]\nasyncio_default_fixture_loop_scope = "function"\n')
    assert line == 6
    options = tomllib.loads(text)["tool"]["pytest"]["ini_options"]
    assert options["asyncio_default_fixture_loop_scope"] == "function"
    path.write_text(text)
    assert set_ini_options(root, {"asyncio_mode": "auto", "asyncio_default_fixture_loop_scope": "function"}) is None


def test_a_new_pyproject_option_goes_after_the_tables_last_key_not_under_the_next_tables_comment(tmp_path):
    source = ('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n\n# ====== lint ======\n[tool.ruff]\n'
              'line-length = 100\n')
    root = project(tmp_path, {"pyproject.toml": source})
    _, text, line = set_ini_options(root, {"asyncio_default_test_loop_scope": "session"})
    assert text == source.replace('"auto"\n', '"auto"\nasyncio_default_test_loop_scope = "session"\n', 1)
    assert line == 3


def test_pytest_9s_native_table_keeps_its_types(tmp_path):
    native = '[tool.pytest]\nminversion = "9.0"\nxfail_strict = false\nfilterwarnings = ["error"]\n'
    root = project(tmp_path, {"pyproject.toml": native})
    assert ini_option(root, "xfail_strict") == "false"
    path, text, line = set_ini_options(root, {"asyncio_mode": "auto", "xfail_strict": "true",
                                              "filterwarnings": "error\nignore::UserWarning"})
    assert line == 3
    assert tomllib.loads(text)["tool"]["pytest"] == {
        "minversion": "9.0", "xfail_strict": True, "filterwarnings": ["error", "ignore::UserWarning"],
        "asyncio_mode": "auto"}


def test_a_pyproject_that_is_not_toml_is_an_error_that_says_so(tmp_path):
    root = project(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options\nasyncio_mode = 'auto'\n"})
    with pytest.raises(FixError, match="not valid TOML"):
        set_ini_options(root, {"asyncio_mode": "auto"})


def test_the_strict_mode_repair_takes_an_import_pytest_it_left_unused_and_only_that():
    from kit.diagnose.repair.plan import _declared_async

    only_fixtures = ("import pytest\nfrom app.db import engine\n\n\n@pytest.fixture\nasync def db():\n"
                     "    yield engine\n")
    edited = _declared_async(only_fixtures)
    assert "import pytest\n" not in edited.text and "import pytest_asyncio\n" in edited.text
    assert edited.text.splitlines()[edited.line - 1].startswith("@pytest_asyncio.fixture"), edited
    still_used = only_fixtures + "\n\n@pytest.fixture\ndef plain():\n    return 1\n"
    assert "import pytest\n" in _declared_async(still_used).text
    assert _declared_async("import pytest\n\n\ndef test_x():\n    pass\n") is None  # no edit: its import untouched


SESSION_ENGINE_CONFTEST = '''import os

import pytest_asyncio
from sqlalchemy.ext.asyncio import create_async_engine


@pytest_asyncio.fixture(scope="session")
async def engine():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    yield engine
    await engine.dispose()
'''


@pytest.mark.parametrize("version, emits", [
    ("1.5.0", {"pytest.ini": ["asyncio_default_fixture_loop_scope = session",
                              "asyncio_default_test_loop_scope = session"]}),
    ("0.25.3", {"pytest.ini": ["asyncio_default_fixture_loop_scope = session"],
                "tests/conftest.py": ['pytest.mark.asyncio(loop_scope="session")', "import pytest\n"]}),
    ("0.21.2", {"tests/conftest.py": ['@pytest.fixture(scope="session")\ndef event_loop():', "import asyncio\n"]}),
    ("0.23.8", "upgrade pytest-asyncio to >= 0.24"),
])
def test_the_one_loop_repair_uses_what_the_installed_pytest_asyncio_honours(tmp_path, version, emits):
    """Each release line's own way to share one loop (checked by hand in kit matrix's environments of these
    versions: green on 1.5.0, 0.25.3 and 0.21.2); 0.23 has none, so kit says so instead of a repair that fails."""
    from kit.diagnose.model import Diagnosis, Finding
    from kit.diagnose.repair.plan import plan_repair

    root = project(tmp_path, {"pytest.ini": "[pytest]\nasyncio_mode = auto\n",
                              "tests/conftest.py": SESSION_ENGINE_CONFTEST,
                              "tests/test_a.py": "async def test_a(engine):\n    pass\n"})
    finding = Finding("tests/test_a.py::test_a", "call", "session-engine-function-loop", False, "RuntimeError",
                      "attached to a different loop")
    diagnosis = Diagnosis(str(root), 0, 1, 0, {"pytest-asyncio": version, "runners": {"pytest-asyncio": 1}}, [finding])
    outcome = plan_repair(finding, diagnosis, root)
    if isinstance(emits, str):
        assert isinstance(outcome, str) and emits in outcome, outcome
        return
    assert not isinstance(outcome, str), outcome
    changed = {change.file: change.text for change in outcome.changes}
    assert set(changed) == set(emits), changed
    for rel, needles in emits.items():
        assert all(needle in changed[rel] for needle in needles), changed[rel]
        if rel.endswith(".py"):
            compile(changed[rel], rel, "exec")
    if version != "1.5.0":
        assert "asyncio_default_test_loop_scope" not in changed.get("pytest.ini", "")  # an option 0.25 ignores
