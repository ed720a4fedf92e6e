"""The real gs-setup launcher and setup entry point, run on fake glidein directories with fake runtimes.

These tests check the GlideinWMS custom-script protocol (exit code, error_gen XML, glidein_config and
condor vars lines) and the standalone config.d output. They use fake runtimes, so they say nothing
about real containers; the integration suite runs the same script with the real Apptainer.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from glidein_singularity.bundle import write_bundle
from glidein_singularity.glidein_config import parse_condor_vars, parse_glidein_config
from glidein_singularity.node.setup_install import install_wrapper_code
from tests.fake_runtime import exec_calls, make_fake_runtime

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "glidein_scripts" / "gs-setup"

GWMS_SET = [
    "HAS_SINGULARITY",
    "GWMS_SINGULARITY_STATUS",
    "SINGULARITY_PATH",
    "GWMS_SINGULARITY_PATH",
    "CONTAINERSW_PATH",
    "GWMS_CONTAINERSW_PATH",
    "SINGULARITY_VERSION",
    "GWMS_SINGULARITY_VERSION",
    "CONTAINERSW_VERSION",
    "GWMS_CONTAINERSW_VERSION",
    "SINGULARITY_FULL_VERSION",
    "CONTAINERSW_FULL_VERSION",
    "GWMS_CONTAINERSW_FULL_VERSION",
    "SINGULARITY_MODE",
    "GWMS_SINGULARITY_MODE",
    "CONTAINERSW_MODE",
    "GWMS_CONTAINERSW_MODE",
    "SINGULARITY_IMAGES_DICT",
    "GLIDEIN_PROVIDES",
]


class Glidein:
    """A fake glidein directory: glidein_config, condor vars file, fake CVMFS and a bin dir."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.tools = root / "tools"
        self.cvmfs = root / "cvmfs"
        self.config_path = root / "glidein_config"
        self.vars_path = root / "condor_vars.lst"
        for folder in (
            self.bin,
            self.tools,
            self.cvmfs / "sing.org" / "el9",
            self.cvmfs / "sing.org" / "el8",
        ):
            folder.mkdir(parents=True)
        for tool in ("dirname", "date", "sleep", "cat"):  # what the launcher and fakes need, nothing else
            (self.tools / tool).symlink_to(shutil.which(tool))
        self.vars_path.write_text("GLIDEIN_Site S - + N Y -\n")
        self.base = {
            "CONDOR_VARS_FILE": str(self.vars_path),
            "CVMFS_MOUNT_DIR": str(self.cvmfs),
            "OSG_SINGULARITY_BINARY": str(root / "no-osg" / "singularity"),
            "GLIDEIN_REQUIRED_OS": "rhel9,rhel8",
            "GLIDEIN_PROVIDES": "cvmfs",
            "SINGULARITY_IMAGES_DICT": (
                "rhel9:/cvmfs/sing.org/el9,rhel8:/cvmfs/sing.org/el8,rhel7:/cvmfs/sing.org/el7"
            ),
        }

    def write_config(self, **values: str) -> None:
        config = dict(self.base)
        config.update(values)
        text = "".join("{} {}\n".format(key, value) for key, value in config.items() if value is not None)
        self.config_path.write_text(text)

    def run(
        self, *args: str, env: "dict[str, str] | None" = None, launcher: pathlib.Path = LAUNCHER
    ) -> subprocess.CompletedProcess:
        environ = {
            "PATH": "{}:{}".format(self.bin, self.tools),
            "GS_PYTHON": sys.executable,
            "HOME": str(self.root),
        }
        environ.update(env or {})
        argv = [str(launcher), *args] if args else [str(launcher), str(self.config_path), "entry_x"]
        return subprocess.run(
            argv, cwd=str(self.root), env=environ, capture_output=True, text=True, timeout=60
        )

    def config(self) -> "dict[str, str]":
        return parse_glidein_config(self.config_path.read_text())

    def condor_vars(self) -> dict:
        return {name: " ".join(var) for name, var in parse_condor_vars(self.vars_path.read_text()).items()}

    def result(self) -> "tuple[str, list[tuple[str, str]], str | None]":
        root = ET.parse(str(self.root / "otrb_output.xml")).getroot()
        assert "gs-setup" == root.get("id")
        metrics = [(m.get("name"), m.text) for m in root.iter("metric")]
        detail = root.findtext("detail")
        return root.findtext("result/status"), metrics, detail.strip() if detail is not None else None

    def fake(self, name: str = "apptainer", **behaviour: object) -> pathlib.Path:
        return make_fake_runtime(self.bin / name, **behaviour)  # type: ignore[arg-type]


@pytest.fixture
def glidein(tmp_path):
    """A fresh fake glidein directory."""
    return Glidein(tmp_path)


def _advertised(glidein: Glidein, names) -> dict:
    config = glidein.config()
    return {name: config.get(name) for name in names}


