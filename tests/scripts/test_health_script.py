"""The real gs-health launcher as the startd runs it, with fake runtimes on a temporary PATH.

The fakes stand in for apptainer only to drive the probe's own logic (what it prints, how long it
takes, the lock); the real runtime is exercised in the integration suite.
"""

import fcntl
import os
import pathlib
import subprocess
import sys
import time

import pytest

from tests.fake_runtime import exec_calls, make_fake_runtime

LAUNCHER = pathlib.Path(__file__).resolve().parents[2] / "glidein_scripts" / "gs-health"
FATAL = "FATAL:   container creation failed: mount namespace requires privileges"


class Bed:
    """A glidein-like directory: glidein_config, an image, a state dir, a bin dir for the fake runtime."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.image = root / "images" / "el9"
        self.image.mkdir(parents=True)
        (self.image / "bin").mkdir()
        (self.image / "etc" / "hosts").mkdir(parents=True)  # a job's default bind needs its target
        self.state = root / "state"
        self.marker = root / "prestart-failures"
        self.config = root / "glidein_config"
        self.write_config()

    def write_config(self, status: str = "REQUIRED", extra: str = "") -> None:
        """Write glidein_config as the startup script leaves it."""
        self.config.write_text(
            "GWMS_SINGULARITY_STATUS {}\nHAS_SINGULARITY True\nSINGULARITY_IMAGES_DICT default:{}\n"
            "GS_FAILURE_MARKER {}\n{}".format(status, self.image, self.marker, extra)
        )

    def runtime(self, **kwargs: object) -> pathlib.Path:
        """Install a fake apptainer on the bed's PATH."""
        return make_fake_runtime(self.bin / "apptainer", **kwargs)  # type: ignore[arg-type]

    def argv(self, *extra: str) -> list:
        """The command line the cron job runs."""
        return [
            sys.executable,
            str(LAUNCHER),
            "--state-dir",
            str(self.state),
            "--glidein-config",
            str(self.config),
            *extra,
        ]

    def env(self) -> dict:
        """The startd's environment: only the fake runtime and the system on PATH."""
        return {"PATH": "{}:/usr/bin:/bin".format(self.bin), "HOME": str(self.root)}

    def run(self, *extra: str) -> "tuple[str, float]":
        """Run the probe; return its stdout (GS_HEALTH_CHECKED blanked) and the seconds it took."""
        start = time.monotonic()
        proc = subprocess.run(
            self.argv(*extra), env=self.env(), capture_output=True, text=True, timeout=60, check=False
        )
        seconds = time.monotonic() - start
        assert (proc.returncode, proc.stderr) == (0, "")
        return blank_checked(proc.stdout), seconds


