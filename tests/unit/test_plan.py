"""Tables for the launch planner: (job ad, machine ad, settings) -> plan or refusal."""

import pytest

from glidein_singularity.classad import parse_ad
from glidein_singularity.errors import ConfigError
from glidein_singularity.launch_env import RUNTIME_PATH
from glidein_singularity.launch_options import split_options
from glidein_singularity.plan import LAUNCHER_SCRIPT_REVEALED, LaunchPlan, Paths, Refusal
from glidein_singularity.settings import NodeSettings
from tests.unit.plan_fixtures import (
    BASE_BINDS,
    BASE_OPTIONS,
    EL8,
    EL9,
    EL9_REAL,
    ERROR_FILE,
    INNER_ARGV,
    JOB_ARGV,
    LAUNCHER,
    RUNTIME,
    SANDBOX,
    SIF,
    container_argv,
    make_ad,
    make_probe,
    run_plan,
)

NO_PID = BASE_OPTIONS[:-1]


def test_default_plan_is_complete():
    """The base case: dictionary image pinned, standard options and binds, launcher, /srv paths."""
    expected = LaunchPlan(
        True,
        EL9_REAL,
        container_argv(),
        {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "APPTAINERENV__CONDOR_MACHINE_AD": "/srv/.machine.ad",
            "SINGULARITYENV__CONDOR_MACHINE_AD": "/srv/.machine.ad",
            "APPTAINERENV__CONDOR_JOB_AD": "/srv/.job.ad",
            "SINGULARITYENV__CONDOR_JOB_AD": "/srv/.job.ad",
            "APPTAINERENV__CONDOR_SCRATCH_DIR": "/srv",
            "SINGULARITYENV__CONDOR_SCRATCH_DIR": "/srv",
            "APPTAINERENV__CONDOR_JOB_IWD": "/srv",
            "SINGULARITYENV__CONDOR_JOB_IWD": "/srv",
            "APPTAINERENV_TMPDIR": "/srv/.gs_tmp",
            "SINGULARITYENV_TMPDIR": "/srv/.gs_tmp",
            "APPTAINERENV_TMP": "/srv/.gs_tmp",
            "SINGULARITYENV_TMP": "/srv/.gs_tmp",
            "APPTAINERENV_TEMP": "/srv/.gs_tmp",
            "SINGULARITYENV_TEMP": "/srv/.gs_tmp",
            "APPTAINERENV_GS_IN_CONTAINER": "1",
            "SINGULARITYENV_GS_IN_CONTAINER": "1",
        },
        (),
        (
            'image from SINGULARITY_IMAGES_DICT key "rhel9" (REQUIRED_OS "any", GLIDEIN_REQUIRED_OS "any", '
            "keys tried in order: default, rhel9)",
            "CVMFS image directory {} pinned to {} for the job's lifetime".format(EL9, EL9_REAL),
            "job arguments under the job directory rewritten to /srv",
        ),
        'the container runtime /usr/bin/apptainer failed before the job started (image "{} -> {}"); its '
        "message is in the job's stderr".format(EL9, EL9_REAL),
        (SANDBOX + "/.gs_tmp",),
    )
    assert expected == run_plan()


@pytest.mark.parametrize(
    ("job", "machine", "settings", "filesystem", "image"),
    [
        pytest.param({}, {}, {}, {}, EL9_REAL, id="default-keys"),
        pytest.param({"SingularityImage": SIF}, {}, {}, {}, SIF, id="job-image-first"),
        pytest.param(
            {"SingularityImage": EL8, "REQUIRED_OS": "rhel9"}, {}, {}, {}, EL8, id="job-image-over-os"
        ),
        pytest.param({"REQUIRED_OS": "rhel8,rhel9"}, {}, {}, {}, EL8, id="job-order-kept"),
        pytest.param({"REQUIRED_OS": "rhel7, RHEL9 ,rhel8"}, {}, {}, {}, EL8, id="keys-case-sensitive"),
        pytest.param(
            {"REQUIRED_OS": "rhel9,rhel8"}, {"GLIDEIN_REQUIRED_OS": "rhel8"}, {}, {}, EL8, id="entry-os"
        ),
        pytest.param(
            {"SingularityImage": "docker://alpine"},
            {"SINGULARITY_IMAGE_RESTRICTIONS": "remote"},
            {},
            {},
            "docker://alpine",
            id="remote-allowed",
        ),
        pytest.param({"SingularityImage": "file://" + SIF}, {}, {}, {}, SIF, id="file-uri-made-path"),
        pytest.param({}, {"SINGULARITY_IMAGES_DICT": "default:" + SIF}, {}, {}, SIF, id="default-key"),
        pytest.param({"SingularityImage": ""}, {}, {}, {}, EL9_REAL, id="empty-job-image-is-unset"),
        pytest.param(
            {"SingularityImage": EL8},
            {},
            {},
            {EL8: ("dir", "/cvmfs/x/real8")},
            "/cvmfs/x/real8",
            id="job-cvmfs-dir-pinned",
        ),
        pytest.param(
            {"SingularityImage": "/data/img.sif"},
            {"SINGULARITY_IMAGE_RESTRICTIONS": "any"},
            {},
            {"/data/img.sif": ("file", None)},
            "/data/img.sif",
            id="local-without-cvmfs-restriction",
        ),
        pytest.param(
            {"SingularityImage": "img.sif"},
            {"SINGULARITY_IMAGE_RESTRICTIONS": "any"},
            {},
            {SANDBOX + "/img.sif": ("file", None)},
            SANDBOX + "/img.sif",
            id="relative-in-sandbox",
        ),
        pytest.param(
            {},
            {"SINGULARITY_IMAGES_DICT": "rhel9:" + EL9},
            {"cvmfs_mount_dir": "/mnt/cvmfs"},
            {"/mnt/cvmfs" + EL9[6:]: ("dir", None), "/mnt/cvmfs": ("dir", None)},
            "/mnt/cvmfs" + EL9[6:],
            id="cvmfs-mount-dir",
        ),
    ],
)
def test_image_choice(job, machine, settings, filesystem, image):
    """Image precedence: +SingularityImage, REQUIRED_OS x GLIDEIN_REQUIRED_OS in job order, defaults."""
    result = run_plan(job, machine, settings=settings, filesystem=filesystem)
    assert isinstance(result, LaunchPlan), result
    assert image == result.image
    assert image == result.argv[result.argv.index("/bin/sh") - 1]


