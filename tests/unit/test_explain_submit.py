"""explain --submit: which glideins (YAML config or machine ads) a job matches, why not, and the plan."""

import json
import pathlib

import pytest

from glidein_singularity import submit
from glidein_singularity.cli import main
from glidein_singularity.commands._explain_candidates import SANDBOX

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "frontend" / "example.yaml")
START_CONFIG = str(ROOT / "condor_config.d" / "60-glidein-singularity-start.config")
EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"
CMS9 = "/cvmfs/singularity.opensciencegrid.org/cmssw/cms:rhel9"
CMS8 = "/cvmfs/singularity.opensciencegrid.org/cmssw/cms:rhel8"
OSG8 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el8:latest"
OSG_DOCKER = "docker://opensciencegrid/osgvo-el9:latest"
REMOTE_NOT_ALLOWED = (
    'the image "{}" is remote but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs" (no "remote")'.format(OSG_DOCKER)
)
#: The Podman entry mounts CVMFS with cvmfsexec (CVMFS_MOUNT_DIR): its wrapper runs the translated path.
PODMAN_CVMFS = "/scratch/cvmfsexec/dist"


def on_node(name, image):
    """The image path the glidein ``name`` really runs (CVMFS paths translated on the Podman entry)."""
    return PODMAN_CVMFS + image if "Podman" in name and image.startswith("/cvmfs/") else image


PAIRS = (
    "cms @ OSG_US_Example_CE1",
    "cms @ HPC_US_Example_Podman",
    "osg @ OSG_US_Example_CE1",
    "osg @ HPC_US_Example_Podman",
)

SLOTS = """\
Name = "slot1@wn1"
HAS_SINGULARITY = true
SINGULARITY_PATH = "/usr/bin/apptainer"
GWMS_SINGULARITY_STATUS = "PREFERRED"
SINGULARITY_OS_LIST = "rhel9"
SINGULARITY_IMAGES_DICT = "rhel9:{el9}"
Memory = 2000
START = true
Requirements = START

Name = "slot1@wn2"
HAS_SINGULARITY = false
GWMS_SINGULARITY_STATUS = "REQUIRED"
Memory = 8000
START = (TARGET.Owner == "bob")
Requirements = START
""".format(el9=EL9)


def _run(capsys, tmp_path, submit_text, *candidates):
    sub = tmp_path / "job.sub"
    sub.write_text(submit_text)
    argv = ["explain", "--submit", str(sub), "--start-config", START_CONFIG, "--format", "json", *candidates]
    code = main(argv)
    captured = capsys.readouterr()
    return code, {item["glidein"]: item for item in json.loads(captured.out)}, captured.err


@pytest.fixture
def slots(tmp_path):
    """A condor_status -l file with two slots: one with containers, one REQUIRED but broken."""
    path = tmp_path / "slots.ads"
    path.write_text(SLOTS)
    return str(path)


PLAIN = "executable = run.sh\narguments = \"a 'b c'\"\nqueue\n"


@pytest.mark.parametrize(
    ("submit_text", "expected"),
    [
        pytest.param(
            PLAIN,
            {PAIRS[0]: CMS9, PAIRS[1]: CMS9, PAIRS[2]: EL9, PAIRS[3]: EL9},
            id="plain-job-default-images",
        ),
        pytest.param(
            '+SingularityImage = "{}"\n{}'.format(CMS9, PLAIN),
            dict.fromkeys(PAIRS, CMS9),
            id="cvmfs-image-allowed-everywhere",
        ),
        pytest.param(
            '+SingularityImage = "{}"\n{}'.format(OSG_DOCKER, PLAIN),
            {
                PAIRS[0]: REMOTE_NOT_ALLOWED,
                PAIRS[1]: REMOTE_NOT_ALLOWED,
                PAIRS[2]: OSG_DOCKER,
                PAIRS[3]: OSG_DOCKER,
            },
            id="remote-image-only-where-remote-is-allowed",
        ),
        pytest.param(
            '+REQUIRED_OS = "rhel8"\n' + PLAIN,
            {PAIRS[0]: CMS8, PAIRS[1]: CMS8, PAIRS[2]: OSG8, PAIRS[3]: OSG8},
            id="required-os-served",
        ),
        pytest.param(
            '+REQUIRED_OS = "rhel7"\n' + PLAIN,
            {
                PAIRS[
                    0
                ]: 'the job\'s REQUIRED_OS "rhel7" is not served: SINGULARITY_OS_LIST is "rhel9,rhel8"',
                PAIRS[1]: 'the job\'s REQUIRED_OS "rhel7" is not served: SINGULARITY_OS_LIST is '
                '"rhel9,rhel8,default"',
                PAIRS[
                    2
                ]: 'the job\'s REQUIRED_OS "rhel7" is not served: SINGULARITY_OS_LIST is "rhel9,rhel8"',
                PAIRS[3]: 'the job\'s REQUIRED_OS "rhel7" is not served: SINGULARITY_OS_LIST is '
                '"default,rhel9,rhel8"',
            },
            id="required-os-not-served",
        ),
    ],
)
def test_example_config(submit_text, expected, tmp_path, capsys):
    """Against frontend/example.yaml: the image of each match, or the exact reason it does not match."""
    code, results, _ = _run(capsys, tmp_path, submit_text, "--config", EXAMPLE)
    assert list(PAIRS) == list(results)
    for name, want in expected.items():
        item = results[name]
        if want.startswith(("/", "docker://")):
            assert (True, [], on_node(name, want), None) == (
                item["matched"],
                item["why_not"],
                item["plan"]["image"],
                item["plan"]["error"],
            ), name
            assert item["plan"]["argv"][-2:] == ["a", "b c"]
            assert "/srv/run.sh" in item["plan"]["argv"]
        else:
            assert (False, [want], None) == (item["matched"], item["why_not"], item["plan"]), name
    matched = any(item["matched"] for item in results.values())
    assert (0 if matched else 1) == code