# --- success -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use", "require", "status"),
    [
        pytest.param("REQUIRED", "OPTIONAL", "REQUIRED", id="required"),
        pytest.param("PREFERRED", "OPTIONAL", "PREFERRED", id="preferred"),
        pytest.param("optional", "required_gwms", "REQUIRED", id="lower-case-required-gwms"),
    ],
)
def test_success_advertises_gwms_set(glidein, use, require, status):
    """A working runtime and image: exit 0, OK, the GlideinWMS set plus our additions, one container."""
    fake = glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use=use, GLIDEIN_SINGULARITY_REQUIRE=require)
    proc = glidein.run()
    path = str(fake)
    expected_values = {
        "HAS_SINGULARITY": "True",
        "GWMS_SINGULARITY_STATUS": status,
        "SINGULARITY_PATH": path,
        "GWMS_SINGULARITY_PATH": path,
        "SINGULARITY_VERSION": "1.4.5",
        "GWMS_SINGULARITY_VERSION": "1.4.5",
        "SINGULARITY_FULL_VERSION": "apptainer version 1.4.5",
        "SINGULARITY_MODE": "unprivileged",
        "GWMS_SINGULARITY_MODE": "unprivileged",
        "CONTAINERSW_PATH": path,
        "GWMS_CONTAINERSW_PATH": path,
        "CONTAINERSW_VERSION": "1.4.5",
        "GWMS_CONTAINERSW_VERSION": "1.4.5",
        "CONTAINERSW_FULL_VERSION": "apptainer version 1.4.5",
        "GWMS_CONTAINERSW_FULL_VERSION": "apptainer version 1.4.5",
        "CONTAINERSW_MODE": "unprivileged",
        "GWMS_CONTAINERSW_MODE": "unprivileged",
        "SINGULARITY_IMAGES_DICT": glidein.base["SINGULARITY_IMAGES_DICT"],
        "GLIDEIN_PROVIDES": "cvmfs,singularity/unprivileged",
        "SINGULARITY_OS_LIST": "rhel9,rhel8",
        "GS_PID_NAMESPACES": "True",
        "GS_SIF_USABLE": "True",  # no squashfuse on the script's PATH: .sif images are extracted
        "GLIDEIN_REQUIRED_OS": "rhel9,rhel8",
    }
    expected_vars = {
        name: "{} {} - + Y Y +".format(name, "C" if name == "HAS_SINGULARITY" else "S") for name in GWMS_SET
    }
    expected_vars.update(
        {
            "GLIDEIN_Site": "GLIDEIN_Site S - + N Y -",
            "SINGULARITY_OS_LIST": "SINGULARITY_OS_LIST S - + N Y -",
            "GS_PID_NAMESPACES": "GS_PID_NAMESPACES C - + N Y -",
            "GS_SIF_USABLE": "GS_SIF_USABLE C - + N Y -",
        }
    )
    expected = (0, ("OK", [("use_singularity", "True")], None), expected_values, expected_vars, 1, "")
    assert expected == (
        proc.returncode,
        glidein.result(),
        _advertised(glidein, expected_values),
        glidein.condor_vars(),
        len(exec_calls(fake)),
        proc.stderr,
    )


def test_unknown_env_policy_word_warned_once_at_start(glidein):
    """A typo in GLIDEIN_CONTAINER_ENV is reported at glidein start (log and error_gen), not per job."""
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED", GLIDEIN_CONTAINER_ENV="aaa,osgset")
    proc = glidein.run()
    warning = (
        "gs-setup: warning: GLIDEIN_CONTAINER_ENV: unknown 'aaa' ignored by the job wrapper (expected a "
        "comma list of clearpaths, clearall, keepall, osgset, condorset, gwmsset, clear); fix the factory or "
        "frontend attribute\n"
    )
    expected = (0, ("OK", [("use_singularity", "True"), ("container_env_ignored", "aaa")], None), True)
    assert expected == (proc.returncode, glidein.result(), warning in proc.stdout)


def test_validation_is_built_like_a_job_launch(glidein):
    """The one validation container gets the job options, glidein_config binds/opts and the CVMFS mount,
    in a job's order, and only binds whose target the directory image has (as a job without GS_OVERLAY)."""
    fake = glidein.fake()
    data = glidein.root / "data"
    data.mkdir()
    glidein.write_config(
        GLIDEIN_Singularity_Use="REQUIRED",
        GLIDEIN_SINGULARITY_BINDPATH="{},/missing/src".format(data),
        GLIDEIN_SINGULARITY_BINDPATH_DEFAULT="/cvmfs/sing.org",
        GLIDEIN_SINGULARITY_OPTS="--no-eval",
    )
    image = glidein.cvmfs / "sing.org" / "el9"
    for target in (str(data), "/cvmfs/sing.org", "/etc/hosts", "/etc/localtime"):  # a job's binds need them
        (image / target.lstrip("/")).mkdir(parents=True, exist_ok=True)
    glidein.run()
    argv = exec_calls(fake)[0].split()
    home = argv[argv.index("--home") + 1]
    expected = [
        "exec", "--home", home, "--pwd", "/srv", "--contain", "--ipc", "--pid", "--no-eval", "--bind",
        "{0},{1}/sing.org:/cvmfs/sing.org,/etc/hosts,/etc/localtime,{1}:/cvmfs".format(data, glidein.cvmfs),
        "{}/sing.org/el9".format(glidein.cvmfs), "cat", "/proc/self/uid_map",
    ]  # fmt: skip
    assert (expected, True, False) == (
        argv,
        home.startswith(str(glidein.root / ".gs-validate-")) and home.endswith(":/srv"),
        os.path.exists(home[: -len(":/srv")]),
    )


def test_rerun_keeps_one_line_per_key(glidein):
    """Running twice leaves one glidein_config line per key and one singularity/<mode> in GLIDEIN_PROVIDES."""
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED")
    glidein.run()
    glidein.run()
    lines = glidein.config_path.read_text().splitlines()
    keys = [line.split(" ", 1)[0] for line in lines]
    expected = ([], "cvmfs,singularity/unprivileged")
    assert expected == (sorted({k for k in keys if keys.count(k) > 1}), glidein.config()["GLIDEIN_PROVIDES"])


# --- NEVER / DISABLE / FAIL ---------------------------------------------------------------------------------