@pytest.mark.parametrize(
    ("job", "machine", "settings", "filesystem", "message", "requeue"),
    [
        pytest.param(
            {"SingularityImage": "-B/:/host"},
            {},
            {},
            {},
            'the job\'s SingularityImage is unusable: image "-B/:/host" starts with "-" and would be read '
            "as an option",
            False,
            id="image-dash",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/a\tb"},
            {},
            {},
            {},
            "the job's SingularityImage is unusable: image '/cvmfs/a\\tb' contains the control character "
            "'\\t'",
            False,
            id="image-control-char",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/a\nb"},
            {},
            {},
            {},
            "the job's SingularityImage must be a string, got the expression \"/cvmfs/a",
            False,
            id="image-newline-breaks-the-line",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/a,/b"},
            {},
            {},
            {},
            'the job\'s SingularityImage is unusable: image "/cvmfs/a,/b" contains a comma',
            False,
            id="image-comma",
        ),
        pytest.param(
            {"SingularityImage": 5},
            {},
            {},
            {},
            "the job's SingularityImage must be a string, got 5",
            False,
            id="image-not-string",
        ),
        pytest.param(
            {"REQUIRED_OS": True},
            {},
            {},
            {},
            "the job's REQUIRED_OS must be a string, got True",
            False,
            id="required-os-not-string",
        ),
        pytest.param(
            {"SingularityImage": SIF},
            {"HAS_SINGULARITY": False},
            {},
            {},
            "this slot cannot run container images (HAS_SINGULARITY is False) but the job names the image "
            '"{}"'.format(SIF),
            True,
            id="no-singularity-job-image",
        ),
        pytest.param(
            {"SingularityImage": SIF},
            {"HAS_SINGULARITY": None, "GWMS_SINGULARITY_STATUS": "OPTIONAL"},
            {},
            {},
            "this slot cannot run container images (HAS_SINGULARITY is absent) but the job names the image "
            '"{}"'.format(SIF),
            True,
            id="absent-singularity-job-image",
        ),
        pytest.param(
            {"SingularityImage": SIF},
            {"SINGULARITY_PATH": ""},
            {},
            {},
            "this slot cannot run container images (SINGULARITY_PATH is empty) but the job names the image "
            '"{}"'.format(SIF),
            True,
            id="no-runtime-job-image",
        ),
        pytest.param(
            {"REQUIRED_OS": "rhel6"},
            {"GLIDEIN_REQUIRED_OS": "rhel9"},
            {},
            {},
            'REQUIRED_OS "rhel6" and GLIDEIN_REQUIRED_OS "rhel9" have no intersection',
            True,
            id="os-no-intersection",
        ),
        pytest.param(
            {"REQUIRED_OS": "rhel6"},
            {},
            {},
            {},
            'no image for REQUIRED_OS "rhel6" and GLIDEIN_REQUIRED_OS "any": SINGULARITY_IMAGES_DICT has '
            "no non-empty value for rhel6 (its keys with images: rhel9, rhel8)",
            True,
            id="no-dict-image",
        ),
        pytest.param(
            {},
            {"SINGULARITY_IMAGES_DICT": "rhel9:-x"},
            {},
            {},
            'SINGULARITY_IMAGES_DICT key rhel9: image "-x" starts with "-" and would be read as an option',
            True,
            id="dict-image-dash",
        ),
        pytest.param(
            {"SingularityImage": "/tmp/x.sif"},
            {},
            {},
            {},
            'image "/tmp/x.sif" is not under /cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs"',
            True,
            id="job-image-restricted",
        ),
        pytest.param(
            {"SingularityImage": "docker://evil/x"},
            {},
            {},
            {},
            'image "docker://evil/x" is remote, but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs" (add '
            '"remote" to allow it)',
            True,
            id="remote-restricted",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/x/link"},
            {},
            {},
            {"/cvmfs/x/link": ("dir", "/tmp/evil")},
            'image "/cvmfs/x/link" resolves to /tmp/evil, which is not under /cvmfs; '
            'SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs"',
            True,
            id="symlink-escapes-cvmfs",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/x/missing.sif"},
            {},
            {},
            {},
            'Unable to access the image "/cvmfs/x/missing.sif": the CVMFS repository /cvmfs/x is not '
            "reachable on this node",
            True,
            id="image-repository-unreachable",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/x/missing.sif"},
            {},
            {},
            {"/cvmfs/x": ("dir", None)},
            'the job\'s image "/cvmfs/x/missing.sif" does not exist (/cvmfs/x/missing.sif is not on this '
            "node, while its CVMFS repository is): check the image's name in the submit file",
            True,
            id="job-image-missing",
        ),
        pytest.param(
            {"SingularityImage": "/cvmfs/x/img:1"},
            {},
            {},
            {"/cvmfs/x": ("dir", None), "/cvmfs/x/img:1": ("link", "/cvmfs/x/.images/gone")},
            'Unable to access the image "/cvmfs/x/img:1": /cvmfs/x/img:1 is a link to something that is not '
            "on this node",
            True,
            id="job-image-link-dangles-node-fault",
        ),
        pytest.param(
            {"SingularityImage": "./mine.sif"},
            {"SINGULARITY_IMAGE_RESTRICTIONS": "any"},
            {},
            {},
            'the job\'s image "./mine.sif" does not exist ({}/mine.sif is not on this node): check the '
            "image's name in the submit file".format(SANDBOX),
            True,
            id="job-image-missing-in-sandbox",
        ),
        pytest.param(
            {},
            {"SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs,cmvfs"},
            {},
            {},
            "SINGULARITY_IMAGE_RESTRICTIONS: unknown restriction 'cmvfs' in 'cvmfs,cmvfs'; expected a "
            "comma list of cvmfs, remote, test, any",
            True,
            id="bad-restrictions",
        ),
        pytest.param(
            {},
            {},
            {"opts": "--bind 'x"},
            {},
            'GLIDEIN_SINGULARITY_OPTS "--bind \'x" cannot be split: No closing quotation',
            True,
            id="bad-opts",
        ),
        pytest.param(
            {},
            {"SINGULARITY_PATH": "apptainer"},
            {},
            {},
            "SINGULARITY_PATH 'apptainer' is not an absolute path",
            True,
            id="relative-runtime",
        ),
    ],
)
def test_refusals(job, machine, settings, filesystem, message, requeue):
    """Every refusal, with its exact message and whether HTCondor should requeue the job."""
    result = run_plan(job, machine, settings=settings, filesystem=filesystem)
    assert isinstance(result, Refusal), result
    assert (message, requeue) == (result.message, result.requeue)


