"""The negotiation table: one row per cell, defaults, case, invalid values."""

import ast
import pathlib

import pytest

from glidein_singularity import policy
from glidein_singularity.policy import (
    NEGOTIATION_TABLE,
    REQUIRE_VALUES,
    USE_VALUES,
    Negotiation,
    Outcome,
    negotiate,
)

F, D, N, P, R = Outcome.FAIL, Outcome.DISABLE, Outcome.NEVER, Outcome.PREFERRED, Outcome.REQUIRED

# Reference §2, row by row (frontend Use) x column (factory Require).
CELLS = [
    ("DISABLE_GWMS", "NEVER", D),
    ("DISABLE_GWMS", "OPTIONAL", D),
    ("DISABLE_GWMS", "PREFERRED", D),
    ("DISABLE_GWMS", "REQUIRED", D),
    ("DISABLE_GWMS", "REQUIRED_GWMS", F),
    ("NEVER", "NEVER", N),
    ("NEVER", "OPTIONAL", N),
    ("NEVER", "PREFERRED", N),
    ("NEVER", "REQUIRED", F),
    ("NEVER", "REQUIRED_GWMS", F),
    ("OPTIONAL", "NEVER", N),
    ("OPTIONAL", "OPTIONAL", N),
    ("OPTIONAL", "PREFERRED", P),
    ("OPTIONAL", "REQUIRED", R),
    ("OPTIONAL", "REQUIRED_GWMS", R),
    ("PREFERRED", "NEVER", N),
    ("PREFERRED", "OPTIONAL", P),
    ("PREFERRED", "PREFERRED", P),
    ("PREFERRED", "REQUIRED", R),
    ("PREFERRED", "REQUIRED_GWMS", R),
    ("REQUIRED", "NEVER", F),
    ("REQUIRED", "OPTIONAL", R),
    ("REQUIRED", "PREFERRED", R),
    ("REQUIRED", "REQUIRED", R),
    ("REQUIRED", "REQUIRED_GWMS", R),
]


@pytest.mark.parametrize(
    ("use", "require", "expected"),
    [pytest.param(u, r, o, id="{}x{}".format(u, r)) for u, r, o in CELLS],
)
def test_cell(use, require, expected):
    """Each cell of the reference table gives its outcome."""
    assert expected == negotiate(use, require).outcome


def test_table_covers_every_cell_exactly():
    """NEGOTIATION_TABLE has exactly the 25 cells of the reference table."""
    assert {(u, r): o for u, r, o in CELLS} == dict(NEGOTIATION_TABLE)


def test_table_is_read_only():
    """The single source of truth cannot be modified by a caller."""
    with pytest.raises(TypeError):
        NEGOTIATION_TABLE[("NEVER", "NEVER")] = Outcome.REQUIRED  # type: ignore[index]


def test_value_lists():
    """The accepted values are GlideinWMS's, in its order."""
    expected = (
        ("DISABLE_GWMS", "NEVER", "OPTIONAL", "PREFERRED", "REQUIRED"),
        ("NEVER", "OPTIONAL", "PREFERRED", "REQUIRED", "REQUIRED_GWMS"),
    )
    assert expected == (USE_VALUES, REQUIRE_VALUES)


def test_outcome_values_are_names():
    """Each Outcome's value is its name."""
    assert [o.name for o in Outcome] == [o.value for o in Outcome]


@pytest.mark.parametrize(
    ("use", "require", "expected"),
    [
        pytest.param(None, None, ("DISABLE_GWMS", "OPTIONAL", D), id="both-unset"),
        pytest.param("", "", ("DISABLE_GWMS", "OPTIONAL", D), id="both-empty"),
        pytest.param("   ", "\t", ("DISABLE_GWMS", "OPTIONAL", D), id="both-blank"),
        pytest.param(None, "REQUIRED_GWMS", ("DISABLE_GWMS", "REQUIRED_GWMS", F), id="use-unset-gwms"),
        pytest.param("PREFERRED", None, ("PREFERRED", "OPTIONAL", P), id="require-unset-preferred"),
        pytest.param("OPTIONAL", "", ("OPTIONAL", "OPTIONAL", N), id="require-empty-optional"),
        pytest.param("REQUIRED", None, ("REQUIRED", "OPTIONAL", R), id="require-unset-required"),
    ],
)
def test_defaults(use, require, expected):
    """Unset frontend means DISABLE_GWMS, unset factory means OPTIONAL."""
    result = negotiate(use, require)
    assert expected == (result.use, result.require, result.outcome)


@pytest.mark.parametrize(
    ("use", "require", "expected"),
    [
        pytest.param("preferred", "optional", ("PREFERRED", "OPTIONAL", P), id="lower"),
        pytest.param("Required", "Required_Gwms", ("REQUIRED", "REQUIRED_GWMS", R), id="mixed"),
        pytest.param(" never ", "\tREQUIRED\n", ("NEVER", "REQUIRED", F), id="blanks"),
        pytest.param("disable_gwms", "required", ("DISABLE_GWMS", "REQUIRED", D), id="lower-disable"),
    ],
)
def test_case_and_blanks(use, require, expected):
    """Values are case-insensitive and surrounding blanks are ignored."""
    result = negotiate(use, require)
    assert expected == (result.use, result.require, result.outcome)