GPU_CONFIG = """\
frontend:
  groups:
    gpu:
      singularity_use: PREFERRED
      images: {{rhel9: "{el9}"}}
factory:
  entries:
    with_gpus:
      extra_attrs:
        GLIDEIN_Resource_Slots: GPUs,2,type=main
    without_gpus:
      required_os: [rhel9]
    conflict:
      singularity_require: NEVER
""".format(el9=EL9)


def test_request_gpus(tmp_path, capsys):
    """A GPU job matches only the entry with GPUs, gets --nv there, and a negotiation FAIL never starts."""
    config = tmp_path / "gpu.yaml"
    config.write_text(GPU_CONFIG.replace("PREFERRED", "REQUIRED"))
    code, results, _ = _run(
        capsys, tmp_path, "executable = /bin/true\nrequest_gpus = 1\nqueue\n", "--config", str(config)
    )
    assert 0 == code
    with_gpus = results["gpu @ with_gpus"]
    assert with_gpus["matched"] is True
    assert "--nv" in with_gpus["plan"]["argv"]
    assert "assumed: the entry's GPUs are NVIDIA GPUs; the job's slot is assigned CUDA0" in with_gpus["notes"]
    assert ["the job's requirement (TARGET.GPUs >= RequestGPUs) is false on this glidein"] == results[
        "gpu @ without_gpus"
    ]["why_not"]
    assert [
        "the glidein does not start: the frontend requires containers but the factory entry forbids them "
        "(GLIDEIN_Singularity_Use=REQUIRED, GLIDEIN_SINGULARITY_REQUIRE=NEVER)"
    ] == results["gpu @ conflict"]["why_not"]


def test_no_gpus_no_nv(tmp_path, capsys):
    """A job without request_gpus gets no GPUs assigned, so no --nv, even on an entry with GPUs."""
    config = tmp_path / "gpu.yaml"
    config.write_text(GPU_CONFIG)
    _, results, _ = _run(capsys, tmp_path, "executable = /bin/true\nqueue\n", "--config", str(config))
    assert "--nv" not in results["gpu @ with_gpus"]["plan"]["argv"]
    assert results["gpu @ conflict"]["plan"] == {
        "argv": [SANDBOX + "/true"],
        "env": {"set": {}, "unset": []},
        "error": None,
        "image": None,
        "reasons": ["HAS_SINGULARITY is False: running the job without a container"],
        "use_container": False,
    }


def test_machine_ads_file(slots, tmp_path, capsys):
    """condor_status -l ads: requirements, the START sub-terms and the slot's own START, in words."""
    text = (
        'executable = /bin/echo\narguments = hello\n+REQUIRED_OS = "rhel9"\n'
        "requirements = (TARGET.Memory > 4000) && (HAS_SINGULARITY =?= true)\nqueue\n"
    )
    code, results, _ = _run(capsys, tmp_path, text, "--machine-ads", slots)
    assert 1 == code
    assert ["the job's requirement (TARGET.Memory > 4000) is false on this glidein"] == results["slot1@wn1"][
        "why_not"
    ]
    assert [
        'the job\'s REQUIRED_OS "rhel9" needs containers but the glidein cannot run them '
        "(HAS_SINGULARITY is false)",
        'the glidein requires containers (GWMS_SINGULARITY_STATUS is "REQUIRED") but cannot run them '
        "(HAS_SINGULARITY is false)",
        "the job's requirement (HAS_SINGULARITY =?= true) is false on this glidein",
    ] == results["slot1@wn2"]["why_not"]
    assert [
        "not checked: the slot's own START is undefined for this job (it refers to Owner, which the submit "
        "file does not set)"
    ] == results["slot1@wn2"]["notes"]