def test_blame_for_missing_images():
    """Whose fault a missing image is: the job's own missing image (repository reachable) is the job's;
    an unreachable repository, a dangling link, or a dictionary image is the node's."""
    reachable = {"/cvmfs/x": ("dir", None)}
    own = run_plan({"SingularityImage": "/cvmfs/x/nope"}, filesystem=reachable)
    unreachable = run_plan({"SingularityImage": "/cvmfs/x/nope"})
    dangling = run_plan(
        {"SingularityImage": "/cvmfs/x/l"}, filesystem={**reachable, "/cvmfs/x/l": ("link", "/gone")}
    )
    dictionary = run_plan(machine={"SINGULARITY_IMAGES_DICT": "rhel9:/cvmfs/x/nope"}, filesystem=reachable)
    assert [True, False, False, False] == [r.job_caused for r in (own, unreachable, dangling, dictionary)]
    assert [True, True, True, True] == [r.requeue for r in (own, unreachable, dangling, dictionary)]


def test_refusal_empty_argv():
    """No job command is a refusal."""
    result = run_plan(argv=())
    assert ("the wrapper got no job command (empty argv)", True) == (result.message, result.requeue)


def test_refusal_dash_executable():
    """A job executable starting with '-' is refused (it would be read as an option)."""
    result = run_plan(argv=("-x",))
    assert ("the job executable '-x' starts with '-'", False) == (result.message, result.requeue)


def test_refusal_sandbox_with_colon():
    """A job directory that --home cannot express is refused."""
    probe = make_probe({})
    result = run_plan(paths=Paths("/a:b", "/a:b", None, None, probe))
    expected = "the job directory '/a:b' cannot be given to --home (it contains ',' or ':')"
    assert (expected, True) == (result.message, result.requeue)


def test_refusal_no_sandbox():
    """Without a job directory there is nothing to mount at /srv."""
    result = run_plan(paths=Paths(None, None, None, None, make_probe({})))
    expected = "no absolute job directory (_CONDOR_SCRATCH_DIR is unset)"
    assert (expected, True) == (result.message, result.requeue)


def test_refusal_inside_container_with_job_image():
    """A job naming an image is never run bare, also when already inside a container."""
    result = run_plan({"SingularityImage": SIF}, filesystem={"/.singularity.d": ("dir", None)})
    expected = (
        'the job names the image "{}" but this wrapper already runs inside a container (/.singularity.d '
        "exists)"
    )
    assert (expected.format(SIF), True) == (result.message, result.requeue)