def blank_checked(text: str) -> str:
    """Replace the epoch of GS_HEALTH_CHECKED (checked separately) by N."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("GS_HEALTH_CHECKED = "):
            value = line.split(" = ", 1)[1].strip()
            assert value.isdigit()
            assert abs(int(value) - time.time()) < 120
            line = "GS_HEALTH_CHECKED = N\n"
        lines.append(line)
    return "".join(lines)


def output(has: str, healthy: str, reason: str, failures: int = 0, update: bool = True) -> str:
    """The expected cron output."""
    text = (
        'HAS_SINGULARITY = {}\nGS_HEALTHY = {}\nGS_HEALTH_REASON = "{}"\nGS_HEALTH_CHECKED = N\n'
        "GS_CONSECUTIVE_FAILURES = {}\n".format(has, healthy, reason, failures)
    )
    return text + ("- update:true\n" if update else "")


@pytest.fixture
def bed(tmp_path):
    """A fresh glidein-like directory."""
    return Bed(tmp_path)


def healthy_reason(bed: Bed) -> str:
    """The reason of a healthy run on the bed."""
    return "ok: runtime {} (unprivileged), 1 image present, 0 CVMFS repositories reachable".format(
        bed.bin / "apptainer"
    )


def test_healthy_then_unchanged(bed):
    """A working runtime publishes healthy with an update; the same result again publishes no update."""
    fake = bed.runtime()
    first, _ = bed.run()
    second, _ = bed.run()
    assert (first, second) == (
        output("true", "true", healthy_reason(bed)),
        output("true", "true", healthy_reason(bed), update=False),
    )
    calls = exec_calls(fake)
    assert len(calls) == 2
    assert calls[0].startswith("exec --home ")
    assert " --pwd /srv --contain --ipc --pid --bind " in calls[0]
    assert calls[0].endswith(" {} cat /proc/self/uid_map".format(bed.image))


def test_runtime_fails_then_recovers(bed):
    """A runtime that starts failing makes the slot unhealthy at the next run, and healthy after repair."""
    bed.runtime()
    bed.run()
    fake = bed.runtime(exec_rc=255, exec_err=FATAL)
    broken, _ = bed.run()
    bed.runtime()
    repaired, _ = bed.run()
    reason = "runtime {} failed: FATAL: container creation failed: mount namespace requires privileges"
    assert (broken, repaired) == (
        output("false", "false", reason.format(fake)),
        output("true", "true", healthy_reason(bed)),
    )


def test_hung_runtime_is_killed_within_the_timeout(bed):
    """A runtime that hangs is killed and reported; the probe ends within its --timeout."""
    fake = bed.runtime(sleep=60)
    text, seconds = bed.run("--timeout", "5")
    assert text == output("false", "false", "runtime {} failed: timed out after 3 s".format(fake))
    assert seconds < 7


def test_alarm_ends_a_probe_stuck_in_this_process(bed):
    """Even a hang inside the probe itself (a marker that blocks on open) ends by --timeout, unhealthy."""
    bed.runtime()
    os.mkfifo(str(bed.marker))
    text, seconds = bed.run("--timeout", "3")
    reason = "the health probe did not finish within 3 s (a hung runtime or filesystem)"
    assert text == output("false", "false", reason)
    assert seconds < 5


def test_no_overlap_second_run_prints_the_last_result(bed):
    """While one probe runs (it holds the lock), a second exits at once with the last result."""
    bed.runtime()
    bed.run()
    fake = bed.runtime(sleep=4)
    pathlib.Path(str(fake) + ".log").unlink()
    first = subprocess.Popen(bed.argv(), env=bed.env(), stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while not exec_calls(fake) and time.monotonic() < deadline:
        time.sleep(0.05)
    second, seconds = bed.run()
    first_out, _ = first.communicate(timeout=30)
    assert second == output("true", "true", healthy_reason(bed), update=False)
    assert seconds < 2
    assert blank_checked(first_out) == output("true", "true", healthy_reason(bed), update=False)
    assert len(exec_calls(fake)) == 1


def test_lock_held_and_no_earlier_result_prints_nothing(bed):
    """With the lock taken and no earlier result, the probe prints nothing, so the startd keeps its ad."""
    bed.runtime()
    bed.state.mkdir()
    with open(str(bed.state / "health.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text, _ = bed.run()
    assert text == ""


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        pytest.param("NEVER", "containers not used: GWMS_SINGULARITY_STATUS is NEVER", id="never"),
        pytest.param(
            "",
            "containers not used: GWMS_SINGULARITY_STATUS is not set (the startup script disabled "
            "containers or did not run)",
            id="disabled",
        ),
    ],
)
def test_containers_not_used_starts_nothing(bed, status, reason):
    """A glidein without containers publishes so and never starts the runtime."""
    fake = bed.runtime()
    bed.write_config(status)
    text, _ = bed.run()
    assert text == output("false", "true", reason)
    assert exec_calls(fake) == []


def test_missing_image_starts_no_container(bed):
    """A default image that disappeared is reported, and no container is tried on it."""
    fake = bed.runtime()
    bed.image.rename(bed.root / "moved")
    text, _ = bed.run()
    reason = "runtime {} failed: not started: no default image is present; image {}: missing"
    assert text == output("false", "false", reason.format(fake, bed.image))
    assert exec_calls(fake) == []


def test_cvmfs_repository_unreachable(bed):
    """A named CVMFS repository that cannot be listed makes the slot unhealthy."""
    bed.runtime()
    cvmfs = bed.root / "cvmfs"
    (cvmfs / "good.org").mkdir(parents=True)
    (cvmfs / "good.org" / "README").write_text("x")
    bed.write_config(extra="CVMFS_MOUNT_DIR {}\nGS_CVMFS_REPOS good.org,gone.org\n".format(cvmfs))
    text, _ = bed.run()
    reason = "CVMFS repository gone.org: not reachable at {}/gone.org".format(cvmfs)
    assert text == output("false", "false", reason)


def test_black_hole_quarantine_and_release(bed):
    """K wrapper failures quarantine the slot; after the hold it is released; new failures count again."""
    bed.runtime()
    bed.marker.write_text("3\n")
    quarantined, _ = bed.run("--failure-hold", "3600")
    released, _ = bed.run("--failure-hold", "0")
    bed.marker.write_text("4\n")
    one_more, _ = bed.run("--failure-hold", "0")
    bed.marker.unlink()  # the wrapper launched a job: it removes the marker
    reset, _ = bed.run("--failure-hold", "0")
    assert [quarantined, released, one_more, reset] == [
        output(
            "false",
            "false",
            "the job wrapper reported 3 pre-start failures in a row (limit 3; its messages are in the "
            "StarterLog)",
            3,
        ),
        output(
            "true",
            "true",
            healthy_reason(bed) + ", released 3 earlier pre-start failures after the hold time",
        ),
        output("true", "true", healthy_reason(bed) + ", 1 pre-start failure in a row (limit 3)", 1),
        output("true", "true", healthy_reason(bed)),
    ]


def test_max_failures_is_configurable(bed):
    """--max-failures 1 quarantines on the first failure."""
    bed.runtime()
    bed.marker.write_text("1\n")
    text, _ = bed.run("--max-failures", "1")
    reason = (
        "the job wrapper reported 1 pre-start failure in a row (limit 1; its messages are in the StarterLog)"
    )
    assert text == output("false", "false", reason, 1)


def test_unreadable_marker_is_reported(bed):
    """A marker that is not a count is named in the reason."""
    bed.runtime()
    bed.marker.write_text("lots\n")
    text, _ = bed.run()
    reason = "failure marker {}: 'lots' is not a count of failures (one integer)".format(bed.marker)
    assert text == output("false", "false", reason)


def test_runtime_discovered_on_path_or_taken_from_setup(bed):
    """SINGULARITY_PATH from the startup script wins over the apptainer on PATH."""
    bed.runtime()
    other = make_fake_runtime(bed.root / "opt" / "apptainer", exec_out="0 0 4294967295")
    bed.write_config(extra="SINGULARITY_PATH {}\n".format(other))
    text, _ = bed.run()
    reason = "ok: runtime {} (privileged), 1 image present, 0 CVMFS repositories reachable".format(other)
    assert text == output("true", "true", reason)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            ("--timeout", "0"), "--timeout must be a positive number of seconds, not 0", id="timeout"
        ),
        pytest.param(("--max-failures", "0"), "--max-failures must be at least 1, not 0", id="max-failures"),
        pytest.param(
            ("--node-config", "/x"), "give --glidein-config or --node-config, not both", id="two-sources"
        ),
    ],
)
def test_usage_errors_exit_2(bed, extra, message):
    """A bad command line is a usage error (exit 2) naming the option."""
    proc = subprocess.run(
        bed.argv(*extra), env=bed.env(), capture_output=True, text=True, timeout=30, check=False
    )
    assert (proc.returncode, proc.stdout, proc.stderr.splitlines()[-1]) == (
        2,
        "",
        "gs-health: error: " + message,
    )


def test_node_config_of_a_plain_ep(bed):
    """On a plain EP the probe reads the config.d file gs-setup --standalone wrote."""
    fake = bed.runtime()
    node_config = bed.root / "50-glidein-singularity-node.config"
    node_config.write_text(
        "# Written by gs-setup --standalone\nHAS_SINGULARITY = True\n"
        'GWMS_SINGULARITY_STATUS = "PREFERRED"\nSINGULARITY_PATH = "{}"\n'
        'SINGULARITY_IMAGES_DICT = "default:{}"\n'
        "STARTD_ATTRS = $(STARTD_ATTRS) HAS_SINGULARITY\n".format(fake, bed.image)
    )
    argv = [sys.executable, str(LAUNCHER), "--state-dir", str(bed.state), "--node-config", str(node_config)]
    proc = subprocess.run(argv, env=bed.env(), capture_output=True, text=True, timeout=30, check=False)
    assert blank_checked(proc.stdout) == output("true", "true", healthy_reason(bed))


def test_results_not_found_leave_has_singularity_alone(bed):
    """Without a glidein_config or node config the probe is unhealthy but never switches containers off:
    a misconfigured probe must not turn a PREFERRED node into one that runs jobs bare."""
    argv = [arg for arg in bed.argv() if arg not in ("--glidein-config", str(bed.config))]
    proc = subprocess.run(argv, env=bed.env(), capture_output=True, text=True, timeout=60, check=False)
    reason = (
        "cannot find the startup script's results: set GS_GLIDEIN_CONFIG (a glidein's glidein_config) "
        "or GS_NODE_CONFIG (the file gs-setup --standalone wrote) for the health probe"
    )

    assert (0, "") == (proc.returncode, proc.stderr)
    assert (
        'GS_HEALTHY = false\nGS_HEALTH_REASON = "{}"\nGS_HEALTH_CHECKED = N\nGS_CONSECUTIVE_FAILURES = 0\n'
        "- update:true\n".format(reason)
    ) == blank_checked(proc.stdout)


def test_image_missing_at_start_is_not_an_outage(bed):
    """An image of the dictionary that the startup script already did not serve (missing at start: not
    in SINGULARITY_OS_LIST) does not drain the slot; a served one that disappears does."""
    bed.runtime()
    missing = bed.root / "images" / "el8"
    bed.write_config(
        extra="SINGULARITY_IMAGES_DICT default:{},rhel8:{}\nSINGULARITY_OS_LIST default\n".format(
            bed.image, missing
        )
    )
    served_only, _ = bed.run()
    bed.write_config(
        extra="SINGULARITY_IMAGES_DICT default:{},rhel8:{}\nSINGULARITY_OS_LIST default,rhel8\n".format(
            bed.image, missing
        )
    )
    both, _ = bed.run()
    assert "GS_HEALTHY = true" in served_only
    assert (True, True) == ("GS_HEALTHY = false" in both, "image {}: missing".format(missing) in both)