def test_machine_ads_json_and_plan(slots, tmp_path, capsys):
    """condor_status -json output (expressions as /Expr(...)/) gives the same answer; a match has the plan."""
    import classad2

    ads = classad2.parseAds(pathlib.Path(slots).read_text(), classad2.ParserType.Old)
    data = [
        {k: "/Expr({})/".format(v) if isinstance(v, classad2.ExprTree) else v for k, v in ad.items()}
        for ad in ads
    ]
    path = tmp_path / "slots.json"
    path.write_text(json.dumps(data))
    code, results, _ = _run(
        capsys,
        tmp_path,
        'executable = /bin/echo\n+REQUIRED_OS = "rhel9"\nqueue\n',
        "--machine-ads",
        str(path),
    )
    assert 0 == code
    assert EL9 == results["slot1@wn1"]["plan"]["image"]
    assert results["slot1@wn1"]["plan"]["argv"][-1] == "/srv/echo"
    assert results["slot1@wn2"]["matched"] is False


def test_unhealthy_slot_and_unknown_attribute(tmp_path, capsys):
    """An unhealthy slot refuses image jobs; a requirement on an attribute the slot lacks is undefined."""
    ads = tmp_path / "one.ads"
    ads.write_text(
        'Name = "sick"\nHAS_SINGULARITY = true\nGS_HEALTHY = false\nSINGULARITY_PATH = "/usr/bin/apptainer"\n'
    )
    text = '+SingularityImage = "{}"\nrequirements = TARGET.HasFoo\nexecutable = x\nqueue\n'.format(EL9)
    code, results, _ = _run(capsys, tmp_path, text, "--machine-ads", str(ads))
    assert 1 == code
    assert [
        'the job names the image "{}" but the glidein cannot run containers (its health probe marked it '
        "unhealthy (GS_HEALTHY is false))".format(EL9),
        "the job's requirement (TARGET.HasFoo) is undefined on this glidein (it refers to HasFoo)",
    ] == results["sick"]["why_not"]


def test_refusal_after_a_match(tmp_path, capsys):
    """A slot that matches but whose wrapper would refuse the job shows the refusal, and exits 1."""
    ads = tmp_path / "one.ads"
    ads.write_text('Name = "nopath"\nHAS_SINGULARITY = true\n')
    code, results, _ = _run(
        capsys,
        tmp_path,
        '+SingularityImage = "{}"\nexecutable = x\nqueue\n'.format(EL9),
        "--machine-ad",
        str(ads),
    )
    assert 1 == code
    item = results["nopath"]
    assert item["matched"] is True
    assert (
        "this slot cannot run container images (SINGULARITY_PATH is empty) but the job names the image "
        '"{}"'.format(EL9)
        == item["plan"]["error"]
    )


def test_json_schema(tmp_path, capsys):
    """Each candidate has exactly the documented keys; a plan is explain's own JSON object."""
    _, results, err = _run(capsys, tmp_path, PLAIN, "--config", EXAMPLE)
    for item in results.values():
        assert {"glidein", "matched", "why_not", "plan", "notes"} == set(item)
        assert isinstance(item["matched"], bool)
        assert all(isinstance(reason, str) for reason in item["why_not"] + item["notes"])
        assert {"use_container", "image", "argv", "env", "reasons", "error"} == set(item["plan"])
    assert "note: the job directory is shown as {} (give --sandbox to change it)".format(SANDBOX) in err


def test_table_output(tmp_path, capsys):
    """The table names the matches first, then each candidate's plan or reasons."""
    sub = tmp_path / "job.sub"
    sub.write_text('+REQUIRED_OS = "rhel7"\n' + PLAIN)
    code = main(["explain", "--submit", str(sub), "--config", EXAMPLE, "--start-config", START_CONFIG])
    out = capsys.readouterr().out
    assert 1 == code
    assert out.startswith("0 of 4 glideins would run the job: none\n")
    assert (
        "== cms @ OSG_US_Example_CE1: does not match\n"
        '  why not: the job\'s REQUIRED_OS "rhel7" is not served: SINGULARITY_OS_LIST is "rhel9,rhel8"\n'
    ) in out


