"""Secrets stay put, in the real pool: the glidein's proxy, token and directory stay outside every job.

The pilot's credentials are left world-readable in the glidein directory (as on glideins where the
pilot and its payloads share one uid, the container is then the only wall), and the starter hands the
pilot's X509_USER_PROXY and BEARER_TOKEN_FILE to every job's environment, the worst case. A job in its
container must not reach them: not bound, not named in its environment, not through /proc. A job's own
proxy, transferred with it, is what X509_USER_PROXY names inside, at its /srv place.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import LAUNCH_MODES, sh_job, start_glidein_pool

SECRET = "PILOT-SECRET-0b9e"
#: Matches SECRET without containing it: the probe's own command line reaches /proc (appinit's environ
#: carries the job's argv), and must not be mistaken for a leak.
SECRET_RE = "PILOT-SECRE[T]-0b9e"
PILOT_PROXY = f"{g.GLIDEIN_DIR}/x509_pilot"
PILOT_TOKEN = f"{g.GLIDEIN_DIR}/token"
STARTER_ENV = (
    f'STARTER_JOB_ENVIRONMENT = "GS_GLIDEIN_CONFIG={g.GLIDEIN_DIR}/glidein_config '
    f'X509_USER_PROXY={PILOT_PROXY} BEARER_TOKEN_FILE={PILOT_TOKEN}"\n'
)
# busybox sh; no $( in a submit file (condor_submit would read it as a macro): backticks instead
PROBE = (
    'echo "X509=${X509_USER_PROXY-unset}"; echo "BEARER=${BEARER_TOKEN_FILE-unset}"; '
    'if [ -r "${X509_USER_PROXY-/nonexistent}" ]; then echo "PROXY=`cat $X509_USER_PROXY`"; fi; '
    f"for f in {g.GLIDEIN_DIR} {PILOT_PROXY} {PILOT_TOKEN}; do if [ -e $f ]; then echo VISIBLE $f; fi; done; "
    f'echo "MOUNTS=`grep -c {g.GLIDEIN_DIR} /proc/self/mountinfo`"; '
    f'echo "ENVREFS=`env | grep -c {g.GLIDEIN_DIR}`"; echo "ENVSECRET=`env | grep -c {SECRET_RE}`"; '
    "n=0; for p in /proc/[0-9]*; do "
    f"if cat $p/root{PILOT_PROXY} $p/root{PILOT_TOKEN} $p/cwd/x509_pilot $p/environ $p/cmdline 2>/dev/null "
    f"| grep -q {SECRET_RE}; then n=`expr $n + 1`; fi; done; "
    'echo "PROCLEAK=$n"; echo "PIDS=`ls -d /proc/[0-9]* | wc -l`"'
)


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A REQUIRED glidein whose pilot proxy and token lie world-readable in its directory; per mode."""
    attrs = {"GLIDEIN_Singularity_Use": "REQUIRED", **LAUNCH_MODES[request.param]}
    pool, run = start_glidein_pool(bed, attrs, extra_config=STARTER_ENV)
    assert 0 == run.returncode, run.stderr
    for path in (PILOT_PROXY, PILOT_TOKEN):
        bed.write(path, f"{SECRET} {path}\n", mode=0o644, owner=g.PILOT)
    yield pool
    pool.stop()


def probe(pool: Pool, extra: str = "", files: dict[str, str] | None = None) -> dict[str, str]:
    """Run the probe in a container job and return its KEY=value lines (VISIBLE lines keyed by path)."""
    job = pool.submit(sh_job(PROBE, extra), files=files)
    ad = pool.wait(job)
    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err") + pool.diagnostics()
    out = {}
    for line in pool.output(job).splitlines():
        key, sep, value = line.partition("=") if not line.startswith("VISIBLE ") else line.partition(" ")
        out[value if key == "VISIBLE" else key] = value if sep else ""
    return out


def test_pilot_secrets_are_readable_outside_the_container(pool: Pool, bed: Session) -> None:
    """The premise: on the host the job's user could read the pilot's files; only the container protects."""
    proc = bed.run(["cat", PILOT_PROXY, PILOT_TOKEN], user="tuser")

    assert f"{SECRET} {PILOT_PROXY}\n{SECRET} {PILOT_TOKEN}\n" == proc.stdout


def test_job_cannot_reach_the_pilot_secrets(pool: Pool) -> None:
    """The glidein directory is not bound, nothing in the job's environment names it (the pilot's
    X509_USER_PROXY and BEARER_TOKEN_FILE are dropped), and /proc shows only the job's own processes."""
    out = probe(pool)

    assert {
        "X509": "unset",
        "BEARER": "unset",
        "MOUNTS": "0",
        "ENVREFS": "0",
        "ENVSECRET": "0",
        "PROCLEAK": "0",
    } == {key: out[key] for key in ("X509", "BEARER", "MOUNTS", "ENVREFS", "ENVSECRET", "PROCLEAK")}
    assert [] == [path for path in out if path.startswith(g.GLIDEIN_DIR)]
    assert int(out["PIDS"]) <= 5  # its own PID namespace: init, the shell and the probe's pipeline


def test_job_own_proxy_is_passed_at_its_srv_place(pool: Pool) -> None:
    """A proxy transferred with the job is what X509_USER_PROXY names inside, at /srv, and readable."""
    extra = 'transfer_input_files = myproxy\nenvironment = "X509_USER_PROXY=#CoNdOrScRaTcHdIr#/myproxy"\n'
    out = probe(pool, extra, files={"myproxy": "JOB-OWN-PROXY\n"})

    assert ("/srv/myproxy", "JOB-OWN-PROXY", "0") == (out["X509"], out["PROXY"], out["PROCLEAK"])
