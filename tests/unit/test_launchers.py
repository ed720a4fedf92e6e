"""The three Python launchers look for the package in the same places, in the same order.

Each launcher (``gs_job_wrapper.py``, ``gs-prepare-job``, ``gs-health``) must stand alone: HTCondor runs
it from a glidein directory or a checkout where a shared helper file could be missing, and the job
wrapper runs under ``python -I -S`` with nothing of ours on ``sys.path``. So each keeps its own small
locator, and this test keeps the copies identical.
"""

import ast
import pathlib

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "glidein_scripts"
LAUNCHERS = ("gs_job_wrapper.py", "gs-prepare-job", "gs-health")


def _search(name):
    """The candidate list and the loop of the launcher's ``_package_dir`` (as ast dumps)."""
    tree = ast.parse((SCRIPTS / name).read_text())
    function = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "_package_dir"
    )
    loop = next(node for node in function.body if isinstance(node, ast.For))
    return ast.dump(function.body[0]), ast.dump(loop)


@pytest.mark.parametrize("name", LAUNCHERS[1:])
def test_launchers_locate_the_package_alike(name):
    """Same directory, same candidates in the same order, same test of each (failed if one drifts)."""
    assert _search(LAUNCHERS[0]) == _search(name)