def test_inside_container_is_a_filesystem_fact():
    """Only /.singularity.d at the root says "inside a container": no variable, whoever set it."""
    inside = run_plan(filesystem={"/.singularity.d": ("dir", None)})
    assert (False, JOB_ARGV) == (inside.use_container, inside.argv)
    assert (
        "already inside a container (/.singularity.d exists): running the job as is, never wrapping twice"
        == inside.reasons[-1]
    )
    for name in ("APPTAINER_CONTAINER", "SINGULARITY_CONTAINER", "GS_IN_CONTAINER"):
        assert run_plan(environ={name: "/img"}).use_container
        assert run_plan({"Environment": name + "=/img"}).use_container


@pytest.mark.parametrize(
    ("job", "machine", "environ", "reason"),
    [
        pytest.param(
            {},
            {"HAS_SINGULARITY": False, "GWMS_SINGULARITY_STATUS": "PREFERRED"},
            {},
            "HAS_SINGULARITY is False: running the job without a container",
            id="has-singularity-false",
        ),
        pytest.param(
            {},
            {"HAS_SINGULARITY": None, "GWMS_SINGULARITY_STATUS": "OPTIONAL"},
            {},
            "HAS_SINGULARITY is absent: running the job without a container",
            id="has-singularity-absent",
        ),
        pytest.param(
            {},
            {"HAS_SINGULARITY": "no", "GWMS_SINGULARITY_STATUS": None},
            {},
            "HAS_SINGULARITY is 'no': running the job without a container",
            id="has-singularity-text-false",
        ),
        pytest.param(
            {},
            {"SINGULARITY_PATH": None, "GWMS_SINGULARITY_STATUS": "PREFERRED"},
            {},
            "SINGULARITY_PATH is empty: running the job without a container",
            id="no-path",
        ),
        pytest.param(
            {"SingularityAutoLoad": False},
            {"GWMS_SINGULARITY_STATUS": "PREFERRED"},
            {},
            "SingularityAutoLoad is false and GWMS_SINGULARITY_STATUS is PREFERRED: no container",
            id="autoload-false-preferred",
        ),
        pytest.param(
            {"REQUIRED_OS": "rhel6"},
            {"GWMS_SINGULARITY_STATUS": "PREFERRED"},
            {},
            'no image for REQUIRED_OS "rhel6" and GLIDEIN_REQUIRED_OS "any": SINGULARITY_IMAGES_DICT has '
            "no non-empty value for rhel6 (its keys with images: rhel9, rhel8); GWMS_SINGULARITY_STATUS is "
            "PREFERRED and the job names no image: running without a container",
            id="preferred-fallback",
        ),
    ],
)
def test_bare_plans(job, machine, environ, reason):
    """Bare plans run the job command untouched, with the reason last."""
    result = run_plan(job, machine, environ=environ)
    assert isinstance(result, LaunchPlan), result
    assert (False, None, JOB_ARGV, {}, ()) == (
        result.use_container,
        result.image,
        result.argv,
        result.env_set,
        result.env_unset,
    )
    assert reason == result.reasons[-1]


@pytest.mark.parametrize(
    ("machine", "why"),
    [
        ({"HAS_SINGULARITY": False}, "HAS_SINGULARITY is False"),
        ({"HAS_SINGULARITY": None}, "HAS_SINGULARITY is absent"),
        ({"SINGULARITY_PATH": None}, "SINGULARITY_PATH is empty"),
    ],
)
def test_required_slot_never_runs_a_job_bare(machine, why):
    """On a REQUIRED slot whose runtime is gone (the health probe turned HAS_SINGULARITY false after the
    match), a job that names no image is requeued, never run on the host."""
    result = run_plan({}, machine)
    assert isinstance(result, Refusal), result
    assert (True, False) == (result.requeue, result.job_caused)
    assert "containers are required on this slot (GWMS_SINGULARITY_STATUS is REQUIRED) but " + why == (
        result.message
    )


def test_job_set_inside_marker_is_ignored():
    """A job cannot escape the container by setting SINGULARITY_CONTAINER in its Environment."""
    result = run_plan({"Environment": "SINGULARITY_CONTAINER=/x"})
    assert result.use_container
    assert "SINGULARITY_CONTAINER" in result.env_unset


def test_preferred_container_plan_has_bare_fallback():
    """Under PREFERRED a job without its own image gets the bare plan as exec fallback."""
    result = run_plan(machine={"GWMS_SINGULARITY_STATUS": "PREFERRED"})
    assert result.use_container
    assert JOB_ARGV == result.fallback.argv
    assert not result.fallback.use_container


def test_preferred_job_image_has_no_fallback():
    """A job that names an image is never run bare, even under PREFERRED."""
    result = run_plan({"SingularityImage": SIF}, {"GWMS_SINGULARITY_STATUS": "PREFERRED"})
    assert result.fallback is None
    refused = run_plan({"SingularityImage": "/cvmfs/none.sif"}, {"GWMS_SINGULARITY_STATUS": "PREFERRED"})
    assert isinstance(refused, Refusal)


