"""The project files users rely on stay consistent with each other."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"] + project["optional-dependencies"]["test"])
    listed = _names([line.strip()[2:] for line in (REPO / "environment.yml").read_text().splitlines()
                     if line.strip().startswith("- ") and not line.strip().startswith("- -e")])
    assert wanted <= listed, wanted - listed


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    command = re.search(r"^(pip install -e \"\.\[test\]\" && pytest)\b", readme, re.M).group(1)
    assert command in (REPO / ".ci" / "run").read_text().splitlines()


def test_docker_compose_test_db_is_a_test_database():
    compose = (REPO / "docker-compose.yml").read_text()
    assert "test-db:" in compose and "healthcheck:" in compose
    assert re.search(r"POSTGRES_DB: \w*test", compose)
