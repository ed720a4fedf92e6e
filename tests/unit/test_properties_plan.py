"""Hypothesis properties of the launch planner: job text never becomes an option; plans are deterministic."""

from hypothesis import given, settings
from hypothesis import strategies as st

from glidein_singularity.plan import LaunchPlan, Refusal, shell_unsafe
from glidein_singularity.sources import SourcePolicy
from tests.unit.plan_fixtures import EL9, EL9_REAL, LAUNCHER, SANDBOX, SIF, run_plan

NODE_ENV = {"_CONDOR_SCRATCH_DIR": SANDBOX, "PATH": "/usr/bin:/bin"}  # what run_plan's starter sets
#: Where the fixtures' filesystem resolves the images above (others are not links).
PATHS_REAL = {EL9: EL9_REAL}

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


STEERING = st.sampled_from(
    [
        "APPTAINER_BINDPATH",
        "APPTAINERENV_LD_PRELOAD",
        "SINGULARITY_BIND",
        "SINGULARITYENV_PATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "LOCPATH",
        "GCONV_PATH",
        "PATH",
        "APPTAINER_CONTAINER",
        "GS_IN_CONTAINER",
        "LD_DEBUG",
        "MALLOC_CHECK_",
        "GLIBC_TUNABLES",
        "BASH_ENV",
        "SHELLOPTS",
    ]
)
SAFE_VALUES = st.text(
    st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="/._-"), max_size=10
)


@settings(max_examples=150, deadline=None)
@given(
    variables=st.dictionaries(STEERING, SAFE_VALUES, min_size=1, max_size=5),
    policy=st.sampled_from(["", "keepall", "clearall", "osgset", "condorset", "gwmsset", "clear"]),
    hide=st.booleans(),
)
def test_job_steering_variables_never_reach_the_runtime(variables, policy, hide):
    """Whatever the environment policy, runtime-steering and loader variables stay out of the runtime's
    environment, whether the job set them (its Environment) or they came with the node's environment
    (where a job could have put them unseen), and a container marker never makes the wrapper run the
    job bare. An Environment HTCondor cannot read either is refused, as the starter would refuse it."""
    text = _environment_text(variables) + (" X='unterminated" if hide else "")
    for job, inherited in (({"Environment": text}, {}), ({}, variables)):
        result = run_plan(job, MACHINE, settings={"container_env": policy}, environ=inherited)
        if job and (hide or any(shell_unsafe(name) for name in variables)):
            # unreadable, or a shell start-up variable that reached the wrapper (no hook moved it)
            assert isinstance(result, Refusal)
            assert (False, True) == (result.requeue, result.job_caused)
            continue
        assert isinstance(result, LaunchPlan)
        assert result.use_container
        env = result.environment(dict(NODE_ENV, **variables))
        # a steering variable reaches the runtime only with the value the planner itself chose
        leaked = {name for name in variables if name in env and name not in result.env_set}
        # the node's own *ENV_ presets only act inside the container (GlideinWMS keeps them)
        allowed = {name for name in variables if name.startswith(("APPTAINERENV_", "SINGULARITYENV_"))}
        assert leaked <= {"GS_IN_CONTAINER"} | (allowed if inherited else set())


POLICY_PATTERNS = st.lists(
    st.sampled_from(
        ["docker://atlas/*", "docker://*:devel", "/cvmfs/*", "/cvmfs/atlas.cern.ch/*", "oras://*", "*"]
    ),
    max_size=2,
).map(",".join)
POLICY_IMAGES = st.sampled_from(
    [
        "docker://atlas/x",
        "docker://atlas/x:devel",
        "docker://evil/x",
        "oras://ghcr.io/x",
        "docker://ghcr.io/atlas/y",
        EL9,
        SIF,
    ]
)


@settings(max_examples=150, deadline=None)
@given(image=POLICY_IMAGES, allowed=POLICY_PATTERNS, denied=POLICY_PATTERNS, entry=POLICY_PATTERNS)
def test_planner_never_launches_a_refused_source(image, allowed, denied, entry):
    """A plan's image always passes the image-source policy; a refusal names the policy."""
    lists = {"allowed_sources": allowed, "denied_sources": denied, "entry_allowed_sources": entry}
    machine = dict(MACHINE, SINGULARITY_IMAGE_RESTRICTIONS="cvmfs,remote")
    result = run_plan({"SingularityImage": image}, machine, settings=lists)
    rules = SourcePolicy.from_settings(
        {
            "GS_ALLOWED_IMAGE_SOURCES": allowed,
            "GS_DENIED_IMAGE_SOURCES": denied,
            "GS_ENTRY_ALLOWED_IMAGE_SOURCES": entry,
        }
    )
    problem = rules.problem(image, PATHS_REAL.get(image))
    if problem is None:
        assert isinstance(result, LaunchPlan)
    else:
        assert isinstance(result, Refusal)
        expected = "the job's SingularityImage is not an allowed image source: " + problem
        assert (expected, True, True) == (result.message, result.requeue, result.job_caused)