@pytest.mark.parametrize(
    ("machine", "settings", "options"),
    [
        pytest.param({}, {}, BASE_OPTIONS, id="default"),
        pytest.param({}, {"disable_pid_namespaces": "1"}, NO_PID, id="pid-disabled"),
        pytest.param({}, {"disable_pid_namespaces": "yes"}, BASE_OPTIONS, id="pid-only-exactly-1"),
        pytest.param({"GS_PID_NAMESPACES": False}, {}, NO_PID, id="pid-unavailable"),
        pytest.param({}, {"container_env": "clearall"}, (*BASE_OPTIONS, "--cleanenv"), id="clearall"),
        pytest.param({}, {"container_env": "clear"}, (*BASE_OPTIONS, "--cleanenv"), id="clear"),
        pytest.param(
            {}, {"opts": "--no-mount tmp  -e"}, (*BASE_OPTIONS, "--no-mount", "tmp", "-e"), id="admin-opts"
        ),
        pytest.param(
            {}, {"opts": "--env 'A=x y'"}, (*BASE_OPTIONS, "--env", "A=x y"), id="admin-opts-quoted"
        ),
        pytest.param({"AssignedGPUs": "CUDA0"}, {}, (*BASE_OPTIONS, "--nv"), id="gpu-options"),
    ],
)
def test_options(machine, settings, options):
    """exec options: containment, --pid unless disabled, GPU flags, --cleanenv, admin options last."""
    result = run_plan(machine=machine, settings=settings)
    binds = ("--bind", BASE_BINDS[1] + (",/etc/OpenCL/vendors" if False else ""))
    assert container_argv(options=options, binds=binds) == result.argv


@pytest.mark.parametrize(
    ("machine", "flags"),
    [
        pytest.param({}, (), id="no-gpu"),
        pytest.param({"AssignedGPUs": "CUDA0,CUDA1"}, ("--nv",), id="cuda-ids"),
        pytest.param({"AssignedGPUs": "GPU-3b1c2d4e"}, ("--nv",), id="uuid"),
        pytest.param({"AssignedGPUs": "MIG-aa"}, ("--nv",), id="mig"),
        pytest.param({"AssignedGPUs": "10000"}, (), id="starter-no-gpu"),
        pytest.param({"AssignedGPUs": "-1"}, (), id="minus-one"),
        pytest.param({"AssignedGPUs": ""}, (), id="empty"),
        pytest.param({"AssignedGPUs": "OCL0", "GPUs_NvidiaDriverVersion": "550.1"}, ("--nv",), id="driver"),
        pytest.param({"AssignedGPUs": "OCL0", "GPUs_Rocm": 1}, ("--rocm",), id="rocm-count"),
        pytest.param({"AssignedGPUs": "OCL0"}, (), id="vendor-unknown"),
        pytest.param({"GPUs": 2}, (), id="gpus-count-without-assignment"),
    ],
)
def test_gpu_flags(machine, flags):
    """--nv/--rocm only for GPUs really assigned to the slot."""
    result = run_plan(machine=machine)
    assert flags == tuple(arg for arg in result.argv if arg in ("--nv", "--rocm"))


def test_gpu_environment_and_opencl():
    """GPU variables pass unchanged; /etc/OpenCL/vendors is bound; the job's library path gets the libs."""
    environ = {
        "CUDA_VISIBLE_DEVICES": "GPU-aa",
        "NVIDIA_VISIBLE_DEVICES": "GPU-aa",
        "GPU_DEVICE_ORDINAL": "0",
    }
    result = run_plan(
        {"Environment": "LD_LIBRARY_PATH=/opt/lib"},
        {"AssignedGPUs": "GPU-aa"},
        environ=dict(environ, LD_LIBRARY_PATH="/opt/lib"),
        filesystem={"/etc/OpenCL/vendors": ("dir", None)},
    )
    for name, value in environ.items():
        assert value == result.env_set["APPTAINERENV_" + name]
        assert value == result.env_set["SINGULARITYENV_" + name]
    assert result.env_set["APPTAINERENV_LD_LIBRARY_PATH"] == "/opt/lib:/.singularity.d/libs"
    assert "/etc/hosts,/etc/localtime,/cvmfs,/etc/OpenCL/vendors" in result.argv


def test_no_gpu_job_keeps_hiding_values():
    """A job without GPUs on a GPU host gets no --nv and the starter's hiding value passes through."""
    result = run_plan(environ={"CUDA_VISIBLE_DEVICES": "10000"})
    assert "--nv" not in result.argv
    assert result.env_set["APPTAINERENV_CUDA_VISIBLE_DEVICES"] == "10000"


