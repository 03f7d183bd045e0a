"""Shared fixtures: the project in a temporary git + DVC repo with tiny params, built once per
session for the tests that drive DVC itself (marked `dvc`)."""

import pytest
from dvc_repo import Built, build, dvc, run


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    return build(tmp_path_factory.mktemp("project"))


@pytest.fixture
def clean(built):
    repo = built.path
    yield repo
    run(repo, "git", "reset", "-q", "--hard")
    run(repo, "git", "clean", "-qfd")
    dvc(repo, "checkout", "-f", "-q")


