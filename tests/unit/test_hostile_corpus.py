"""The hostile corpus (tests/data/hostile) through the planner, in process, on a fake node's real files.

Each case is what a starter could hand the job wrapper; the planner must give exactly the expected
launch (job text only in the image position and the job's own argv, the runtime's environment free of
the job's steering variables) or the expected refusal. tests/scripts/test_hostile_wrapper.py runs the
same cases through the real wrapper script.
"""

from __future__ import annotations

import filecmp
import importlib.util
from pathlib import Path
from typing import Union

import pytest

from glidein_singularity.errors import AdError
from glidein_singularity.inputs import from_starter
from glidein_singularity.plan import LaunchPlan, Refusal
from tests.hostile_node import CORPUS, Node, case_names

MAKER = CORPUS.parent / "make_corpus.py"


def decide(node: Node) -> Union[LaunchPlan, Refusal]:
    """Plan the case as the wrapper does: the same inputs builder, from the node's files and starter
    environment (the wrapper's python runs with -S: no ClassAd bindings, literals only)."""
    try:
        inputs = from_starter(
            node.environ(), node.argv(), str(node.glidein), cwd=str(node.sandbox), bindings=False
        )
    except AdError as exc:
        return Refusal("AdError: {}".format(exc), (), True)
    return inputs.plan()


def test_corpus_is_large_enough():
    """The issue asks for at least 150 hostile cases."""
    assert len(case_names()) >= 150


def test_corpus_regenerates_identically(tmp_path):
    """make_corpus.py writes exactly the committed files (the corpus is reviewed as code)."""
    spec = importlib.util.spec_from_file_location("make_corpus", MAKER)
    assert spec is not None
    assert spec.loader is not None
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    maker.write_corpus(str(tmp_path / "cases"))

    def differences(left: Path, right: Path) -> list[str]:
        cmp = filecmp.dircmp(left, right)
        found = [
            str(left / name) for name in cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files
        ]
        _, mismatch, errors = filecmp.cmpfiles(left, right, cmp.common_files, shallow=False)
        found += [str(left / name) for name in mismatch + errors]
        for name in cmp.common_dirs:
            found += differences(left / name, right / name)
        return found

    assert [] == differences(CORPUS, tmp_path / "cases")


@pytest.mark.parametrize("name", case_names())
def test_planner_on_hostile_case(name, tmp_path):
    """The planner gives the case's expected plan or refusal, to the letter."""
    node = Node(name, tmp_path)
    expected = node.expected()
    result = decide(node)
    if expected["outcome"] == "refusal":
        assert isinstance(result, Refusal), result
        assert (expected["message"], expected["requeue"]) == (result.message, result.requeue)
        return
    assert isinstance(result, LaunchPlan), result
    assert (expected["container"], expected["argv"]) == (result.use_container, list(result.argv))
    if expected["container"]:
        env = result.environment(node.environ())
        assert expected["env"] == {name: env.get(name) for name in expected["env"]}
        assert [] == [name for name in expected["env_absent"] if name in env]