@pytest.mark.parametrize(
    ("job", "machine", "settings", "filesystem", "binds"),
    [
        pytest.param({}, {}, {}, {}, "/etc/hosts,/etc/localtime,/cvmfs", id="defaults-existing-only"),
        pytest.param(
            {},
            {},
            {},
            {"/hadoop": ("dir", None), "/mnt/hdfs": ("dir", None)},
            "/etc/hosts,/etc/localtime,/hadoop,/mnt/hdfs,/cvmfs",
            id="all-defaults-order",
        ),
        pytest.param(
            {},
            {},
            {"bindpath": "/data:/data:ro, /scratch:/tmp/s", "bindpath_default": "/data:/other"},
            {"/data": ("dir", None), "/scratch": ("dir", None)},
            "/data:/data:ro,/scratch:/tmp/s,/data:/other,/etc/hosts,/etc/localtime,/cvmfs",
            id="admin-binds-first",
        ),
        pytest.param(
            {},
            {},
            {"bindpath": "/data:/etc/hosts"},
            {"/data": ("dir", None)},
            "/data:/etc/hosts,/etc/localtime,/cvmfs",
            id="first-target-wins",
        ),
        pytest.param(
            {},
            {},
            {"bindpath": "/missing,relative,/a:b"},
            {},
            "/etc/hosts,/etc/localtime,/cvmfs",
            id="bad-and-missing-dropped",
        ),
        pytest.param(
            {},
            {},
            {"cvmfs_mount_dir": "/mnt/cvmfs"},
            {"/mnt/cvmfs": ("dir", None), "/mnt/cvmfs" + EL9[6:]: ("dir", "/mnt/cvmfs/r9")},
            "/etc/hosts,/etc/localtime,/mnt/cvmfs:/cvmfs",
            id="cvmfs-mount-dir",
        ),
        pytest.param(
            {"SingularityBindCVMFS": False, "SingularityImage": "/data/i.sif"},
            {"SINGULARITY_IMAGE_RESTRICTIONS": "any"},
            {},
            {"/data/i.sif": ("file", None)},
            "/etc/hosts,/etc/localtime",
            id="job-declines-cvmfs",
        ),
        pytest.param(
            {"SingularityBindCVMFS": False},
            {},
            {},
            {},
            "/etc/hosts,/etc/localtime,/cvmfs",
            id="cvmfs-image-forces-cvmfs",
        ),
        pytest.param(
            {},
            {"GS_OVERLAY": None},
            {},
            {EL9_REAL + "/etc/hosts": ("file", None), EL9_REAL + "/cvmfs": ("dir", None)},
            "/etc/hosts,/cvmfs",
            id="dir-image-missing-targets-without-overlay",
        ),
        pytest.param(
            {},
            {"GS_OVERLAY": None},
            {},
            {EL9_REAL + "/etc/localtime": ("link", "/usr/share/x")},
            "/etc/localtime",
            id="dangling-link-target-counts",
        ),
        pytest.param(
            {"SingularityImage": SIF},
            {"GS_OVERLAY": None},
            {},
            {},
            "/etc/hosts,/etc/localtime,/cvmfs",
            id="sif-targets-not-checked",
        ),
    ],
)
def test_binds(job, machine, settings, filesystem, binds):
    """One --bind: admin binds, then defaults, then CVMFS; existing sources, unique targets."""
    result = run_plan(job, machine, settings=settings, filesystem=filesystem)
    assert isinstance(result, LaunchPlan), result
    assert binds == result.argv[result.argv.index("--bind") + 1]


def test_no_bind_option_when_nothing_to_bind():
    """Without any bind source the --bind option is left out."""
    result = run_plan(filesystem={"/etc/hosts": None, "/etc/localtime": None, "/cvmfs": None})
    assert "--bind" not in result.argv


@pytest.mark.parametrize(
    ("argv", "inner", "paths"),
    [
        pytest.param(JOB_ARGV, INNER_ARGV, None, id="sandbox-prefix"),
        pytest.param((SANDBOX,), ("/srv",), None, id="exact"),
        pytest.param(("/bin/sleep", "1"), ("/bin/sleep", "1"), None, id="outside-unchanged"),
        pytest.param(
            ("job", "rel/x", "-o" + SANDBOX), ("job", "rel/x", "-o" + SANDBOX), None, id="relative-options"
        ),
        pytest.param((SANDBOX + "x/y",), (SANDBOX + "x/y",), None, id="partial-match-unchanged"),
        pytest.param(("/real/dir_1/job.sh",), ("/srv/job.sh",), "alias", id="realpath-alias"),
        pytest.param(("/link/job.sh",), ("/srv/job.sh",), "symlinked-arg", id="symlinked-arg"),
    ],
)
def test_argument_rewriting(argv, inner, paths):
    """Job arguments that are sandbox paths point to /srv inside; others are untouched."""
    files = {
        SANDBOX: ("dir", None),
        "/etc/hosts": ("file", None),
        "/cvmfs": ("dir", None),
        EL9: ("dir", None),
    }
    if paths == "alias":
        files[SANDBOX] = ("dir", "/real/dir_1")
        files["/real/dir_1"] = ("dir", None)
    if paths == "symlinked-arg":
        files["/link/job.sh"] = ("file", SANDBOX + "/job.sh")
    where = Paths(SANDBOX, SANDBOX, None, ERROR_FILE, make_probe(files))
    result = run_plan(argv=argv, paths=where)
    assert inner == result.argv[-len(inner) :]
    if paths == "alias":
        where = Paths(SANDBOX, "/real/dir_1", None, "/real/dir_1/.job_wrapper_failure", make_probe(files))
        assert LAUNCHER == run_plan(argv=argv, paths=where).argv[-len(inner) - 4 : -len(inner)]


def test_error_file_outside_sandbox_uses_plain_exec():
    """Without an error file in the job directory the runtime execs the job directly, with a reason."""
    files = {SANDBOX: ("dir", None), EL9: ("dir", None)}
    where = Paths(SANDBOX, SANDBOX, None, "/elsewhere/.job_wrapper_failure", make_probe(files))
    result = run_plan(paths=where, filesystem={})
    assert (EL9, *INNER_ARGV) == result.argv[-4:]
    assert result.error_file_message is None
    expected = (
        "_CONDOR_WRAPPER_ERROR_FILE /elsewhere/.job_wrapper_failure is not in the job directory: a runtime "
        "failure will look like a job failure"
    )
    assert expected in result.reasons


