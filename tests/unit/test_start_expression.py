"""The START term in condor_config.d/60-glidein-singularity-start.config, evaluated by HTCondor's own
ClassAd library against (slot ad, job ad) pairs: container-aware matchmaking as a table."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from glidein_singularity.startexpr import CONFIG_NAME, expand, parse_macros, start_term

classad = pytest.importorskip("classad2", reason="the HTCondor ClassAd bindings (pip install htcondor)")

CONFIG = Path(__file__).resolve().parents[2] / "condor_config.d" / CONFIG_NAME
TABLE = parse_macros(CONFIG.read_text())
GS_START = expand("$(GS_START)", TABLE)

CONTAINER_SLOT = {
    "HAS_SINGULARITY": True,
    "GWMS_SINGULARITY_STATUS": "PREFERRED",
    "SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs",
    "SINGULARITY_OS_LIST": "rhel9,default",
}
REQUIRED_SLOT = dict(CONTAINER_SLOT, GWMS_SINGULARITY_STATUS="REQUIRED")
NO_CONTAINER_SLOT = {"HAS_SINGULARITY": False, "GWMS_SINGULARITY_STATUS": "NEVER"}
PLAIN_SLOT: dict[str, object] = {}
CVMFS_IMG = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"


def start(slot: dict[str, object], job: dict[str, object]) -> object:
    """Evaluate GS_START with the slot as MY and the job as TARGET."""
    machine = classad.ClassAd()
    machine.update(slot)
    machine["Requirements"] = classad.ExprTree(GS_START)
    target = classad.ClassAd()
    target.update(job)
    return target.matches(machine)  # evaluates machine.Requirements with MY=machine, TARGET=job


@pytest.mark.parametrize(
    ("slot", "job", "expected"),
    [
        pytest.param(CONTAINER_SLOT, {}, True, id="plain-job-container-slot"),
        pytest.param(NO_CONTAINER_SLOT, {}, True, id="plain-job-never-slot"),
        pytest.param(PLAIN_SLOT, {}, True, id="plain-job-slot-without-attributes"),
        pytest.param(CONTAINER_SLOT, {"SingularityImage": CVMFS_IMG}, True, id="cvmfs-image-allowed"),
        pytest.param(
            NO_CONTAINER_SLOT, {"SingularityImage": CVMFS_IMG}, False, id="image-needs-has-singularity"
        ),
        pytest.param(
            PLAIN_SLOT, {"SingularityImage": CVMFS_IMG}, False, id="image-undefined-has-singularity"
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_HEALTHY=False),
            {"SingularityImage": CVMFS_IMG},
            False,
            id="image-unhealthy-slot",
        ),
        pytest.param(
            CONTAINER_SLOT, {"SingularityImage": "docker://centos:7"}, False, id="remote-needs-remote"
        ),
        pytest.param(
            dict(CONTAINER_SLOT, SINGULARITY_IMAGE_RESTRICTIONS="cvmfs,remote"),
            {"SingularityImage": "docker://centos:7"},
            True,
            id="remote-allowed",
        ),
        pytest.param(
            CONTAINER_SLOT, {"SingularityImage": "/home/u/img.sif"}, False, id="local-path-outside-cvmfs"
        ),
        pytest.param(
            CONTAINER_SLOT, {"SingularityImage": "file:///cvmfs/x"}, False, id="file-uri-is-local-not-cvmfs"
        ),
        pytest.param(
            dict(CONTAINER_SLOT, SINGULARITY_IMAGE_RESTRICTIONS="remote"),
            {"SingularityImage": "/home/u/img.sif"},
            True,
            id="local-path-without-cvmfs-restriction",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_IMAGE_ALLOW_REGEX="^/cvmfs/singularity\\.opensciencegrid\\.org/"),
            {"SingularityImage": CVMFS_IMG},
            True,
            id="allowlist-match",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_IMAGE_ALLOW_REGEX="^/cvmfs/atlas\\.cern\\.ch/"),
            {"SingularityImage": CVMFS_IMG},
            False,
            id="allowlist-miss",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_IMAGE_DENY_REGEX="osgvo"),
            {"SingularityImage": CVMFS_IMG},
            False,
            id="denylist-match",
        ),
        pytest.param(CONTAINER_SLOT, {"REQUIRED_OS": "rhel9"}, True, id="os-served"),
        pytest.param(CONTAINER_SLOT, {"REQUIRED_OS": "rhel7,rhel9"}, True, id="os-one-of-list-served"),
        pytest.param(CONTAINER_SLOT, {"REQUIRED_OS": "rhel7"}, False, id="os-not-served"),
        pytest.param(CONTAINER_SLOT, {"REQUIRED_OS": "any"}, True, id="os-any"),
        pytest.param(CONTAINER_SLOT, {"REQUIRED_OS": "ANY"}, True, id="os-any-case"),
        pytest.param(NO_CONTAINER_SLOT, {"REQUIRED_OS": "rhel9"}, False, id="os-needs-containers"),
        pytest.param(PLAIN_SLOT, {"REQUIRED_OS": "rhel9"}, False, id="os-slot-without-os-list"),
        pytest.param(
            CONTAINER_SLOT,
            {"REQUIRED_OS": "rhel7", "SingularityImage": CVMFS_IMG},
            True,
            id="image-wins-over-os",
        ),
        pytest.param(REQUIRED_SLOT, {}, True, id="required-slot-working"),
        pytest.param(dict(REQUIRED_SLOT, HAS_SINGULARITY=False), {}, False, id="required-slot-broken"),
        pytest.param(dict(REQUIRED_SLOT, GS_HEALTHY=False), {}, False, id="required-slot-unhealthy"),
        pytest.param(
            CONTAINER_SLOT, {"Environment": "A=1 LD_PRELOAD=./x.so"}, False, id="job-sets-ld-preload"
        ),
        pytest.param(
            CONTAINER_SLOT, {"Environment": "LD_LIBRARY_PATH=. B=2"}, False, id="job-sets-ld-library-path"
        ),
        pytest.param(CONTAINER_SLOT, {"Env": "A=1;LD_AUDIT=/srv/a.so"}, False, id="old-env-sets-ld-audit"),
        pytest.param(CONTAINER_SLOT, {"Environment": "MY_LD_PRELOAD=1 X=LOCPATH"}, True, id="similar-names"),
        pytest.param(
            CONTAINER_SLOT, {"Environment": "BUILD_DIR=/b MY_ENV=1 ENVX=2"}, True, id="ld-inside-names"
        ),
        pytest.param(CONTAINER_SLOT, {"Environment": 7}, True, id="environment-not-a-string"),
        pytest.param(CONTAINER_SLOT, {"Environment": "LD_PRE''LOAD=x"}, False, id="v2-quotes-join-a-name"),
        pytest.param(CONTAINER_SLOT, {"Environment": "A='x y'LD_DEBUG=all"}, True, id="v2-quoted-glued-word"),
        pytest.param(CONTAINER_SLOT, {"Environment": "'LD_AUDIT=x'"}, False, id="v2-quoted-word"),
        pytest.param(
            CONTAINER_SLOT,
            {"Environment": None, "EnvDelim": "Z", "Env": "FOOQ=1ZLD_PRELOAD=/x.so"},
            False,
            id="v1-letter-delimiter",
        ),
        pytest.param(
            CONTAINER_SLOT, {"Env": "|A=1|GLIBC_TUNABLES=x"}, False, id="v1-auto-delimiter-glibc-tunables"
        ),
        pytest.param(CONTAINER_SLOT, {"Environment": "BASH_ENV=/srv/x.sh"}, False, id="bash-env"),
        pytest.param(CONTAINER_SLOT, {"Environment": "ENV=/srv/x.sh"}, False, id="posix-env"),
        pytest.param(
            CONTAINER_SLOT, {"Environment": "'BASH_FUNC_ls%%=() { id; }'"}, False, id="bash-function"
        ),
        pytest.param(
            CONTAINER_SLOT, {"Environment": "SHELLOPTS=xtrace PS4=$(id)"}, False, id="shellopts-ps4"
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_PREPARE_JOB_HOOK=True),
            {"Environment": "LD_LIBRARY_PATH=/opt/lib BASH_ENV=/x"},
            True,
            id="hook-moves-them-into-the-container",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_PREPARE_JOB_HOOK=False),
            {"Environment": "LD_LIBRARY_PATH=/opt/lib"},
            False,
            id="hook-not-configured",
        ),
        pytest.param(
            NO_CONTAINER_SLOT, {"Environment": "LD_PRELOAD=./x.so"}, True, id="loader-vars-on-bare-slot"
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_IMAGE_ALLOW_REGEX="(?s)^(docker://docker[.]io/atlas/.*([:@].*)?)(?!.)"),
            {"SingularityImage": "docker://atlas/athena:22"},
            False,
            id="allow-regex-on-canonical-needs-remote",
        ),
        pytest.param(
            dict(
                CONTAINER_SLOT,
                SINGULARITY_IMAGE_RESTRICTIONS="remote",
                GS_IMAGE_ALLOW_REGEX="(?s)^(docker://docker[.]io/atlas/.*([:@].*)?)(?!.)",
            ),
            {"SingularityImage": "docker://atlas/athena:22"},
            True,
            id="allow-regex-on-canonical",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_IMAGE_DENY_REGEX="(?s)^(/cvmfs/bad/.*)(?!.)"),
            {"SingularityImage": "/cvmfs//bad/./img"},
            False,
            id="deny-regex-sees-through-spelling",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_IMAGE_DENY_REGEX="(?s)^(/cvmfs/bad/.*)(?!.)"),
            {"SingularityImage": "/cvmfs/ok/../bad/img"},
            False,
            id="policy-refuses-dotdot",
        ),
        pytest.param(
            CONTAINER_SLOT,
            {"WantContainer": True, "ContainerImage": CVMFS_IMG},
            True,
            id="container-universe-cvmfs",
        ),
        pytest.param(
            CONTAINER_SLOT,
            {"WantContainer": True, "ContainerImage": "docker://centos:7"},
            False,
            id="container-universe-remote-needs-remote",
        ),
        pytest.param(
            NO_CONTAINER_SLOT,
            {"WantContainer": True, "ContainerImage": CVMFS_IMG},
            False,
            id="container-universe-needs-containers",
        ),
        pytest.param(
            CONTAINER_SLOT,
            {"WantContainer": True, "ContainerImage": "bb.sif"},
            False,
            id="container-universe-shipped-sif-needs-opt-in",
        ),
        pytest.param(
            dict(CONTAINER_SLOT, GS_ALLOW_SANDBOX_IMAGES=True),
            {"WantContainer": True, "ContainerImage": "bb.sif"},
            True,
            id="container-universe-shipped-sif-opted-in",
        ),
        pytest.param(
            CONTAINER_SLOT,
            {"SingularityImage": CVMFS_IMG, "ContainerImage": "docker://centos:7"},
            True,
            id="singularity-image-wins-over-container-image",
        ),
    ],
)
def test_start_term(slot: dict[str, object], job: dict[str, object], expected: bool) -> None:
    """The START term admits exactly the jobs the slot can run as they asked, inline (GS_START, what
    explain evaluates) and as the startd runs it (START naming the terms it publishes in the slot ad)."""
    assert (expected, expected) == (start(slot, job), start_named(slot, job))


NAMED_TERMS = TABLE["STARTD_ATTRS"].split()[1:]


def start_named(slot: dict[str, object], job: dict[str, object]) -> object:
    """Evaluate START as the startd does: the terms are slot attributes, START refers to them."""
    machine = classad.ClassAd()
    machine.update(slot)
    for name in NAMED_TERMS:
        machine[name] = classad.ExprTree(expand("$({})".format(name), TABLE))
    machine["Requirements"] = classad.ExprTree(expand("$(GS_START_NAMED)", TABLE))
    target = classad.ClassAd()
    target.update(job)
    return target.matches(machine)


def test_start_is_appended_to_existing_start() -> None:
    """The snippet composes with the site's own START instead of replacing it, and names its terms."""
    assert "($(START)) && $(GS_START_NAMED)" == TABLE["START"]
    assert ["$(STARTD_ATTRS)", "GS_START_IMAGE", "GS_START_OS", "GS_START_REQUIRED", "GS_START_JOB_ENV"] == (
        TABLE["STARTD_ATTRS"].split()
    )
    assert " && ".join("MY." + name for name in NAMED_TERMS) == TABLE["GS_START_NAMED"].strip("()")
    assert "(" + " && ".join("$({})".format(name) for name in NAMED_TERMS) + ")" == TABLE["GS_START"]
    assert len(expand("$(GS_START_NAMED)", TABLE)) < 120  # what -better-analyze prints of our part