def test_job_ad_against_candidates(tmp_path, capsys):
    """--job-ad works with candidates too (the job ad's Cmd gives the argv)."""
    job = tmp_path / "job.ad"
    job.write_text('Cmd = "/home/u/run.sh"\nREQUIRED_OS = "rhel8"\n')
    code = main(
        [
            "explain",
            "--job-ad",
            str(job),
            "--config",
            EXAMPLE,
            "--start-config",
            START_CONFIG,
            "--format",
            "json",
        ]
    )
    results = json.loads(capsys.readouterr().out)
    assert 0 == code
    expected = [on_node(name, image) for name, image in zip(PAIRS, (CMS8, CMS8, OSG8, OSG8))]
    assert expected == [item["plan"]["image"] for item in results]
    assert results[0]["plan"]["argv"][-1] == "/srv/run.sh"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--submit", "job.sub"],
            "ERROR: --submit needs candidates: --machine-ads, --config or --machine-ad\n",
            id="no-candidates",
        ),
        pytest.param(
            ["--job-ad", "job.ad"],
            "ERROR: --job-ad needs --machine-ad (or candidates: --machine-ads, --config)\n",
            id="job-ad-alone",
        ),
    ],
)
def test_usage_errors(argv, message, capsys):
    """Missing candidates are usage errors (exit 2)."""
    assert 2 == main(["explain", *argv])
    assert message == capsys.readouterr().err


def test_submit_and_job_ad_are_exclusive(capsys):
    """--submit and --job-ad cannot both be given."""
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--submit", "a", "--job-ad", "b", "--config", EXAMPLE])
    assert 2 == exc.value.code
    assert "not allowed with argument" in capsys.readouterr().err


# --- the submit file readers ---------------------------------------------------------------------------

SUBSET = """\
# a comment
universe = vanilla
executable = bin/run.sh
arguments = "--in 'my file' 'it''s'"
environment = "DATASET=run2024 OTHER='a b'"
request_cpus = 2
request_gpus = 1
requirements = (TARGET.Memory > 100) && \\
    (HAS_SINGULARITY =?= true)
+SingularityImage = "/cvmfs/x/y:latest"
MY.REQUIRED_OS = "rhel9"
transfer_executable = false
queue 3
"""


def test_fallback_reads_the_subset_like_the_bindings():
    """Without htcondor2 the built-in reader gives the same job ad for the supported subset."""
    import htcondor2

    with_bindings = submit.parse_with_bindings(SUBSET, "/home/u", htcondor2)
    fallback = submit.parse_fallback(SUBSET, "/home/u")
    assert with_bindings.ad_text() == fallback.ad_text()
    assert with_bindings.requirements == fallback.requirements
    assert (
        'Cmd = "/home/u/bin/run.sh"\n'
        'Iwd = "/home/u"\n'
        "Arguments = \"--in 'my file' 'it''s'\"\n"
        "Environment = \"DATASET=run2024 OTHER='a b'\"\n"
        "TransferExecutable = false\n"
        "RequestCpus = 2\n"
        "RequestGPUs = 1\n"
        "Requirements = ((TARGET.Memory > 100) && (HAS_SINGULARITY =?= true))"
        " && (TARGET.GPUs >= RequestGPUs)\n"
        'SingularityImage = "/cvmfs/x/y:latest"\n'
        'REQUIRED_OS = "rhel9"\n'
    ) == fallback.ad_text()
    assert ["/home/u/bin/run.sh", "--in", "my file", "it's"] == submit.job_argv(fallback, "/sandbox")
    assert "fallback" == fallback.reader
    assert submit._FALLBACK_NOTE in fallback.notes


def test_load_submit_falls_back_without_bindings(tmp_path, capsys):
    """With the bindings away (a worker node), explain still reads the submit file and says so."""
    sub = tmp_path / "job.sub"
    sub.write_text(PLAIN)
    job = submit.load_submit(str(sub), "/home/u", {"htcondor2": None})
    assert "fallback" == job.reader
    assert ["/sb/run.sh", "a", "b c"] == submit.job_argv(job, "/sb")


def test_cli_fallback_note(tmp_path, capsys, monkeypatch):
    """The CLI run without htcondor2 notes that the built-in reader was used."""
    monkeypatch.setattr(submit, "_bindings", lambda: None)
    _, results, err = _run(capsys, tmp_path, PLAIN, "--config", EXAMPLE)
    assert "note: {}\n".format(submit._FALLBACK_NOTE) in err
    assert CMS9 == results[PAIRS[0]]["plan"]["image"]


