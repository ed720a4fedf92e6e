"""doctor's checks as tables: for each, the facts that pass, fail (with the exact fix) or skip it."""

import pytest

from glidein_singularity.node.doctor import (
    CheckResult,
    Facts,
    Probe,
    check_container,
    check_cvmfs,
    check_gpu_amd,
    check_gpu_nvidia,
    check_ipc,
    check_overlay,
    check_pid,
    check_runtime,
    check_unshare_user,
    check_userns_apparmor,
    check_userns_clone,
    check_userns_max,
    evaluate,
    parse_conf_value,
    parse_kernel_version,
    parse_ldconfig,
)
from glidein_singularity.runtime import Validation

OK = Validation(True, "unprivileged", True, 0.2, ("apptainer",), "", 1)
OK_NO_PID = Validation(True, "unprivileged", False, 0.4, ("apptainer",), "", 2)
OK_SETUID = Validation(True, "privileged", True, 0.2, ("apptainer",), "", 1)
USERNS_ERROR = "ERROR  : Failed to create user namespace: user namespace disabled"
BROKEN = Validation(False, "", True, 0.1, ("apptainer",), USERNS_ERROR, 1)
IMAGE_GONE = Validation(False, "", True, 0.1, ("apptainer",), "FATAL:   could not open image /x.sif", 1)

USERNS_MAX_HINT = "echo 'user.max_user_namespaces = 15000' > /etc/sysctl.d/90-userns.conf && sysctl --system"
NO_USERNS_HINT = (
    "use a kernel built with user namespaces (CONFIG_USER_NS), or install the setuid apptainer-suid package"
)
CLONE_HINT = "echo 'kernel.unprivileged_userns_clone = 1' > /etc/sysctl.d/90-userns.conf && sysctl --system"
APPARMOR_HINT = (
    "install apptainer >= 1.3.4 from its packages (they ship /etc/apparmor.d/apptainer), "
    "or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
)
UNSHARE_HINT = (
    "unprivileged user namespaces are blocked: fix the userns-* knobs above; inside a container, "
    "its seccomp profile must allow unshare (e.g. docker --security-opt seccomp=unconfined)"
)
RUNTIME_HINT = (
    "install apptainer (dnf install apptainer, or apt install apptainer), "
    "or give its path with --runtime or GLIDEIN_SINGULARITY_BINARY_OVERRIDE"
)
PID_HINT = (
    "PID namespaces cannot mount /proc here (usual inside Docker/Kubernetes): set "
    "SINGULARITY_DISABLE_PID_NAMESPACES=1 for the glidein, or run the pilot's container with /proc unmasked"
)
IPC_HINT = (
    "IPC namespaces are not allowed: the seccomp/AppArmor policy around the pilot must allow "
    "unshare(CLONE_NEWIPC)"
)
OVERLAY_HINT = (
    "set 'enable underlay = yes' in apptainer.conf, or install fuse-overlayfs (or use a kernel >= 5.11) "
    "with 'enable overlay = try'"
)
NVIDIA_LIB_HINT = (
    "install the NVIDIA driver's user-space libraries and run ldconfig: apptainer --nv binds "
    "libcuda.so.1 and libnvidia-ml.so.1 from the ldconfig cache"
)
NVIDIA_DEV_HINT = (
    "load the driver (nvidia-modprobe, or modprobe nvidia nvidia_uvm) and check that the pilot's "
    "cgroup or container exposes /dev/nvidia*"
)
AMD_HINT = (
    "load the amdgpu driver (modprobe amdgpu) and give the pilot's user access to /dev/kfd and "
    "/dev/dri (groups render, video)"
)
ROOT_NOTE = " (run as root: run doctor as the pilot's user for a meaningful answer)"


