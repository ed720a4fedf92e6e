"""Hypothesis properties of the launch planner: job text never becomes an option; plans are deterministic."""

from hypothesis import given, settings
from hypothesis import strategies as st

from glidein_singularity.plan import LaunchPlan, Refusal
from tests.unit.plan_fixtures import LAUNCHER, run_plan

MACHINE = {"SINGULARITY_IMAGE_RESTRICTIONS": "remote,cvmfs"}
TEXT = st.text(max_size=30)
NAMES = st.text(
    st.characters(whitelist_categories=("Lu", "Ll"), whitelist_characters="_"), min_size=1, max_size=12
)
JOB_ENV = st.dictionaries(
    NAMES, st.text(st.characters(blacklist_characters="'\x00"), max_size=12), max_size=5
)


def _environment_text(variables):
    return " ".join("{}='{}'".format(name, value) for name, value in variables.items())


def _base_prefix():
    base = run_plan(machine=dict(MACHINE, SINGULARITY_IMAGES_DICT="default:docker://base/image"))
    return base.argv[: base.argv.index("docker://base/image")]


BASE_PREFIX = _base_prefix()


@settings(max_examples=150, deadline=None)
@given(image=TEXT, variables=JOB_ENV, argv=st.lists(TEXT, min_size=1, max_size=5))
def test_job_text_never_in_option_position(image, variables, argv):
    """Job-controlled text appears only as the image argument and in the job's own argv."""
    job = {"SingularityImage": "docker://" + image, "Environment": _environment_text(variables)}
    result = run_plan(job, MACHINE, environ=variables, argv=tuple(argv))
    if isinstance(result, Refusal):
        return
    assert isinstance(result, LaunchPlan)
    image_index = len(result.argv) - len(argv) - len(LAUNCHER) - 1
    assert result.image == result.argv[image_index]
    assert BASE_PREFIX == result.argv[:image_index]
    assert tuple(result.argv[image_index + 1 : image_index + 1 + len(LAUNCHER)]) == LAUNCHER


@settings(max_examples=100, deadline=None)
@given(
    job=st.fixed_dictionaries(
        {},
        optional={
            "SingularityImage": TEXT,
            "REQUIRED_OS": TEXT,
            "SingularityBindCVMFS": st.booleans(),
            "Environment": TEXT,
        },
    ),
    machine=st.fixed_dictionaries(
        {},
        optional={
            "HAS_SINGULARITY": st.booleans(),
            "GWMS_SINGULARITY_STATUS": st.sampled_from(["REQUIRED", "PREFERRED", "NEVER"]),
            "AssignedGPUs": st.sampled_from(["CUDA0", "10000", "", "GPU-1,GPU-2"]),
            "GLIDEIN_REQUIRED_OS": TEXT,
        },
    ),
    argv=st.lists(TEXT, max_size=4),
)
def test_planner_is_deterministic(job, machine, argv):
    """The same inputs always give the same plan or refusal."""
    first = run_plan(job, machine, argv=tuple(argv))
    assert isinstance(first, (LaunchPlan, Refusal))
    assert first == run_plan(job, machine, argv=tuple(argv))
