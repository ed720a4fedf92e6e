"""The README's main command: the real flow, end to end, in the test bed.

1. build (or reuse) the test bed;
2. run the real glidein startup script (``glidein_scripts/gs-setup``) on a glidein-like directory;
3. start a startd with its results and our ``condor_config.d`` (wrapper, START term, health probe);
4. run one job of each kind through the real wrapper: default image, each ``REQUIRED_OS``,
   ``+SingularityImage``, a GPU job, and an image the slot refuses;
5. print a table: job, image, in a container (uid_map, PID 1), GPU visible, outcome.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .build import bed_dir, ensure_bed
from .pool import Job, Pool
from .scenario import DEBIAN, sh_job, start_glidein_pool
from .session import Session

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "echo OS $(head -1 /etc/os-release | cut -d= -f2 | tr -d '\"'); echo UIDMAP $(cat /proc/self/uid_map); "
    "echo PID1 $(cat /proc/1/comm); nvidia-smi >/dev/null 2>&1 && echo GPU yes ${CUDA_VISIBLE_DEVICES} || "
    "echo GPU no"
)
JOBS = (
    ("default image", ""),
    ("REQUIRED_OS=rhel9", '+REQUIRED_OS = "rhel9"\n'),
    ("REQUIRED_OS=busybox", '+REQUIRED_OS = "busybox"\n'),
    ("+SingularityImage", f'+SingularityImage = "{DEBIAN}"\n'),
    ("GPU (request_gpus=1)", "request_gpus = 1\n"),
    ("refused: docker:// image", '+SingularityImage = "docker://busybox:latest"\n'),
)


def say(text: str) -> None:
    print(text, flush=True)


def describe(pool: Pool, job: Job, ad: dict) -> tuple[str, str, str, str]:
    """(image, in container, GPU, outcome) for one finished or idle job."""
    if ad.get("JobStatus") != 4:
        return "-", "-", "-", "Idle: no slot's START admits it (not run, not lost)"
    fields = {}
    for line in pool.output(job).splitlines():
        key, _, rest = line.partition(" ")
        fields[key] = rest
    uid_map = fields.get("UIDMAP", "")
    contained = uid_map.split()[:2] != ["0", "0"]
    where = f"yes (uid_map {uid_map}; PID 1 {fields.get('PID1', '?')})" if contained else f"no ({uid_map})"
    return fields.get("OS", "?"), where, fields.get("GPU", "?"), f"completed, exit code {ad.get('ExitCode')}"


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    say(f"[demo] test bed: {bed_dir()}")
    bed = ensure_bed()
    say(f"[demo] test bed ready after {time.monotonic() - started:.0f}s")
    with Session(bed, REPO) as session:
        say("[demo] glidein startup script (glidein_scripts/gs-setup), frontend REQUIRED x factory OPTIONAL:")
        pool, run = start_glidein_pool(
            session,
            {"GLIDEIN_Singularity_Use": "REQUIRED"},
            snippets=("50", "60", "70"),
            extra_config="GS_HEALTH_PERIOD = 10\n",
        )
        for line in (run.stderr + run.stdout).splitlines():
            say("    " + line)
        if run.returncode != 0:
            say(f"[demo] the startup script failed (exit {run.returncode})")
            pool.stop()
            return 1
        try:
            slot = pool.slots()[0]
            say(
                "[demo] startd up: HAS_SINGULARITY={} GWMS_SINGULARITY_STATUS={} SINGULARITY_MODE={} "
                "SINGULARITY_OS_LIST={}".format(
                    slot.get("HAS_SINGULARITY"),
                    slot.get("GWMS_SINGULARITY_STATUS"),
                    slot.get("SINGULARITY_MODE"),
                    slot.get("SINGULARITY_OS_LIST"),
                )
            )
            submitted = [(name, pool.submit(sh_job(PROBE, extra))) for name, extra in JOBS]
            say(f"[demo] submitted {len(submitted)} jobs as the unprivileged user tuser")
            rows = [("job", "image (os-release)", "in a container", "GPU visible", "outcome")]
            for name, job in submitted:
                if name.startswith("refused"):
                    time.sleep(6)
                    ad = pool.ad(job)
                    pool.rm(job)
                else:
                    ad = pool.wait(job, timeout=180)
                rows.append((name, *describe(pool, job, ad)))
        finally:
            pool.stop()
    say("")
    say(table(rows))
    say(f"\n[demo] done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