def result(name, status, detail, hint="", required=False):
    """A CheckResult, positional order spelled out."""
    return CheckResult(name, status, detail, hint, required)


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        pytest.param(
            15000, "", result("userns-max", "pass", "user.max_user_namespaces = 15000", "", True), id="pass"
        ),
        pytest.param(
            0,
            "unprivileged",
            result("userns-max", "fail", "user.max_user_namespaces = 0", USERNS_MAX_HINT, True),
            id="fail-zero",
        ),
        pytest.param(
            0,
            "privileged",
            result("userns-max", "fail", "user.max_user_namespaces = 0", USERNS_MAX_HINT, False),
            id="fail-not-required-with-setuid",
        ),
        pytest.param(
            None,
            "",
            result(
                "userns-max",
                "fail",
                "/proc/sys/user/max_user_namespaces does not exist",
                NO_USERNS_HINT,
                True,
            ),
            id="fail-no-knob",
        ),
    ],
)
def test_check_userns_max(value, mode, expected):
    """user.max_user_namespaces must be positive."""
    assert expected == check_userns_max(value, mode)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            1, result("userns-clone", "pass", "kernel.unprivileged_userns_clone = 1", "", True), id="pass"
        ),
        pytest.param(
            0,
            result("userns-clone", "fail", "kernel.unprivileged_userns_clone = 0", CLONE_HINT, True),
            id="fail",
        ),
        pytest.param(
            None,
            result(
                "userns-clone",
                "skip",
                "kernel.unprivileged_userns_clone does not exist (not a Debian kernel)",
            ),
            id="skip",
        ),
    ],
)
def test_check_userns_clone(value, expected):
    """Debian's kernel.unprivileged_userns_clone must be 1 where it exists."""
    assert expected == check_userns_clone(value, "")


@pytest.mark.parametrize(
    ("value", "profile", "expected"),
    [
        pytest.param(
            0,
            "",
            result("userns-apparmor", "pass", "kernel.apparmor_restrict_unprivileged_userns = 0", "", True),
            id="pass",
        ),
        pytest.param(
            1,
            "/etc/apparmor.d/apptainer",
            result(
                "userns-apparmor",
                "pass",
                "kernel.apparmor_restrict_unprivileged_userns = 1, "
                "allowed by the profile /etc/apparmor.d/apptainer",
                "",
                True,
            ),
            id="pass-with-profile",
        ),
        pytest.param(
            1,
            "",
            result(
                "userns-apparmor",
                "fail",
                "kernel.apparmor_restrict_unprivileged_userns = 1 and no apptainer AppArmor profile",
                APPARMOR_HINT,
                True,
            ),
            id="fail",
        ),
        pytest.param(
            None,
            "",
            result("userns-apparmor", "skip", "kernel.apparmor_restrict_unprivileged_userns does not exist"),
            id="skip",
        ),
    ],
)
def test_check_userns_apparmor(value, profile, expected):
    """Ubuntu's AppArmor restriction needs the runtime's AppArmor profile."""
    assert expected == check_userns_apparmor(value, profile, "")


@pytest.mark.parametrize(
    ("probe", "euid", "expected"),
    [
        pytest.param(
            Probe(True, ""),
            1000,
            result("userns-unshare", "pass", "unshare --user --map-root-user works", "", True),
            id="pass",
        ),
        pytest.param(
            Probe(True, ""),
            0,
            result("userns-unshare", "pass", "unshare --user --map-root-user works" + ROOT_NOTE, "", True),
            id="pass-as-root",
        ),
        pytest.param(
            Probe(False, "unshare: unshare failed: Operation not permitted"),
            1000,
            result(
                "userns-unshare",
                "fail",
                "unshare --user --map-root-user failed: unshare: unshare failed: Operation not permitted",
                UNSHARE_HINT,
                True,
            ),
            id="fail",
        ),
        pytest.param(
            None, 1000, result("userns-unshare", "skip", "unshare is not installed (util-linux)"), id="skip"
        ),
    ],
)
def test_check_unshare_user(probe, euid, expected):
    """An actual unshare --user attempt."""
    assert expected == check_unshare_user(probe, "", euid)


@pytest.mark.parametrize(
    ("path", "version", "problem", "expected"),
    [
        pytest.param(
            "/usr/bin/apptainer",
            "1.4.5",
            "",
            result("runtime", "pass", "/usr/bin/apptainer (version 1.4.5)", "", True),
            id="pass",
        ),
        pytest.param(
            "",
            "",
            "no working apptainer or singularity; tried: PATH apptainer: not found",
            result(
                "runtime",
                "fail",
                "no working apptainer or singularity; tried: PATH apptainer: not found",
                RUNTIME_HINT,
                True,
            ),
            id="fail",
        ),
    ],
)
def test_check_runtime(path, version, problem, expected):
    """A runtime is found and answers --version."""
    assert expected == check_runtime(path, version, problem)