def test_bindings_expand_macros_and_queue_items():
    """The bindings expand macros for the first job of the queue statement."""
    import htcondor2

    text = 'executable = x\nOS = rhel9\n+REQUIRED_OS = "$(OS)"\narguments = $(item)\nqueue item in (p, q)\n'
    job = submit.parse_with_bindings(text, "/w", htcondor2)
    assert '"rhel9"' == job.get("REQUIRED_OS")
    assert '"p"' == job.get("Args")
    assert "explained for the first job of the queue statement (item=p)" in job.notes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "executable = x\narguments = $(Process)\n",
            "line 2: the macro in '$(Process)' needs the htcondor2 bindings",
            id="macro",
        ),
        pytest.param(
            "if defined X\nexecutable = x\nendif\n", "line 1: 'if' needs the htcondor2 bindings", id="if"
        ),
        pytest.param("include : other.sub\n", "line 1: 'include' needs the htcondor2 bindings", id="include"),
        pytest.param("executable x\n", "line 1: 'executable x' is not 'name = value'", id="no-equals"),
        pytest.param(
            "executable = x\nqueue item in (a, b)\n",
            "line 2: 'queue item in (a, b)' needs the htcondor2 bindings "
            "(only 'queue' and 'queue N' are read)",
            id="queue-items",
        ),
        pytest.param("arguments = a\nqueue\n", "the submit file names no executable", id="no-executable"),
    ],
)
def test_fallback_errors(text, message):
    """The built-in reader refuses what it cannot read exactly, naming the line."""
    with pytest.raises(submit.SubmitError) as exc:
        submit.parse_fallback(text, "/w")
    assert message == str(exc.value)


def test_split_args_v2_unterminated_quote():
    """New-syntax arguments with an open quote are an error, not a guess."""
    with pytest.raises(submit.SubmitError, match="unbalanced quote starting here"):
        submit.split_args_v2("a 'b")


def test_user_guide_before_you_submit(capsys):
    """The user guide's example output is what explain prints for the shipped example files."""
    argv = [
        "explain", "--submit", str(ROOT / "docs" / "examples" / "job.sub"),
        "--machine-ads", str(ROOT / "docs" / "examples" / "slots.ads"), "--start-config", START_CONFIG,
    ]  # fmt: skip
    assert 0 == main(argv)
    out = capsys.readouterr().out
    guide = (ROOT / "docs" / "guides" / "user.md").read_text(encoding="utf-8")
    first = out.splitlines()[0]
    last = out.rstrip("\n").splitlines()[-2:]
    assert first + "\n...\n" + "\n".join(last) + "\n```" in guide


def test_console_script_and_lazy_imports(tmp_path):
    """The installed console script runs the submit path; importing explain loads no admin-side library."""
    import shutil
    import subprocess
    import sys

    script = shutil.which("glidein-singularity")
    assert script is not None
    sub = tmp_path / "job.sub"
    sub.write_text(PLAIN)
    argv = [script, "explain", "--submit", str(sub), "--config", EXAMPLE, "--start-config", START_CONFIG]
    done = subprocess.run([*argv, "--format", "json"], capture_output=True, text=True, check=False)
    assert 0 == done.returncode, done.stderr
    assert list(PAIRS) == [item["glidein"] for item in json.loads(done.stdout)]
    probe = (
        "import sys, glidein_singularity.commands.explain, glidein_singularity.commands._explain_candidates;"
        "print(sorted(m for m in ('yaml', 'jinja2', 'htcondor2', 'classad2') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "[]\n" == loaded.stdout


def test_a_new_start_term_is_reported_by_name(tmp_path, capsys):
    """A GS_START_* term explain has no words for yet is still named when it refuses the job."""
    config = tmp_path / "start.config"
    config.write_text(
        pathlib.Path(START_CONFIG).read_text()
        + "GS_START_FOO = (TARGET.Foo =!= 1)\nGS_START = ($(GS_START_IMAGE) && $(GS_START_FOO))\n"
    )
    ads = tmp_path / "one.ads"
    ads.write_text('Name = "a"\nHAS_SINGULARITY = false\n')
    sub = tmp_path / "job.sub"
    sub.write_text("executable = x\n+Foo = 1\nqueue\n")
    argv = ["explain", "--submit", str(sub), "--machine-ads", str(ads), "--start-config", str(config)]
    assert 1 == main([*argv, "--format", "json"])
    assert ["the START term GS_START_FOO is false for this job"] == json.loads(capsys.readouterr().out)[0][
        "why_not"
    ]