def test_no_elvis_operator() -> None:
    """START avoids `?:`, which made HTCondor 23.9's negotiator reject every match (seen in the test bed)."""
    assert "?:" not in GS_START


def test_start_term_matches_the_expanded_macro() -> None:
    """start_term gives the same GS_START and one expanded expression per sub-term."""
    term, terms = start_term(CONFIG.read_text())
    assert GS_START == term
    assert "$(" not in "".join(terms.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("A = $(B)\n", "$(B) is not defined", id="unknown-macro"),
        pytest.param("A = $(A) x\n", "macro expansion did not end after 20 rounds", id="loop"),
    ],
)
def test_expand_errors(text: str, message: str) -> None:
    """Unknown names and self-references are errors, never silently left in the expression."""
    with pytest.raises(ValueError, match=re.escape(message)):
        expand("$(A)", parse_macros(text))


def test_parse_macros_rejects_other_lines() -> None:
    """A line that is not NAME = value is reported with its number."""
    with pytest.raises(ValueError, match="line 2: 'use ROLE' is not NAME = value"):
        parse_macros("# comment\nuse ROLE\n")


def test_continuations_are_joined() -> None:
    """A backslash continues the value on the next line, as HTCondor reads it."""
    assert {"A": "(x ||  y)"} == parse_macros("A = (x || \\\n    y)\n")