@pytest.mark.parametrize(
    ("validation", "runtime_path", "expected"),
    [
        pytest.param(
            OK,
            "/usr/bin/apptainer",
            result(
                "container",
                "pass",
                "/usr/bin/apptainer started a container from /img.sif: unprivileged mode (uid_map)",
                "",
                True,
            ),
            id="pass-unprivileged",
        ),
        pytest.param(
            OK_SETUID,
            "/usr/bin/apptainer",
            result(
                "container",
                "pass",
                "/usr/bin/apptainer started a container from /img.sif: privileged mode (uid_map)",
                "",
                True,
            ),
            id="pass-setuid",
        ),
        pytest.param(
            BROKEN,
            "/usr/bin/apptainer",
            result(
                "container",
                "fail",
                "/img.sif: " + USERNS_ERROR,
                "the runtime cannot create user namespaces: fix the failing userns-* checks",
                True,
            ),
            id="fail-userns",
        ),
        pytest.param(
            IMAGE_GONE,
            "/usr/bin/apptainer",
            result(
                "container",
                "fail",
                "/img.sif: FATAL:   could not open image /x.sif",
                "run /usr/bin/apptainer -d exec /img.sif true to see why the container does not start",
                True,
            ),
            id="fail-other",
        ),
        pytest.param(
            None,
            "/usr/bin/apptainer",
            result("container", "skip", "no --image given: no container started, mode unknown"),
            id="skip-no-image",
        ),
        pytest.param(
            None,
            "",
            result("container", "skip", "no runtime to start a container with"),
            id="skip-no-runtime",
        ),
    ],
)
def test_check_container(validation, runtime_path, expected):
    """One container like a job; its uid_map gives the mode."""
    assert expected == check_container(validation, "/img.sif", runtime_path)


@pytest.mark.parametrize(
    ("validation", "probe", "expected"),
    [
        pytest.param(
            OK, None, result("pid-namespace", "pass", "the container ran with --pid"), id="pass-container"
        ),
        pytest.param(
            OK_NO_PID,
            Probe(True, ""),
            result("pid-namespace", "fail", "the container failed with --pid and ran without it", PID_HINT),
            id="fail-container",
        ),
        pytest.param(
            None,
            Probe(True, ""),
            result("pid-namespace", "pass", "unshare --user --pid --mount-proc works"),
            id="pass-unshare",
        ),
        pytest.param(
            BROKEN,
            Probe(False, "unshare: mount /proc failed: Permission denied"),
            result(
                "pid-namespace",
                "fail",
                "unshare --user --pid --mount-proc failed: unshare: mount /proc failed: Permission denied",
                PID_HINT,
            ),
            id="fail-unshare",
        ),
        pytest.param(
            None, None, result("pid-namespace", "skip", "no test container and no unshare"), id="skip"
        ),
    ],
)
def test_check_pid(validation, probe, expected):
    """PID namespaces from the test container, else from unshare."""
    assert expected == check_pid(validation, probe)


@pytest.mark.parametrize(
    ("validation", "probe", "expected"),
    [
        pytest.param(
            OK, None, result("ipc-namespace", "pass", "the container ran with --ipc"), id="pass-container"
        ),
        pytest.param(
            None,
            Probe(True, ""),
            result("ipc-namespace", "pass", "unshare --user --ipc works"),
            id="pass-unshare",
        ),
        pytest.param(
            None,
            Probe(False, "unshare: unshare failed: Operation not permitted"),
            result(
                "ipc-namespace",
                "fail",
                "unshare --user --ipc failed: unshare: unshare failed: Operation not permitted",
                IPC_HINT,
            ),
            id="fail-unshare",
        ),
        pytest.param(
            None, None, result("ipc-namespace", "skip", "no test container and no unshare"), id="skip"
        ),
    ],
)
def test_check_ipc(validation, probe, expected):
    """IPC namespaces from the test container, else from unshare."""
    assert expected == check_ipc(validation, probe)


CONF = "/etc/apptainer/apptainer.conf"