@pytest.mark.parametrize(
    ("use", "require", "expected"),
    [
        pytest.param(
            "YES",
            "OPTIONAL",
            Negotiation(
                F,
                "YES",
                "OPTIONAL",
                "GLIDEIN_Singularity_Use='YES' is not valid; accepted values: "
                "DISABLE_GWMS, NEVER, OPTIONAL, PREFERRED, REQUIRED",
                "VO_Config",
            ),
            id="use-invalid",
        ),
        pytest.param(
            "PREFERRED",
            " GWMS_DISABLE ",
            Negotiation(
                F,
                "PREFERRED",
                "GWMS_DISABLE",
                "GLIDEIN_SINGULARITY_REQUIRE='GWMS_DISABLE' is not valid; accepted values: "
                "NEVER, OPTIONAL, PREFERRED, REQUIRED, REQUIRED_GWMS",
                "VO_Config",
            ),
            id="require-invalid-doc-misspelling",
        ),
        pytest.param(
            "prefered",
            "REQUIERD",
            Negotiation(
                F,
                "prefered",
                "REQUIERD",
                "GLIDEIN_Singularity_Use='prefered' is not valid; accepted values: "
                "DISABLE_GWMS, NEVER, OPTIONAL, PREFERRED, REQUIRED (did you mean PREFERRED?); "
                "GLIDEIN_SINGULARITY_REQUIRE='REQUIERD' is not valid; accepted values: "
                "NEVER, OPTIONAL, PREFERRED, REQUIRED, REQUIRED_GWMS (did you mean REQUIRED?)",
                "VO_Config",
            ),
            id="both-invalid-typos",
        ),
        pytest.param(
            "REQUIRED_GWMS",
            "OPTIONAL",
            Negotiation(
                F,
                "REQUIRED_GWMS",
                "OPTIONAL",
                "GLIDEIN_Singularity_Use='REQUIRED_GWMS' is not valid; accepted values: "
                "DISABLE_GWMS, NEVER, OPTIONAL, PREFERRED, REQUIRED (did you mean REQUIRED?)",
                "VO_Config",
            ),
            id="factory-only-value-on-frontend",
        ),
    ],
)
def test_invalid(use, require, expected):
    """Invalid values fail as VO_Config with a message listing the accepted values."""
    assert expected == negotiate(use, require)


@pytest.mark.parametrize(
    ("use", "require", "expected"),
    [
        pytest.param(
            "REQUIRED",
            "NEVER",
            "the frontend requires containers but the factory entry forbids them "
            "(GLIDEIN_Singularity_Use=REQUIRED, GLIDEIN_SINGULARITY_REQUIRE=NEVER)",
            id="required-never",
        ),
        pytest.param(
            "NEVER",
            "REQUIRED_GWMS",
            "the frontend never wants containers but the factory entry requires them "
            "(GLIDEIN_Singularity_Use=NEVER, GLIDEIN_SINGULARITY_REQUIRE=REQUIRED_GWMS)",
            id="never-required-gwms",
        ),
        pytest.param(
            None,
            "REQUIRED_GWMS",
            "the factory entry requires GlideinWMS container support but the frontend disabled it "
            "(GLIDEIN_Singularity_Use=DISABLE_GWMS, GLIDEIN_SINGULARITY_REQUIRE=REQUIRED_GWMS)",
            id="disable-required-gwms",
        ),
    ],
)
def test_table_fail_reason(use, require, expected):
    """Table FAILs are VO_Config errors that name both attributes."""
    result = negotiate(use, require)
    assert (F, "VO_Config", expected) == (result.outcome, result.error_type, result.reason)


@pytest.mark.parametrize(
    ("use", "require", "expected"),
    [
        pytest.param(
            "DISABLE_GWMS",
            "REQUIRED",
            "GlideinWMS container support is disabled by the frontend "
            "(GLIDEIN_Singularity_Use=DISABLE_GWMS, GLIDEIN_SINGULARITY_REQUIRE=REQUIRED)",
            id="disable",
        ),
        pytest.param(
            "OPTIONAL",
            "OPTIONAL",
            "containers are not used "
            "(GLIDEIN_Singularity_Use=OPTIONAL, GLIDEIN_SINGULARITY_REQUIRE=OPTIONAL)",
            id="never",
        ),
        pytest.param(
            "PREFERRED",
            "PREFERRED",
            "containers are used if a runtime and an image work, else jobs run without "
            "(GLIDEIN_Singularity_Use=PREFERRED, GLIDEIN_SINGULARITY_REQUIRE=PREFERRED)",
            id="preferred",
        ),
        pytest.param(
            "OPTIONAL",
            "REQUIRED_GWMS",
            "containers are required "
            "(GLIDEIN_Singularity_Use=OPTIONAL, GLIDEIN_SINGULARITY_REQUIRE=REQUIRED_GWMS)",
            id="required",
        ),
    ],
)
def test_success_reason(use, require, expected):
    """Non-failing outcomes carry no error type and a reason naming both inputs."""
    result = negotiate(use, require)
    assert (None, expected) == (result.error_type, result.reason)


def test_module_is_pure():
    """policy.py imports no I/O module."""
    tree = ast.parse(pathlib.Path(policy.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert set() == imported & {"os", "subprocess", "io", "shutil", "pathlib", "sys", "tempfile"}