def test_never(glidein):
    """NEVER advertises HAS_SINGULARITY=False and the status, and starts no container."""
    fake = glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="NEVER")
    proc = glidein.run()
    expected = (
        0,
        ("OK", [("use_singularity", "False")], None),
        {"HAS_SINGULARITY": "False", "GWMS_SINGULARITY_STATUS": "NEVER", "SINGULARITY_PATH": None},
        "HAS_SINGULARITY C - + Y Y +",
        0,
    )
    assert expected == (
        proc.returncode,
        glidein.result(),
        _advertised(glidein, ["HAS_SINGULARITY", "GWMS_SINGULARITY_STATUS", "SINGULARITY_PATH"]),
        glidein.condor_vars()["HAS_SINGULARITY"],
        len(exec_calls(fake)),
    )


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({}, id="use-unset"),
        pytest.param(
            {"GLIDEIN_Singularity_Use": "DISABLE_GWMS", "GLIDEIN_SINGULARITY_REQUIRE": "REQUIRED"}, id="dis"
        ),
    ],
)
def test_disable_advertises_nothing(glidein, values):
    """DISABLE: OK with use_singularity=Undefined; glidein_config and condor vars untouched."""
    fake = glidein.fake()
    glidein.write_config(**values)
    before = (glidein.config_path.read_text(), glidein.vars_path.read_text())
    proc = glidein.run()
    expected = (0, ("OK", [("use_singularity", "Undefined")], None), before, 0)
    assert expected == (
        proc.returncode,
        glidein.result(),
        (glidein.config_path.read_text(), glidein.vars_path.read_text()),
        len(exec_calls(fake)),
    )


@pytest.mark.parametrize(
    ("use", "require", "attribute", "detail"),
    [
        pytest.param(
            "REQUIRED",
            "NEVER",
            "GLIDEIN_Singularity_Use",
            "the frontend requires containers but the factory entry forbids them "
            "(GLIDEIN_Singularity_Use=REQUIRED, GLIDEIN_SINGULARITY_REQUIRE=NEVER)",
            id="table-fail",
        ),
        pytest.param(
            "PREFERRED",
            "MAYBE",
            "GLIDEIN_SINGULARITY_REQUIRE",
            "GLIDEIN_SINGULARITY_REQUIRE='MAYBE' is not valid; accepted values: "
            "NEVER, OPTIONAL, PREFERRED, REQUIRED, REQUIRED_GWMS",
            id="invalid-factory-value",
        ),
        pytest.param(
            "ALWAYS",
            "OPTIONAL",
            "GLIDEIN_Singularity_Use",
            "GLIDEIN_Singularity_Use='ALWAYS' is not valid; accepted values: "
            "DISABLE_GWMS, NEVER, OPTIONAL, PREFERRED, REQUIRED",
            id="invalid-frontend-value",
        ),
    ],
)
def test_fail_is_vo_config(glidein, use, require, attribute, detail):
    """Incompatible or invalid settings: exit 1, ERROR VO_Config naming the attribute, nothing advertised."""
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use=use, GLIDEIN_SINGULARITY_REQUIRE=require)
    before = glidein.config_path.read_text()
    proc = glidein.run()
    expected = (
        1,
        ("ERROR", [("failure", "VO_Config"), ("attribute", attribute)], detail),
        before,
        "ERROR: " + detail + "\n",
    )
    assert expected == (proc.returncode, glidein.result(), glidein.config_path.read_text(), proc.stderr)


def test_invalid_restriction_is_vo_config(glidein):
    """An unknown SINGULARITY_IMAGE_RESTRICTIONS word fails the glidein as VO_Config."""
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="PREFERRED", SINGULARITY_IMAGE_RESTRICTIONS="cvmfs,local")
    proc = glidein.run()
    detail = (
        "SINGULARITY_IMAGE_RESTRICTIONS: unknown restriction 'local' in 'cvmfs,local'; "
        "expected a comma list of "
        "cvmfs, remote, test, any"
    )
    expected = (1, ("ERROR", [("failure", "VO_Config")], detail))
    assert expected == (proc.returncode, glidein.result())


# --- REQUIRED failures and PREFERRED fallbacks ----------------------------------------------------------

_NOT_FOUND = (
    "PATH apptainer: not found; PATH singularity: not found; "
    "module singularitypro: no module system (LMOD_CMD/MODULESHOME unset); "
    "module singularity: no module system (LMOD_CMD/MODULESHOME unset); "
    "OSG {osg}: not found"
)


def _required_detail(problem: str) -> str:
    return (
        "containers are required (GLIDEIN_Singularity_Use=REQUIRED, GLIDEIN_SINGULARITY_REQUIRE=OPTIONAL), "
        "but cannot be used on this node: " + problem
    )


def _problem(glidein: Glidein, case: str) -> str:
    """Set up the fault ``case`` and return the problem text the script must report."""
    osg = glidein.base["OSG_SINGULARITY_BINARY"]
    fake = str(glidein.bin / "apptainer")
    if case == "missing-binary":
        return "no working container runtime; tried: " + _NOT_FOUND.format(osg=osg)
    if case == "broken-binary":
        glidein.fake(exec_rc=255, exec_err="FATAL:   could not open image: permission denied")
        return (
            "no working container runtime; tried: PATH apptainer {}: version 1.4.5; validation failed: "
            "FATAL:   could not open image: permission denied; PATH singularity: not found; "
            "module singularitypro: no module system (LMOD_CMD/MODULESHOME unset); "
            "module singularity: no module system (LMOD_CMD/MODULESHOME unset); OSG {}: not found"
        ).format(fake, osg)
    if case == "garbage-exit-0":
        glidein.fake(exec_out="Welcome to the container")
        return (
            "no working container runtime; tried: PATH apptainer {}: version 1.4.5; validation failed: "
            "unexpected validation output 'Welcome to the container': "
            "expected a /proc/self/uid_map line like "
            "'1000 1000 1'; PATH singularity: not found; "
            "module singularitypro: no module system (LMOD_CMD/MODULESHOME unset); "
            "module singularity: no module system (LMOD_CMD/MODULESHOME unset); OSG {}: not found"
        ).format(fake, osg)
    if case == "no-version":
        glidein.fake(version_out="", version_rc=1)
        return (
            "no working container runtime; tried: "
            "PATH apptainer {}: version check failed: exit code 1 and no "
            "output; PATH singularity: not found; "
            "module singularitypro: no module system (LMOD_CMD/MODULESHOME unset); "
            "module singularity: no module system (LMOD_CMD/MODULESHOME unset); OSG {}: not found"
        ).format(fake, osg)
    assert "missing-image" == case
    glidein.fake()
    shutil.rmtree(str(glidein.cvmfs / "sing.org"))
    return (
        'SINGULARITY_IMAGES_DICT key "rhel9": image "/cvmfs/sing.org/el9" does not exist on this node '
        "(checked {}/sing.org/el9) (SINGULARITY_IMAGE_REQUIRED is true)"
    ).format(glidein.cvmfs)


