"""The operator docs show the steps the real-glidein integration test runs, verbatim."""

import pathlib

import pytest

from tests.testbed.real_glidein import STEPS

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("doc", ["docs/deploy-factory.md", "docs/guides/factory-operator.md"])
def test_docs_show_the_tested_steps(doc):
    """Each command of tests/testbed/real_glidein.STEPS is a console line of both operator pages."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    assert [step for step in STEPS if "$ " + step not in lines] == []