def test_revealed_sandbox_launcher_restores_the_mode():
    """When the starter cannot see into the job directory, the launcher restores its original mode."""
    files = {SANDBOX: ("dir", None), EL9: ("dir", None)}
    where = Paths(SANDBOX, SANDBOX, None, ERROR_FILE, make_probe(files), "0700")
    result = run_plan(paths=where, filesystem={})

    expected = ("/bin/sh", "-c", LAUNCHER_SCRIPT_REVEALED, "/srv/.job_wrapper_failure", "0700")
    assert expected == result.argv[-len(INNER_ARGV) - 5 : -len(INNER_ARGV)]
    assert 'rm -f -- "$0" && { chmod "$1" /srv 2>/dev/null; shift; exec "$@"; }' == LAUNCHER_SCRIPT_REVEALED
    assert (
        "the starter cannot see into the job directory: it is made searchable until the job starts"
        in result.reasons
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, RUNTIME_PATH, id="unset"),
        pytest.param({"PATH": ""}, RUNTIME_PATH, id="empty"),
        pytest.param({"PATH": "/opt/site/bin"}, RUNTIME_PATH, id="site-path-cleared"),
        pytest.param({"PATH": RUNTIME_PATH}, None, id="already-sane"),
    ],
)
def test_runtime_always_gets_a_path(environ, expected):
    """The runtime finds host binaries such as nvidia-smi through PATH: never empty, never the site's."""
    result = run_plan(environ=environ)

    assert expected == result.env_set.get("PATH")


ENV = {
    "X509_USER_PROXY": SANDBOX + "/x509up",
    "_CONDOR_JOB_AD": SANDBOX + "/.job.ad",
    "_CONDOR_CHIRP_CONFIG": "/exec/dir_1/user/.chirp.config",
    "TMPDIR": SANDBOX,
    "TMP": SANDBOX,
    "OSG_WN_TMP": "/tmp",
    "LD_PRELOAD": "/lib/evil.so",
    "PYTHONPATH": "/site",
    "GLIDEIN_Site": "SiteA",
    "STASHCACHE": "1",
    "SITE_SECRET": "s",
    "APPTAINER_BINDPATH": "/site/bind",
}


@pytest.mark.parametrize(
    ("policy", "clearlist", "present", "absent", "unset"),
    [
        pytest.param(
            "",
            "",
            {
                "X509_USER_PROXY": "/srv/x509up",
                "_CONDOR_JOB_AD": "/srv/.job.ad",
                "TMPDIR": "/srv/.gs_tmp",
                "TMP": "/srv/.gs_tmp",
                "OSG_WN_TMP": "/srv/.gs_tmp",
            },
            ("GLIDEIN_Site", "_CONDOR_CHIRP_CONFIG", "LD_PRELOAD"),
            ("LD_PRELOAD", "PYTHONPATH", "_CONDOR_CHIRP_CONFIG"),
            id="clearpaths-default",
        ),
        pytest.param(
            "keepall",
            "SITE_SECRET",
            {"X509_USER_PROXY": "/srv/x509up"},
            ("LD_PRELOAD",),
            ("_CONDOR_CHIRP_CONFIG", "SITE_SECRET"),
            id="keepall-clearlist",
        ),
        pytest.param(
            "clearall",
            "",
            {"STASHCACHE": "1", "TMPDIR": "/srv/.gs_tmp"},
            ("GLIDEIN_Site", "X509_USER_PROXY", "_CONDOR_JOB_AD"),
            (),
            id="clearall-gwmsset",
        ),
        pytest.param(
            "clearall,condorset",
            "",
            {"_CONDOR_JOB_AD": "/srv/.job.ad", "STASHCACHE": "1"},
            ("GLIDEIN_Site", "X509_USER_PROXY"),
            (),
            id="condorset",
        ),
        pytest.param(
            "clearall,osgset",
            "",
            {
                "GLIDEIN_Site": "SiteA",
                "X509_USER_PROXY": "/srv/x509up",
                "_CONDOR_JOB_AD": "/srv/.job.ad",
                "OSG_WN_TMP": "/srv/.gs_tmp",
            },
            ("SITE_SECRET",),
            (),
            id="osgset-implies-condorset",
        ),
        pytest.param(
            "clear",
            "GLIDEIN_Site",
            {"X509_USER_PROXY": "/srv/x509up"},
            ("GLIDEIN_Site",),
            (),
            id="clear-with-clearlist",
        ),
    ],
)
def test_environment_policies(policy, clearlist, present, absent, unset):
    """GLIDEIN_CONTAINER_ENV decides what passes; paths point to /srv; the clearlist is removed."""
    settings = {"container_env": policy, "container_env_clearlist": clearlist}
    result = run_plan(settings=settings, environ=ENV)
    for name, value in present.items():
        assert (name, value) == (name, result.env_set.get("APPTAINERENV_" + name))
        assert value == result.env_set["SINGULARITYENV_" + name]
    for name in absent:
        assert "APPTAINERENV_" + name not in result.env_set
    assert set(unset) <= set(result.env_unset)
    # no runtime variable reaches the runtime, whoever set it: its options come from the plan only
    assert "APPTAINER_BINDPATH" in result.env_unset