CASES = ["missing-binary", "broken-binary", "garbage-exit-0", "no-version", "missing-image"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c) for c in CASES])
def test_required_fails_wn_resource(glidein, case):
    """REQUIRED without a working runtime or image: exit 1, WN_Resource naming what is missing and tried."""
    problem = _problem(glidein, case)
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED", SINGULARITY_IMAGE_REQUIRED="true")
    before = glidein.config_path.read_text()
    proc = glidein.run()
    detail = _required_detail(problem)
    expected = (1, ("ERROR", [("failure", "WN_Resource")], detail), before, "ERROR: " + detail + "\n")
    assert expected == (proc.returncode, glidein.result(), glidein.config_path.read_text(), proc.stderr)


@pytest.mark.parametrize("case", [pytest.param(c, id=c) for c in CASES])
def test_preferred_falls_back(glidein, case):
    """PREFERRED without a working runtime or image: exit 0, HAS_SINGULARITY=False, status PREFERRED."""
    problem = _problem(glidein, case)
    glidein.write_config(GLIDEIN_Singularity_Use="PREFERRED", SINGULARITY_IMAGE_REQUIRED="True")
    proc = glidein.run()
    warning = "containers are preferred but cannot be used on this node, jobs run without: " + problem
    expected = (
        0,
        ("OK", [("use_singularity", "False")], None),
        {"HAS_SINGULARITY": "False", "GWMS_SINGULARITY_STATUS": "PREFERRED", "SINGULARITY_PATH": None},
        True,
    )
    assert expected == (
        proc.returncode,
        glidein.result(),
        _advertised(glidein, ["HAS_SINGULARITY", "GWMS_SINGULARITY_STATUS", "SINGULARITY_PATH"]),
        "gs-setup: warning: " + warning + "\n" in proc.stdout,
    )


# --- images -------------------------------------------------------------------------------------------------


def test_missing_default_image_not_required_uses_another(glidein):
    """SINGULARITY_IMAGE_REQUIRED=false: a missing default image warns; another dict image validates."""
    fake = glidein.fake()
    shutil.rmtree(str(glidein.cvmfs / "sing.org" / "el9"))
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED")
    proc = glidein.run()
    warning = (
        'gs-setup: warning: SINGULARITY_IMAGES_DICT key "rhel9": '
        'image "/cvmfs/sing.org/el9" does not exist on '
        "this node (checked {}/sing.org/el9); SINGULARITY_IMAGE_REQUIRED is false, going on\n"
    ).format(glidein.cvmfs)
    expected = (0, "rhel8", True, "{}/sing.org/el8".format(glidein.cvmfs))
    assert expected == (
        proc.returncode,
        glidein.config()["SINGULARITY_OS_LIST"],
        warning in proc.stdout,
        exec_calls(fake)[0].split()[-3],
    )


@pytest.mark.parametrize(
    ("test_image", "allow", "expected_rc", "expected_detail"),
    [
        pytest.param("local", "", 0, None, id="local-test-image"),
        pytest.param(
            "oras://ghcr.io/apptainer/alpine:latest",
            "",
            1,
            _required_detail(
                'APPTAINER_TEST_IMAGE "oras://ghcr.io/apptainer/alpine:latest" is remote and pulling is off; '
                "set GS_ALLOW_REMOTE_TEST_IMAGE=True or use a local image"
            ),
            id="remote-refused",
        ),
        pytest.param("oras://ghcr.io/apptainer/alpine:latest", "True", 0, None, id="remote-opt-in"),
        pytest.param(
            "",
            "",
            1,
            _required_detail(
                "no image to validate the runtime with: "
                "SINGULARITY_IMAGES_DICT has no usable local image and "
                "APPTAINER_TEST_IMAGE is not set"
            ),
            id="no-image-at-all",
        ),
    ],
)
def test_test_image_only_without_dict_image(glidein, test_image, allow, expected_rc, expected_detail):
    """Without a dictionary image the test image validates; remote ones only with the opt-in."""
    fake = glidein.fake()
    local = glidein.root / "alpine.sif"
    local.write_text("not really an image")
    image = str(local) if test_image == "local" else test_image
    glidein.write_config(
        GLIDEIN_Singularity_Use="REQUIRED",
        SINGULARITY_IMAGES_DICT="",
        APPTAINER_TEST_IMAGE=image,
        GS_ALLOW_REMOTE_TEST_IMAGE=allow,
    )
    proc = glidein.run()
    calls = exec_calls(fake)
    _, _, detail = glidein.result()
    expected = (expected_rc, expected_detail, [image] if expected_rc == 0 else [], None)
    assert expected == (
        proc.returncode,
        detail,
        [call.split()[-3] for call in calls],
        glidein.config().get("SINGULARITY_OS_LIST"),
    )


def test_restricted_image_not_listed(glidein):
    """A dict image outside /cvmfs with the cvmfs restriction is not served (not in SINGULARITY_OS_LIST)."""
    glidein.fake()
    outside = glidein.root / "el7-local"
    outside.mkdir()
    glidein.write_config(
        GLIDEIN_Singularity_Use="REQUIRED",
        GLIDEIN_REQUIRED_OS="any",
        SINGULARITY_IMAGES_DICT="rhel9:/cvmfs/sing.org/el9,rhel7:{}".format(outside),
    )
    proc = glidein.run()
    expected = (0, "rhel9")
    assert expected == (proc.returncode, glidein.config()["SINGULARITY_OS_LIST"])


