"""The benchmark's phase timer (``benchmarks/inbed/phases.py``) takes the job wrapper's steps in the
wrapper's order: a step added to, removed from or moved in ``node/wrapper.main`` fails this test until
the timer follows (the product carries no timing code, so the timer restates the steps)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: The wrapper's steps up to its plan (what the timer measures), by the name each is called by.
STEPS = {"unlink", "read_glidein_config", "chirp_path", "starter_cannot_see", "from_starter", "plan"}


def _steps(path, function):
    """The STEPS called in ``function`` of ``path``, in source order, up to the first ``plan``."""
    tree = ast.parse(path.read_text())
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    calls = sorted(
        (n for n in ast.walk(body) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)
    )
    names = []
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name in STEPS:
            names.append(name)
        if name == "plan":
            break
    return names


def test_phase_timer_follows_the_wrapper():
    """Same steps, in the same order."""
    wrapper = _steps(ROOT / "src" / "glidein_singularity" / "node" / "wrapper.py", "main")
    timer = _steps(ROOT / "benchmarks" / "inbed" / "phases.py", "main")
    assert [
        "unlink",
        "read_glidein_config",
        "chirp_path",
        "starter_cannot_see",
        "from_starter",
        "plan",
    ] == wrapper
    assert wrapper == timer