@pytest.mark.parametrize(
    ("overlay", "underlay", "kernel", "fuse", "mode", "expected"),
    [
        pytest.param(
            "",
            "",
            (5, 14),
            "",
            "unprivileged",
            result(
                "overlay",
                "pass",
                "overlay: unprivileged kernel overlayfs (kernel 5.14); underlay: enabled (" + CONF + ")",
            ),
            id="pass-defaults-new-kernel",
        ),
        pytest.param(
            "try",
            "no",
            (4, 18),
            "/usr/bin/fuse-overlayfs",
            "unprivileged",
            result(
                "overlay",
                "pass",
                "overlay: fuse-overlayfs /usr/bin/fuse-overlayfs; underlay: disabled (" + CONF + ")",
            ),
            id="pass-fuse-overlayfs",
        ),
        pytest.param(
            "yes",
            "no",
            (3, 10),
            "",
            "privileged",
            result(
                "overlay", "pass", "overlay: kernel overlayfs (setuid); underlay: disabled (" + CONF + ")"
            ),
            id="pass-setuid",
        ),
        pytest.param(
            "no",
            "yes",
            (4, 18),
            "",
            "unprivileged",
            result("overlay", "pass", "overlay: disabled; underlay: enabled (" + CONF + ")"),
            id="pass-underlay-only",
        ),
        pytest.param(
            "try",
            "no",
            (4, 18),
            "",
            "unprivileged",
            result(
                "overlay",
                "fail",
                "overlay: unavailable (kernel 4.18 < 5.11 and no fuse-overlayfs); underlay: disabled ("
                + CONF
                + ")",
                OVERLAY_HINT,
            ),
            id="fail-old-kernel",
        ),
        pytest.param(
            "no",
            "no",
            (6, 1),
            "",
            "unprivileged",
            result("overlay", "fail", "overlay: disabled; underlay: disabled (" + CONF + ")", OVERLAY_HINT),
            id="fail-both-disabled",
        ),
    ],
)
def test_check_overlay(overlay, underlay, kernel, fuse, mode, expected):
    """Overlay (kernel >= 5.11, fuse-overlayfs or setuid) or underlay must be available."""
    assert expected == check_overlay(CONF, overlay, underlay, kernel, fuse, mode)


def test_check_overlay_without_conf():
    """Without apptainer.conf the defaults (overlay try, underlay yes) are assumed and said so."""
    assert check_overlay("", "", "", (4, 18), "", "") == result(
        "overlay",
        "pass",
        "overlay: unavailable (kernel 4.18 < 5.11 and no fuse-overlayfs); underlay: enabled "
        "(apptainer.conf not found, defaults assumed)",
    )


@pytest.mark.parametrize(
    ("root_exists", "probe", "given", "expected"),
    [
        pytest.param(
            True,
            "ok",
            False,
            result("cvmfs", "pass", "/cvmfs/oasis.opensciencegrid.org can be listed"),
            id="pass",
        ),
        pytest.param(
            True,
            "ok",
            True,
            result("cvmfs", "pass", "/cvmfs/oasis.opensciencegrid.org can be listed", "", True),
            id="pass-named-repo-required",
        ),
        pytest.param(
            True,
            "missing",
            True,
            result(
                "cvmfs",
                "fail",
                "/cvmfs/oasis.opensciencegrid.org cannot be listed",
                "cvmfs_config probe oasis.opensciencegrid.org: check CVMFS_REPOSITORIES and that autofs runs "
                "(systemctl status autofs)",
                True,
            ),
            id="fail-missing",
        ),
        pytest.param(
            True,
            "timed out after 10 s",
            False,
            result(
                "cvmfs",
                "fail",
                "/cvmfs/oasis.opensciencegrid.org: timed out after 10 s",
                "cvmfs_config probe oasis.opensciencegrid.org: the mount hangs; "
                "check CVMFS_HTTP_PROXY and the cache space",
            ),
            id="fail-hangs",
        ),
        pytest.param(
            False,
            "",
            True,
            result(
                "cvmfs",
                "fail",
                "/cvmfs does not exist",
                "install and configure the CVMFS client with autofs (cvmfs_config setup), "
                "or set CVMFS_MOUNT_DIR",
                True,
            ),
            id="fail-no-cvmfs-but-repo-named",
        ),
        pytest.param(
            False,
            "",
            False,
            result("cvmfs", "skip", "/cvmfs does not exist: no CVMFS on this node"),
            id="skip",
        ),
    ],
)
def test_check_cvmfs(root_exists, probe, given, expected):
    """A CVMFS repository can be listed in time; required only when named."""
    assert expected == check_cvmfs("/cvmfs", root_exists, "oasis.opensciencegrid.org", probe, given)