def test_image_source_policy_published_and_applied(glidein):
    """The source lists and their START regexes reach the startd; a denied dict image is not served."""
    glidein.fake()
    glidein.write_config(
        GLIDEIN_Singularity_Use="REQUIRED",
        GLIDEIN_REQUIRED_OS="any",
        GS_ALLOWED_IMAGE_SOURCES="/cvmfs/sing.org/*",
        GS_ENTRY_DENIED_IMAGE_SOURCES="/cvmfs/sing.org/el8, docker://*:devel",
    )
    proc = glidein.run()
    names = (
        "SINGULARITY_OS_LIST",
        "GS_ALLOWED_IMAGE_SOURCES",
        "GS_ENTRY_DENIED_IMAGE_SOURCES",
        "GS_IMAGE_ALLOW_REGEX",
        "GS_IMAGE_DENY_REGEX",
    )
    expected = {
        "SINGULARITY_OS_LIST": "rhel9",
        "GS_ALLOWED_IMAGE_SOURCES": "/cvmfs/sing.org/*",
        "GS_ENTRY_DENIED_IMAGE_SOURCES": "/cvmfs/sing.org/el8,docker://*:devel",
        "GS_IMAGE_ALLOW_REGEX": "(?s)^(/cvmfs/sing[.]org/.*)(?!.)",
        "GS_IMAGE_DENY_REGEX": "(?s)^(/cvmfs/sing[.]org/el8|docker://.*:devel)(?!.)",
    }
    assert (0, expected) == (proc.returncode, _advertised(glidein, names))
    vars_lines = glidein.condor_vars()
    assert ["{} S - + N Y -".format(name) for name in names[1:]] == [vars_lines[name] for name in names[1:]]
    assert (
        'warning: SINGULARITY_IMAGES_DICT key "rhel8": image "/cvmfs/sing.org/el8" matches '
        'GS_ENTRY_DENIED_IMAGE_SOURCES pattern "/cvmfs/sing.org/el8"'
    ) in proc.stdout + proc.stderr


def test_legacy_default_merged(glidein):
    """SINGULARITY_IMAGE_DEFAULT7 is merged into the advertised dictionary as rhel7."""
    glidein.fake()
    glidein.write_config(
        GLIDEIN_Singularity_Use="REQUIRED",
        SINGULARITY_IMAGES_DICT="rhel9:/cvmfs/sing.org/el9",
        SINGULARITY_IMAGE_DEFAULT7="/cvmfs/sing.org/el8",
        GLIDEIN_REQUIRED_OS="any",
    )
    glidein.run()
    expected = ("rhel9:/cvmfs/sing.org/el9,rhel7:/cvmfs/sing.org/el8", "rhel9,rhel7")
    config = glidein.config()
    assert expected == (config["SINGULARITY_IMAGES_DICT"], config["SINGULARITY_OS_LIST"])


# --- PID namespaces -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pid_fail", "disable", "expected"),
    [
        pytest.param(True, "", ("False", [True, False]), id="nested-docker-retry"),
        pytest.param(True, "1", ("False", [False]), id="disabled-not-tried"),
        pytest.param(False, "", ("True", [True]), id="works"),
    ],
)
def test_pid_namespaces(glidein, pid_fail, disable, expected):
    """GS_PID_NAMESPACES follows the /proc mount failure (one retry) and the disabling setting."""
    fake = glidein.fake(pid_fail=pid_fail)
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED", SINGULARITY_DISABLE_PID_NAMESPACES=disable)
    proc = glidein.run()
    assert (0, *expected) == (
        proc.returncode,
        glidein.config()["GS_PID_NAMESPACES"],
        ["--pid" in call.split() for call in exec_calls(fake)],
    )


def test_override_from_environment_wins(glidein):
    """GLIDEIN_SINGULARITY_BINARY_OVERRIDE in the environment is tried before PATH."""
    glidein.fake()
    other = make_fake_runtime(glidein.root / "site" / "apptainer", version_out="apptainer version 1.3.0")
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED")
    proc = glidein.run(env={"GLIDEIN_SINGULARITY_BINARY_OVERRIDE": str(other)})
    expected = (0, str(other), "1.3.0")
    config = glidein.config()
    assert expected == (proc.returncode, config["SINGULARITY_PATH"], config["SINGULARITY_VERSION"])


def test_cvmfs_mount_dir_from_the_environment_reaches_the_jobs(glidein):
    """CVMFS_MOUNT_DIR from the pilot's environment (cvmfsexec) wins for the startup script, as in
    GlideinWMS; it is written into glidein_config, where jobs read it, and not advertised to the startd."""
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED", CVMFS_MOUNT_DIR=None)
    proc = glidein.run(env={"CVMFS_MOUNT_DIR": str(glidein.cvmfs)})
    expected = (0, str(glidein.cvmfs), "rhel9,rhel8", False)
    assert expected == (
        proc.returncode,
        glidein.config().get("CVMFS_MOUNT_DIR"),
        glidein.config().get("SINGULARITY_OS_LIST"),
        "CVMFS_MOUNT_DIR" in glidein.condor_vars(),
    ), proc.stderr


def test_cvmfs_mount_dir_already_in_glidein_config_is_left_alone(glidein):
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED")
    before = glidein.config_path.read_text().count("CVMFS_MOUNT_DIR")
    proc = glidein.run()
    assert (0, before) == (proc.returncode, glidein.config_path.read_text().count("CVMFS_MOUNT_DIR"))


def test_missing_glidein_config(glidein):
    """An unreadable glidein_config is an error result naming the file."""
    proc = glidein.run(str(glidein.root / "nope"), "entry")
    detail = "cannot read glidein_config {}: No such file or directory".format(glidein.root / "nope")
    expected = (1, ("ERROR", [("failure", "Corruption")], detail))
    assert expected == (proc.returncode, glidein.result())


