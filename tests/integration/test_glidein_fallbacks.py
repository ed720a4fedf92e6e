"""Glidein states beyond the matrix: the PREFERRED fallback, and pilots without PID namespaces, in both
launch modes.

Each test starts its own pool (the matrix module keeps one per state alive while it runs)."""

from __future__ import annotations

import pytest

from tests.testbed import Session
from tests.testbed.scenario import IMAGES, LAUNCH_MODES, sh_job, start_glidein_pool

from .test_glidein_states import ON_HOST, STATES, run_probe

MODES = pytest.mark.parametrize("mode", sorted(LAUNCH_MODES))


@MODES
def test_preferred_falls_back_when_the_default_image_is_gone(bed: Session, mode: str) -> None:
    """PREFERRED: a job that named no image runs bare when its container cannot be planned; a job that
    named one is never run bare (it goes back to Idle)."""
    pool, run = start_glidein_pool(bed, {**STATES["PREFERRED"], **LAUNCH_MODES[mode]})
    image = f"{IMAGES}/.images/busybox-1"
    try:
        assert 0 == run.returncode, run.stderr
        bed.run(["mv", image, image + ".away"])
        ad, out = run_probe(pool)
        named = pool.submit(sh_job("echo ran", f'+SingularityImage = "{IMAGES}/busybox:latest"\n'))
        named_ad = pool.wait_attr(
            named,
            lambda a: a.get("NumJobStarts", 0) >= 1 and a["JobStatus"] == 1,
            60,
            "a start and Idle again",
        )
        pool.rm(named)
    finally:
        bed.run(["mv", image + ".away", image])
        pool.stop()

    assert (4, 0) == (ad["JobStatus"], ad["ExitCode"])
    assert f"UIDMAP {ON_HOST}" == out[0]
    assert "ExitCode" not in named_ad


@MODES
def test_without_pid_namespaces_signals_come_through(bed: Session, mode: str) -> None:
    """With SINGULARITY_DISABLE_PID_NAMESPACES=1 (pilots in Docker/Kubernetes) --pid is dropped and a job
    killed by a signal is recorded as killed by that signal."""
    pool, run = start_glidein_pool(
        bed, {**STATES["REQUIRED"], "SINGULARITY_DISABLE_PID_NAMESPACES": "1", **LAUNCH_MODES[mode]}
    )
    try:
        assert 0 == run.returncode, run.stderr
        job = pool.submit(sh_job("cat /proc/1/comm; kill -9 $$"))
        ad = pool.wait(job)
        pid1 = pool.output(job).strip()
    finally:
        pool.stop()

    assert (4, True, 9) == (ad["JobStatus"], ad["ExitBySignal"], ad.get("ExitSignal"))
    assert "appinit" != pid1  # no PID namespace: PID 1 is the host's init