LIBS = ("libcuda.so.1", "libnvidia-ml.so.1")
DEVICES = ("/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia-uvm", "/dev/nvidiactl")


@pytest.mark.parametrize(
    ("smi", "libs", "devices", "expected"),
    [
        pytest.param(
            "/usr/bin/nvidia-smi",
            LIBS,
            DEVICES,
            result(
                "gpu-nvidia",
                "pass",
                "2 device(s) /dev/nvidia0 /dev/nvidia1; libcuda.so.1 and libnvidia-ml.so.1 "
                "in the ldconfig cache; nvidia-smi at /usr/bin/nvidia-smi",
            ),
            id="pass",
        ),
        pytest.param(
            "",
            ("libcuda.so.1",),
            DEVICES,
            result(
                "gpu-nvidia",
                "fail",
                "2 device(s) but libnvidia-ml.so.1 not in the ldconfig cache",
                NVIDIA_LIB_HINT,
            ),
            id="fail-library-missing",
        ),
        pytest.param(
            "/usr/bin/nvidia-smi",
            LIBS,
            ("/dev/nvidiactl",),
            result(
                "gpu-nvidia",
                "fail",
                "driver pieces present (nvidia-smi at /usr/bin/nvidia-smi) but no /dev/nvidia[0-9]* device",
                NVIDIA_DEV_HINT,
            ),
            id="fail-no-device",
        ),
        pytest.param(
            "",
            (),
            (),
            result("gpu-nvidia", "skip", "no NVIDIA device, driver library or nvidia-smi"),
            id="skip",
        ),
    ],
)
def test_check_gpu_nvidia(smi, libs, devices, expected):
    """NVIDIA devices and the libraries --nv binds must both be there."""
    assert expected == check_gpu_nvidia(smi, libs, devices)


@pytest.mark.parametrize(
    ("rocm_smi", "kfd", "expected"),
    [
        pytest.param(
            "/opt/rocm/bin/rocm-smi",
            True,
            result("gpu-amd", "pass", "/dev/kfd present; rocm-smi at /opt/rocm/bin/rocm-smi"),
            id="pass",
        ),
        pytest.param(
            "", True, result("gpu-amd", "pass", "/dev/kfd present; no rocm-smi"), id="pass-without-rocm-smi"
        ),
        pytest.param(
            "/opt/rocm/bin/rocm-smi",
            False,
            result("gpu-amd", "fail", "rocm-smi at /opt/rocm/bin/rocm-smi but no /dev/kfd", AMD_HINT),
            id="fail",
        ),
        pytest.param("", False, result("gpu-amd", "skip", "no /dev/kfd and no rocm-smi"), id="skip"),
    ],
)
def test_check_gpu_amd(rocm_smi, kfd, expected):
    """AMD needs /dev/kfd."""
    assert expected == check_gpu_amd(rocm_smi, kfd)


def node(**changes):
    """Facts of a healthy unprivileged node without GPUs, with ``changes``."""
    base = Facts(
        euid=1000,
        max_user_namespaces=15000,
        userns_clone=None,
        apparmor_restrict=None,
        apparmor_profile="",
        unshare_user=Probe(True, ""),
        unshare_pid=Probe(True, ""),
        unshare_ipc=Probe(True, ""),
        runtime_path="/usr/bin/apptainer",
        runtime_version="1.4.5",
        runtime_problem="",
        image="/img.sif",
        validation=OK,
        apptainer_conf=CONF,
        enable_overlay="try",
        enable_underlay="yes",
        kernel=(5, 14),
        fuse_overlayfs="",
        cvmfs_root="/cvmfs",
        cvmfs_root_exists=False,
        cvmfs_repo="oasis.opensciencegrid.org",
        cvmfs_repo_given=False,
        cvmfs_result="",
        nvidia_smi="",
        nvidia_libs=(),
        nvidia_devices=(),
        rocm_smi="",
        kfd=False,
        squashfuse="/usr/bin/squashfuse_ll",
        dev_fuse=True,
    )
    return base._replace(**changes)