#: Names on both sides of launch_env.host_unsafe, for the parity of the START term's name group.
UNSAFE_SAMPLES = [
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "LD_X1", "MALLOC_CHECK_", "GCONV_PATH",
    "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH", "NLSPATH",
    "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4",
    "BASH_XTRACEFD", "CDPATH", "GLOBIGNORE", "BASH_FUNC_ls%%", "BASH_FUNC_x",
]  # fmt: skip
SAFE_SAMPLES = ["PATH", "LD", "BUILD_DIR", "MY_ENV", "ENVX", "TZ", "LANG", "PYTHONPATH", "HOME", "BASH"]


@pytest.mark.parametrize("name", UNSAFE_SAMPLES + SAFE_SAMPLES)
def test_unsafe_names_parity(name):
    """GS_JOB_ENV_UNSAFE_NAMES (ClassAd regex) and launch_env.host_unsafe (Python) agree on every name."""
    from glidein_singularity.launch_env import LOADER_VARS, SHELL_VARS, host_unsafe

    group = TABLE["GS_JOB_ENV_UNSAFE_NAMES"]
    assert bool(re.fullmatch(group, name)) == host_unsafe(name) == (name in UNSAFE_SAMPLES)
    for listed in (*LOADER_VARS, *SHELL_VARS):  # every listed name is in the regex group
        assert re.fullmatch(group, listed), listed


