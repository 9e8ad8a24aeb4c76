import pytest


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\naddopts = -p pytest_owners.plugin\n")
    return pytester


@pytest.fixture
def golden_summary(project: pytest.Pytester) -> str:
    # The expected summary lives next to the examples (pytester_example_dir is not configured: an ERROR).
    path = project.copy_example("owners_summary.txt")
    return path.read_text()