@pytest.mark.parametrize(
    ("facts", "statuses"),
    [
        pytest.param(
            node(),
            [
                "pass",
                "skip",
                "skip",
                "pass",
                "pass",
                "pass",
                "pass",
                "pass",
                "pass",
                "skip",
                "skip",
                "skip",
                "skip",
                "pass",
            ],
            id="healthy-node",
        ),
        pytest.param(
            node(max_user_namespaces=0, unshare_user=Probe(False, "denied"), validation=BROKEN),
            [
                "fail",
                "skip",
                "skip",
                "fail",
                "pass",
                "fail",
                "pass",
                "pass",
                "pass",
                "skip",
                "skip",
                "skip",
                "skip",
                "pass",
            ],
            id="el7-without-userns",
        ),
    ],
)
def test_evaluate_order_and_statuses(facts, statuses):
    """evaluate reports every check, in a fixed order."""
    results = evaluate(facts)
    assert [r.name for r in results] == [
        "userns-max",
        "userns-clone",
        "userns-apparmor",
        "userns-unshare",
        "runtime",
        "container",
        "pid-namespace",
        "ipc-namespace",
        "overlay",
        "cvmfs",
        "gpu-nvidia",
        "gpu-amd",
        "image-store",
        "sif",
    ]
    assert [r.status for r in results] == statuses


def test_evaluate_setuid_makes_userns_optional():
    """With a setuid runtime (privileged mode) failing user-namespace knobs are not required."""
    results = evaluate(node(max_user_namespaces=0, validation=OK_SETUID))
    assert results[0] == result("userns-max", "fail", "user.max_user_namespaces = 0", USERNS_MAX_HINT, False)


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        pytest.param("5.14.0-362.el9.x86_64", (5, 14), id="el9"),
        pytest.param("3.10.0-1160.el7.x86_64", (3, 10), id="el7"),
        pytest.param("6.8.0-45-generic", (6, 8), id="ubuntu"),
        pytest.param("weird", (0, 0), id="unreadable"),
    ],
)
def test_parse_kernel_version(release, expected):
    """(major, minor) from uname -r."""
    assert expected == parse_kernel_version(release)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        pytest.param("enable overlay = no\n", "enable overlay", "no", id="set"),
        pytest.param(
            "# enable overlay = no\nenable overlay = try\n", "enable overlay", "try", id="comment-skipped"
        ),
        pytest.param(
            "enable  overlay=yes # why\nenable overlay = driver\n", "enable overlay", "driver", id="last-wins"
        ),
        pytest.param("enable underlay = yes\n", "enable overlay", "", id="unset"),
    ],
)
def test_parse_conf_value(text, key, expected):
    """apptainer.conf values: comments skipped, blanks squeezed, last wins."""
    assert expected == parse_conf_value(text, key)


def test_parse_ldconfig():
    """Only sonames listed by ldconfig -p count (not substrings, not other versions)."""
    text = (
        "1234 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibcuda.so.1 (libc6,x86-64) => /usr/lib64/libcuda.so.1\n"
        "\tlibnvidia-ml.so (libc6,x86-64) => /usr/lib64/libnvidia-ml.so\n"
    )
    assert parse_ldconfig(text, LIBS) == ("libcuda.so.1",)


@pytest.mark.parametrize(
    ("squashfuse", "dev_fuse", "runtime_path", "status", "words"),
    [
        pytest.param(
            "/usr/bin/squashfuse_ll", True, "/usr/bin/apptainer", "pass", "are mounted", id="mounted"
        ),
        pytest.param(
            "", True, "/usr/bin/apptainer", "fail", "no squashfuse: .sif images still run", id="none"
        ),
        pytest.param(
            "/usr/bin/squashfuse",
            False,
            "/usr/bin/apptainer",
            "fail",
            "no usable /dev/fuse: .sif",
            id="no-dev",
        ),
        pytest.param("", False, "", "skip", "no runtime", id="no-runtime"),
    ],
)
def test_check_sif(squashfuse, dev_fuse, runtime_path, status, words):
    """SIF images: mounted with squashfuse and /dev/fuse, else extracted at every launch (not required)."""
    from glidein_singularity.node.doctor import check_sif

    got = check_sif(squashfuse, dev_fuse, runtime_path)
    assert (status, False, status == "fail") == (got.status, got.required, bool(got.hint))
    assert words in got.detail