def test_usage_error(glidein):
    """No arguments is a usage error (exit 2)."""
    proc = subprocess.run(
        [str(LAUNCHER)],
        env={"PATH": str(glidein.tools), "GS_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected = (2, "ERROR: give <glidein_config> <entry_id>, or --standalone --config-out FILE")
    assert expected == (proc.returncode, proc.stderr.splitlines()[-1])


# --- standalone ---------------------------------------------------------------------------------------------


def _config_d_body(path: pathlib.Path) -> "list[str]":
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def test_standalone_writes_config_d(glidein):
    """Standalone mode writes macros (strings quoted, $ escaped) and appends them to STARTD_ATTRS."""
    fake = glidein.fake()
    settings = glidein.root / "settings"
    settings.write_text(
        "# EP settings\n"
        "GLIDEIN_SINGULARITY_REQUIRE = REQUIRED\n"
        "SINGULARITY_IMAGES_DICT=rhel9:/cvmfs/sing.org/el9\n"
        "CVMFS_MOUNT_DIR={}\n"
        "OSG_SINGULARITY_BINARY=/nonexistent/singularity\n".format(glidein.cvmfs)
    )
    out = glidein.root / "config.d" / "50-glidein-singularity-node.config"
    out.parent.mkdir()
    proc = glidein.run(
        "--standalone",
        "--config-out",
        str(out),
        "--settings",
        str(settings),
        "--set",
        'GLIDEIN_SINGULARITY_OPTS=--env X="$HOME"',
    )
    path = str(fake)
    names = [
        "GLIDEIN_SINGULARITY_OPTS",
        "GLIDEIN_SINGULARITY_REQUIRE",
        "GLIDEIN_Singularity_Use",
        *GWMS_SET,
        "GS_PID_NAMESPACES",
        "GS_SIF_USABLE",
    ]
    names.insert(names.index("GLIDEIN_PROVIDES") + 1, "SINGULARITY_OS_LIST")
    expected_lines = [
        'GLIDEIN_SINGULARITY_OPTS = "--env X=\\"$(DOLLAR)HOME\\""',
        'GLIDEIN_SINGULARITY_REQUIRE = "REQUIRED"',
        'GLIDEIN_Singularity_Use = "PREFERRED"',
        "HAS_SINGULARITY = True",
        'GWMS_SINGULARITY_STATUS = "REQUIRED"',
        'SINGULARITY_PATH = "{}"'.format(path),
        'GWMS_SINGULARITY_PATH = "{}"'.format(path),
        'CONTAINERSW_PATH = "{}"'.format(path),
        'GWMS_CONTAINERSW_PATH = "{}"'.format(path),
        'SINGULARITY_VERSION = "1.4.5"',
        'GWMS_SINGULARITY_VERSION = "1.4.5"',
        'CONTAINERSW_VERSION = "1.4.5"',
        'GWMS_CONTAINERSW_VERSION = "1.4.5"',
        'SINGULARITY_FULL_VERSION = "apptainer version 1.4.5"',
        'CONTAINERSW_FULL_VERSION = "apptainer version 1.4.5"',
        'GWMS_CONTAINERSW_FULL_VERSION = "apptainer version 1.4.5"',
        'SINGULARITY_MODE = "unprivileged"',
        'GWMS_SINGULARITY_MODE = "unprivileged"',
        'CONTAINERSW_MODE = "unprivileged"',
        'GWMS_CONTAINERSW_MODE = "unprivileged"',
        'SINGULARITY_IMAGES_DICT = "rhel9:/cvmfs/sing.org/el9"',
        'GLIDEIN_PROVIDES = "singularity/unprivileged"',
        'SINGULARITY_OS_LIST = "rhel9"',
        "GS_PID_NAMESPACES = True",
        "GS_SIF_USABLE = True",
        "STARTD_ATTRS = $(STARTD_ATTRS) " + " ".join(names),
    ]
    expected = (0, expected_lines, "", ["50-glidein-singularity-node.config"], False)
    assert expected == (
        proc.returncode,
        _config_d_body(out),
        proc.stderr,
        sorted(os.listdir(str(out.parent))),
        (glidein.root / "otrb_output.xml").exists(),
    )


def test_standalone_required_failure_writes_false(glidein):
    """Standalone REQUIRED without a runtime: exit 1 and HAS_SINGULARITY=False replaces any stale value."""
    out = glidein.root / "50-gs.config"
    out.write_text("HAS_SINGULARITY = True\n")
    proc = glidein.run(
        "--standalone",
        "--config-out",
        str(out),
        "--set",
        "GLIDEIN_Singularity_Use=REQUIRED",
        "--set",
        "OSG_SINGULARITY_BINARY=/nonexistent/singularity",
        "--set",
        "APPTAINER_TEST_IMAGE={}".format(glidein.root),
    )
    expected_lines = [
        'GLIDEIN_Singularity_Use = "REQUIRED"',
        "HAS_SINGULARITY = False",
        'GWMS_SINGULARITY_STATUS = "REQUIRED"',
        "STARTD_ATTRS = $(STARTD_ATTRS) GLIDEIN_Singularity_Use HAS_SINGULARITY GWMS_SINGULARITY_STATUS",
    ]
    expected = (1, expected_lines, True)
    assert expected == (
        proc.returncode,
        _config_d_body(out),
        proc.stderr.startswith("ERROR: containers are required"),
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--config-out", "/etc/condor/config.d/50-gs.sh"],
            "ERROR: --config-out /etc/condor/config.d/50-gs.sh: "
            "HTCondor skips such names in LOCAL_CONFIG_DIR; "
            "use NN-name.config",
            id="skipped-name",
        ),
        pytest.param([], "ERROR: --standalone needs --config-out FILE", id="no-output"),
        pytest.param(
            ["--config-out", "x.config", "--set", "NOEQUALS"],
            "ERROR: --set: expected KEY=VALUE, got 'NOEQUALS'",
            id="set",
        ),
    ],
)
def test_standalone_usage_errors(glidein, args, expected):
    """Standalone usage errors exit 2 with one ERROR line and write nothing."""
    proc = glidein.run("--standalone", *args)
    assert (2, expected) == (proc.returncode, proc.stderr.strip())