def claim_states(now: int) -> dict[str, dict[str, object]]:
    """The slot's State/Activity/entered times in the moments START is evaluated."""
    return {
        "unclaimed (negotiator, request)": {
            "State": "Unclaimed",
            "Activity": "Idle",
            "EnteredCurrentState": now,
            "EnteredCurrentActivity": now,
        },
        "claim being accepted": {
            "State": "Claimed",
            "Activity": "Idle",
            "EnteredCurrentState": now,
            "EnteredCurrentActivity": now,
        },
        "idle claim, 30 s old": {
            "State": "Claimed",
            "Activity": "Idle",
            "EnteredCurrentState": now - 30,
            "EnteredCurrentActivity": now - 30,
        },
        "idle again after a job": {
            "State": "Claimed",
            "Activity": "Idle",
            "EnteredCurrentState": now - 3,
            "EnteredCurrentActivity": now - 1,
        },
        "busy": {
            "State": "Claimed",
            "Activity": "Busy",
            "EnteredCurrentState": now,
            "EnteredCurrentActivity": now,
        },
    }


VALIDATED = dict(REQUIRED_SLOT, SINGULARITY_MODE="unprivileged")  # the startup script found a runtime
BROKEN = dict(VALIDATED, HAS_SINGULARITY=False, GS_HEALTHY=False)  # ... that the probe found broken since
IMAGE_JOB = {"SingularityImage": CVMFS_IMG}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("unclaimed (negotiator, request)", False),
        ("claim being accepted", True),
        ("idle claim, 30 s old", False),
        ("idle again after a job", False),
        ("busy", False),
    ],
)
def test_health_does_not_revoke_a_claim_in_the_instant_it_is_accepted(state: str, expected: bool) -> None:
    """HTCondor 23.9's static slot checks START only after entering Claimed and crashes if it is false
    then (HTCONDOR-3033): the health facts, false on a slot the probe just marked broken, are read as
    true only there."""
    now = int(time.time())
    for job in ({}, IMAGE_JOB, {"REQUIRED_OS": "rhel9"}):
        assert expected is start_named(dict(BROKEN, **claim_states(now)[state]), job), (state, job)


