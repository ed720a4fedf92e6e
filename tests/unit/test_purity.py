"""Pure modules do no I/O: they import no os/subprocess/io/shutil/pathlib and never call open()."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "src" / "glidein_singularity"
PURE_MODULES = (
    "policy",
    "images",
    "classad",
    "plan",
    "attributes",
    "_record",
    "errors",
    "startexpr",
    "sources",
    "grammar",
    "launch_options",
    "launch_env",
    "settings",
    "condor_words",
    "jobenv",
    "store",
    "adverts",
    "node/health_rules",
)
BANNED_IMPORTS = {"os", "subprocess", "io", "shutil", "pathlib", "tempfile", "socket", "glob"}
BANNED_CALLS = {"open", "print", "input", "exec", "eval"}


def _violations(path):
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                "import " + alias.name for alias in node.names if alias.name.split(".")[0] in BANNED_IMPORTS
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in BANNED_IMPORTS:
                found.append("from {} import".format(node.module))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BANNED_CALLS:
            found.append("{}() at line {}".format(node.func.id, node.lineno))
    return found


@pytest.mark.parametrize("name", PURE_MODULES)
def test_pure_module_does_no_io(name):
    """The module neither imports an I/O module nor calls open/print."""
    assert [] == _violations(PACKAGE / (name + ".py"))


WRAPPER_HOT_PATH = (
    "_record",
    "classad",
    "images",
    "plan",
    "sources",
    "ads",
    "errors",
    "grammar",
    "launch_options",
    "launch_env",
    "settings",
    "store",
    "jobenv",
    "condor_words",
    "node/wrapper",
)
SLOW_IMPORTS = {
    "typing",
    "re",
    "enum",
    "collections",
    "json",
    "shlex",
    "subprocess",
    "dataclasses",
    "datetime",
}


@pytest.mark.parametrize("name", WRAPPER_HOT_PATH)
def test_wrapper_hot_path_avoids_slow_imports(name):
    """Modules on the wrapper's launch path import no slow module at module level (typing only for mypy)."""
    tree = ast.parse((PACKAGE / (name + ".py")).read_text())
    top_level = []
    for node in tree.body:  # module level only: lazy imports inside functions are allowed
        if isinstance(node, ast.Import):
            top_level += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top_level.append(node.module.split(".")[0])
    assert [] == [module for module in top_level if module in SLOW_IMPORTS]