# --- job wrapper installation -------------------------------------------------------------------------------


def test_installs_job_wrapper_code_in_work_dir(glidein):
    """gs_job_wrapper.py and the probe are linked, the package copied and byte-compiled into the work
    dir, where condor_job_wrapper.sh is; the wrapper runs from there."""
    glidein.write_config(GLIDEIN_Singularity_Use="NEVER", GS_WRAPPER_FAILURE_SLEEP="0")
    glidein.run()
    entry = glidein.root / "gs_job_wrapper.py"
    package = glidein.root / "lib" / "glidein_singularity"
    wrapper = subprocess.run(
        [sys.executable, "-I", "-S", str(entry), "/bin/true"],
        env={"PATH": str(glidein.tools)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected = (
        str(ROOT / "glidein_scripts" / "gs_job_wrapper.py"),
        str(ROOT / "glidein_scripts" / "gs-health"),
        str(ROOT / "glidein_scripts" / "gs-prepare-job"),
        False,
        True,
        True,
        False,
        "ERROR: glidein-singularity job wrapper failed: _CONDOR_JOB_AD is not set: cannot read the ads",
    )
    assert expected == (
        os.readlink(str(entry)),
        os.readlink(str(glidein.root / "gs-health")),  # next to glidein_config, where the probe looks
        os.readlink(str(glidein.root / "gs-prepare-job")),  # likewise the prepare-job hook
        package.is_symlink(),
        (package / "plan.py").is_file(),
        any((package / "__pycache__").glob("plan.*.pyc")),  # cached bytecode for every job launch
        (package / "frontend").exists(),  # admin-side code stays out
        wrapper.stderr.strip(),
    )


def test_install_extracts_a_bundle(tmp_path):
    """A zip bundle is extracted to lib/ and byte-compiled; a second install replaces the copy."""
    scripts = tmp_path / "client"
    scripts.mkdir()
    (scripts / "gs_job_wrapper.py").write_text("")
    bundle = scripts / "glidein_singularity.zip"
    write_bundle(str(ROOT / "src" / "glidein_singularity"), str(bundle))
    work = tmp_path / "work"
    work.mkdir()
    first = install_wrapper_code(str(work), str(scripts), str(bundle))
    second = install_wrapper_code(str(work), str(scripts), str(bundle))
    package = work / "lib" / "glidein_singularity"

    assert "linked {} -> {}".format(work / "gs_job_wrapper.py", scripts / "gs_job_wrapper.py") == first[0]
    assert "copied {} to {}".format(bundle, package) == first[-1]
    assert "copied {} to {}".format(bundle, package) == second[-1]
    assert (package / "node" / "wrapper.py").read_text() == (
        ROOT / "src" / "glidein_singularity" / "node" / "wrapper.py"
    ).read_text()
    assert any((package / "node" / "__pycache__").glob("wrapper.*.pyc"))
    assert not (work / "glidein_singularity.zip").exists()  # the wrapper must find the compiled copy


def test_missing_wrapper_entry_fails_the_glidein(glidein):
    """A gs-setup shipped without gs_job_wrapper.py fails as Corruption naming the missing file."""
    client = glidein.root / "client"
    client.mkdir()
    shutil.copy(str(LAUNCHER), str(client / "gs-setup"))
    glidein.write_config(GLIDEIN_Singularity_Use="NEVER")
    proc = glidein.run(launcher=client / "gs-setup", env={"GS_PACKAGE_PATH": str(ROOT / "src")})
    detail = "cannot install the job wrapper in {}: {} not found (ship it next to gs-setup)".format(
        glidein.root, client / "gs_job_wrapper.py"
    )
    expected = (1, ("ERROR", [("failure", "Corruption")], detail))
    assert expected == (proc.returncode, glidein.result())


# --- coexistence with GlideinWMS's own scripts (issue #14) ----------------------------------------------


def test_entry_required_os_recovered_after_gwms_singularity_setup(glidein):
    """GlideinWMS's singularity_setup.sh runs first and leaves ``GLIDEIN_REQUIRED_OS any`` in glidein_config;
    gs-setup takes the entry's value from the entry's constants file (as cat_consts.sh merged it), serves
    only its OS keys, and advertises it again."""
    glidein.fake()
    entry = glidein.root / "entry_x"
    entry.mkdir()
    (entry / "constants.cfg").write_text("GLIDEIN_Site\tX\nGLIDEIN_REQUIRED_OS\trhel9\n")
    (glidein.cvmfs / "sing.org" / "default").mkdir()
    glidein.write_config(
        GLIDEIN_Singularity_Use="PREFERRED",
        ENTRY_CONSTS_FILE="entry_x/constants.cfg",
        GLIDEIN_REQUIRED_OS="any",  # what GlideinWMS's singularity_setup.sh advertised
        SINGULARITY_IMAGES_DICT="default:/cvmfs/sing.org/default,rhel9:/cvmfs/sing.org/el9",
    )
    proc = glidein.run()
    config = glidein.config()
    assert (0, "rhel9", "rhel9") == (
        proc.returncode,
        config.get("SINGULARITY_OS_LIST"),
        config.get("GLIDEIN_REQUIRED_OS"),
    ), proc.stdout + proc.stderr
    assert "GLIDEIN_REQUIRED_OS" in glidein.condor_vars()


def test_glidein_condor_config_installed(glidein):
    """In a GlideinWMS glidein (a work dir with condor_config.d, GlideinWMS's LOCAL_CONFIG_DIR), gs-setup
    installs our START term and health probe there, pointing at this glidein, and sets the failure
    marker the job wrapper and the probe share."""
    (glidein.root / "condor_config.d").mkdir()
    glidein.write_config(GLIDEIN_Singularity_Use="NEVER")
    proc = glidein.run()
    installed = (glidein.root / "condor_config.d" / "60-glidein-singularity.config").read_text()
    wrapper = (ROOT / "condor_config.d" / "50-glidein-singularity-wrapper.config").read_text()
    container = (ROOT / "condor_config.d" / "55-glidein-singularity-container.config").read_text()
    start = (ROOT / "condor_config.d" / "60-glidein-singularity-start.config").read_text()
    health = (ROOT / "condor_config.d" / "70-glidein-singularity-health.config").read_text()
    marker = str(glidein.root / "gs-failures")
    assert (0, marker) == (proc.returncode, glidein.config().get("GS_FAILURE_MARKER")), proc.stderr
    assert "GS_LIBEXEC = {}\n".format(glidein.root) in installed
    assert "GS_GLIDEIN_CONFIG = {}\n".format(glidein.config_path) in installed
    assert "GS_FAILURE_MARKER = {}\n".format(marker) in installed
    order = [installed.find(text) for text in (wrapper, container, start, health)]
    assert -1 not in order, order
    assert order == sorted(order), order
    # the last word on the job wrapper is GlideinWMS's condor_job_wrapper.sh, which runs ours
    assert installed.rstrip().endswith("USER_JOB_WRAPPER = $(LOCAL_DIR)/condor_job_wrapper.sh")


def test_glidein_condor_config_htcondor_launch_keeps_the_starters_runtime(glidein):
    """With GLIDEIN_SINGULARITY_USE_HTCONDOR the starter launches the containers: every snippet is
    installed, the container universe's included, and HTCondor's own launch is turned off only where the
    setup did not set GS_USE_HTCONDOR true (here it did, with the starter's SINGULARITY)."""
    (glidein.root / "condor_config.d").mkdir()
    glidein.fake()
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED", GLIDEIN_SINGULARITY_USE_HTCONDOR="True")
    proc = glidein.run()
    installed = (glidein.root / "condor_config.d" / "60-glidein-singularity.config").read_text()
    container = (ROOT / "condor_config.d" / "55-glidein-singularity-container.config").read_text()
    start = (ROOT / "condor_config.d" / "60-glidein-singularity-start.config").read_text()
    config = glidein.config()
    assert (0, True, True) == (proc.returncode, container in installed, start in installed), proc.stderr
    assert ("True", True) == (config.get("GS_USE_HTCONDOR"), bool(config.get("SINGULARITY"))), proc.stderr
    emptied = [line for line in installed.splitlines() if line.strip() == "SINGULARITY ="]
    assert ["  SINGULARITY ="] == emptied
    assert "if ! $(GS_USE_HTCONDOR)\n  SINGULARITY =\nendif\n" in installed


def test_glidein_condor_config_missing_snippet_fails(glidein):
    """A gs-setup shipped without the snippets fails as Corruption naming the first file to ship."""
    client = glidein.root / "client"
    client.mkdir()
    for name in ("gs-setup", "gs_job_wrapper.py"):
        shutil.copy(str(ROOT / "glidein_scripts" / name), str(client / name))
    (glidein.root / "condor_config.d").mkdir()
    glidein.write_config(GLIDEIN_Singularity_Use="NEVER")
    proc = glidein.run(launcher=client / "gs-setup", env={"GS_PACKAGE_PATH": str(ROOT / "src")})
    status, metrics, detail = glidein.result()
    assert (1, "ERROR", [("failure", "Corruption")]) == (proc.returncode, status, metrics)
    assert "50-glidein-singularity-wrapper.config not found next to gs-setup" in (detail or "")


def test_publish_io_error_is_a_result_not_a_traceback(glidein):
    """An unwritable condor vars file: exit 1, one ERROR line naming the file, an error_gen ERROR result."""
    glidein.fake()
    vars_file = glidein.root / "gone" / "condor_vars.lst"  # its directory does not exist
    glidein.write_config(GLIDEIN_Singularity_Use="REQUIRED", CONDOR_VARS_FILE=str(vars_file))
    proc = glidein.run()
    line = "cannot publish the results {}: No such file or directory".format(vars_file)
    status, metrics, detail = glidein.result()
    assert (1, "ERROR: " + line + "\n") == (proc.returncode, proc.stderr)
    assert ("ERROR", ("failure", "Corruption"), line) == (status, metrics[0], detail)


def test_any_error_of_the_setup_writes_its_result(tmp_path, monkeypatch, capsys):
    """An error raised anywhere in a glidein-mode run (here by the decision) still ends in an error_gen
    ERROR result agreeing with the exit code."""
    from glidein_singularity.errors import ConfigError
    from glidein_singularity.node import setup

    def broken(*args):
        raise ConfigError("SOMETHING is broken")

    (tmp_path / "glidein_config").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GS_SCRIPTS_DIR", raising=False)
    monkeypatch.setattr(setup, "run_setup", broken)
    code = setup.main([str(tmp_path / "glidein_config"), "entry"])
    text = (tmp_path / "otrb_output.xml").read_text()
    assert (1, "ERROR: SOMETHING is broken\n") == (code, capsys.readouterr().err)
    assert ("<status>ERROR</status>" in text, "SOMETHING is broken" in text) == (True, True)


def test_standalone_io_error_is_one_error_line(tmp_path, monkeypatch, capsys):
    """Standalone mode: an I/O error anywhere in the run ends in one ERROR line naming the file, exit 1,
    never a traceback."""
    import errno

    from glidein_singularity.node import setup

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device", "/var/tmp/x")

    monkeypatch.setattr(setup, "run_setup", full)
    code = setup.main(["--standalone", "--config-out", str(tmp_path / "50-gs.config")])
    assert (1, "ERROR: /var/tmp/x: No space left on device\n") == (code, capsys.readouterr().err)