@pytest.mark.parametrize(
    "job",
    [
        {},
        IMAGE_JOB,
        {"SingularityImage": "docker://alpine"},
        {"SingularityImage": "/opt/local/img"},
        {"REQUIRED_OS": "rhel9"},
        {"REQUIRED_OS": "rhel8"},
        {"Environment": "LD_PRELOAD=/x.so"},
        {"Env": "BASH_ENV=/x"},
    ],
)
def test_a_health_flip_never_turns_start_false_while_a_claim_is_accepted(job: dict[str, object]) -> None:
    """For any job, START on the slot just broken is at least START on the same slot healthy, in the
    instant a claim is accepted: the startd never frees a claim it is accepting because of our probe."""
    timing = claim_states(int(time.time()))["claim being accepted"]
    healthy = start_named(dict(VALIDATED, **timing), job)
    broken = start_named(dict(BROKEN, **timing), job)
    assert broken is True or healthy is False, job  # never true when healthy and false when broken


@pytest.mark.parametrize(
    ("slot", "job"),
    [
        pytest.param(BROKEN, {"REQUIRED_OS": "rhel8"}, id="an OS the slot does not serve"),
        pytest.param(BROKEN, {"SingularityImage": "docker://alpine"}, id="a remote image under cvmfs"),
        pytest.param(BROKEN, {"SingularityImage": "/opt/local/img"}, id="a local image under cvmfs"),
        pytest.param(NO_CONTAINER_SLOT, IMAGE_JOB, id="an image on a NEVER slot"),
        pytest.param(dict(BROKEN, SINGULARITY_MODE=None), {}, id="REQUIRED, no runtime ever validated"),
    ],
)
def test_the_claim_window_admits_no_job_the_slot_refuses_for_its_own_reasons(slot, job) -> None:
    """The schedd may activate any of its jobs on a fresh claim (it evaluates START with the claimed
    slot's ad): in the window only the health facts are waived, never the job's image, OS or
    environment, and nothing on a slot where no runtime was ever validated."""
    timing = claim_states(int(time.time()))["claim being accepted"]
    assert start_named(dict(slot, **timing), job) is False