def test_job_environment_preserved_and_protected():
    """The job's own variables go in (paths rewritten), runtime-configuring ones are removed."""
    job = {
        "Environment": "FOO='a b' DATA={}/in APPTAINER_BINDPATH=/ SINGULARITYENV_X=1 HOME=/h "
        "GLIDEIN_SINGULARITY_OPTS=--bind=/".format(SANDBOX)
    }
    environ = {
        "FOO": "a b",
        "DATA": SANDBOX + "/in",
        "APPTAINER_BINDPATH": "/",
        "SINGULARITYENV_X": "1",
        "HOME": "/h",
        "GLIDEIN_SINGULARITY_OPTS": "--bind=/",
    }
    result = run_plan(job, environ=environ)
    assert result.env_set["APPTAINERENV_FOO"] == "a b"
    assert result.env_set["APPTAINERENV_DATA"] == "/srv/in"
    assert ("APPTAINER_BINDPATH", "SINGULARITYENV_X") == result.env_unset
    assert "APPTAINERENV_HOME" not in result.env_set
    assert "--bind=/" not in result.argv
    assert (
        "removed APPTAINER_BINDPATH, SINGULARITYENV_X set by the job: jobs may not configure the container "
        "runtime" in result.reasons
    )


def test_outside_proxy_is_not_exported():
    """A proxy outside the job directory (the glidein's own) is removed, not passed inside."""
    result = run_plan(environ={"X509_USER_PROXY": "/glidein/proxy"})
    assert "X509_USER_PROXY" in result.env_unset
    assert "APPTAINERENV_X509_USER_PROXY" not in result.env_set


@pytest.mark.parametrize(
    ("machine", "config", "expected", "reasons"),
    [
        pytest.param({}, {}, {"glidein_required_os": "any", "failure_sleep": "600"}, (), id="defaults"),
        pytest.param(
            {"GLIDEIN_SINGULARITY_OPTS": "-a"},
            {"GLIDEIN_SINGULARITY_OPTS": "-g"},
            {"opts": "-a"},
            (),
            id="machine-ad-first",
        ),
        pytest.param(
            {}, {"GLIDEIN_SINGULARITY_BINDPATH": "/g"}, {"bindpath": "/g"}, (), id="glidein-config-next"
        ),
        pytest.param(
            {}, {"GLIDEIN_CONTAINER_ENV": "keepall"}, {"container_env": "keepall"}, (), id="container-env"
        ),
        pytest.param(
            {"SINGULARITY_DISABLE_PID_NAMESPACES": 1},
            {},
            {"disable_pid_namespaces": "1"},
            (),
            id="int-as-text",
        ),
        pytest.param(
            {"GLIDEIN_REQUIRED_OS": "x" * 0}, {}, {"glidein_required_os": ""}, (), id="empty-string-kept"
        ),
    ],
)
def test_node_settings_sources(machine, config, expected, reasons):
    """Settings come from the machine ad, then glidein_config; never from the environment."""
    settings = NodeSettings.from_sources(make_ad(machine), config)
    for field, value in expected.items():
        assert (field, value) == (field, getattr(settings, field))
    assert reasons == settings.reasons


def test_no_setting_from_the_environment():
    """Every setting's name set in the wrapper's environment (by the job or anyone) changes nothing."""
    from glidein_singularity.settings import SETTING_NAMES

    environ = dict.fromkeys(SETTING_NAMES, "/evil,keepall,1,0")
    plain, steered = run_plan(), run_plan(environ=environ)
    assert (plain.argv, plain.image, plain.env_set) == (steered.argv, steered.image, steered.env_set)
    steered_by_job = run_plan({"Environment": " ".join(name + "=/evil" for name in SETTING_NAMES)})
    assert (plain.argv, plain.image) == (steered_by_job.argv, steered_by_job.image)


def test_node_settings_non_literal_ignored():
    """An expression in the machine ad is not used as a setting."""
    settings = NodeSettings.from_sources(parse_ad("SINGULARITY_IMAGES_DICT = strcat(a, b)\n"), {})
    assert settings.images_dict == ""
    expected = (
        "ignored SINGULARITY_IMAGES_DICT = the expression strcat(a, b) in the machine ad: not a literal",
    )
    assert expected == settings.reasons


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param(" --nv  -e ", ["--nv", "-e"], id="blanks"),
        pytest.param('--env "A=b c"', ["--env", "A=b c"], id="quoted"),
    ],
)
def test_split_options(text, expected):
    """GLIDEIN_SINGULARITY_OPTS is split like a shell would."""
    assert expected == split_options(text)


def test_split_options_error():
    """Unbalanced quotes raise ConfigError naming the setting."""
    with pytest.raises(ConfigError, match="GLIDEIN_SINGULARITY_OPTS"):
        split_options("'a")


def test_environment_applies_changes():
    """LaunchPlan.environment() removes env_unset and adds env_set."""
    launch = run_plan(
        job={"Environment": "APPTAINER_BINDPATH=/"}, environ={"APPTAINER_BINDPATH": "/", "K": "v"}
    )
    env = launch.environment({"APPTAINER_BINDPATH": "/", "K": "v"})
    assert "APPTAINER_BINDPATH" not in env
    assert env["K"] == "v"
    assert env["APPTAINERENV_GS_IN_CONTAINER"] == "1"


def test_runtime_is_argv0():
    """The runtime from the machine ad is what gets exec'd."""
    assert RUNTIME == run_plan().argv[0]
