"""Benchmark: remote images, fetched once per glidein, next to HTCondor's native support and plain
Apptainer (``python benchmarks/images.py``; root, like the test bed; about 3 minutes).

In one test-bed session, with a loopback OCI registry holding busybox (``tests.testbed.registry``):

1. **Registry pulls for N jobs** (``--jobs``, default 8, on a 4-CPU slot) naming one ``docker://`` image,
   counted from the registry's access log (GETs of blobs, i.e. real downloads, and of manifests):
   (ii) HTCondor's native launch (``SINGULARITY_JOB``, the image from the job's ``SingularityImage``,
   ``--no-https`` as extra argument, pre-job test off), and (iii) our wrapper with the image store.
2. **Launch time** of ``/bin/true``, interleaved rounds (``benchmarks/inbed/harness.py``), as the job user:
   - ``local``: the deployed wrapper, job image = the busybox directory in (stand-in) CVMFS;
   - ``store_cached``: the deployed wrapper, job image = ``docker://`` busybox already in the store;
   - ``apptainer_cached``: plain ``apptainer exec docker://...`` with a warm shared cache (Apptainer asks
     the registry for the manifest every time, then runs its cached SIF);
   and, one sample per round with the cache emptied first (``benchmarks/inbed/images_first.py``):
   - ``store_first``: the deployed wrapper on an empty store (fetch + unpack + launch);
   - ``apptainer_first``: plain ``apptainer exec docker://...`` with an empty cache dir, which is what
     every job gets when Apptainer's cache is the job's own sandbox.
3. **.sif launches** (plain ``apptainer exec``, in the interleaved rounds): a busybox SIF (2 MiB) and one
   with 64 MiB of random ballast, each mounted with squashfuse (``sif_squashfuse``) and extracted with
   ``--unsquash`` (``sif_extracted``): Apptainer's own fallback on a node without squashfuse. The
   fallback's cost is the median of the per-round differences.

Goal (issue #16): 1 pull per glidein instead of N, and ``store_cached`` within 10% of ``local``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import report  # noqa: E402
from benchmarks.run import INBED, USER, WORK, _wrapper_env, capture_ads, deployed_launcher, log  # noqa: E402

STORE = "/opt/gs-store"
GLIDEIN_CONFIG = "/opt/glidein/glidein_config"
EXECUTE = "/var/lib/condor/execute"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs per pool variant (default 8)")
    parser.add_argument("--runs", type=int, default=30, help="interleaved launch rounds (default 30)")
    parser.add_argument("--first-runs", type=int, default=8, help="cold-cache launches each (default 8)")
    parser.add_argument("--out", help="write the JSON results here")
    return parser


def pool_pulls(s: Any, pool: Any, registry: Any, variant: str, image: str, jobs: int) -> dict[str, Any]:
    repo = image.split("/", 3)[3].rsplit(":", 1)[0]
    if variant == "native":
        config = (
            "USER_JOB_WRAPPER =\nSTARTER_JOB_HOOK_KEYWORD =\n"
            "SINGULARITY = /usr/bin/apptainer\nSINGULARITY_JOB = true\n"
            "SINGULARITY_IMAGE_EXPR = TARGET.SingularityImage\nSINGULARITY_TARGET_DIR = /srv\n"
            'SINGULARITY_RUN_TEST_BEFORE_JOB = false\nSINGULARITY_EXTRA_ARGUMENTS = "--no-https"\n'
        )
    else:
        config = "# our wrapper: the glidein's own USER_JOB_WRAPPER\n"
    pool.write_config("90-bench-images.config", config)
    pool.reconfig()
    time.sleep(2)
    before = (registry.blob_gets(repo), registry.manifest_gets(repo))
    submit = (
        "executable = /bin/true\ntransfer_executable = false\nrequest_cpus = 1\n"
        f'+SingularityImage = "{image}"\noutput = out.$(Process)\nerror = err.$(Process)\n'
    )
    job = pool.submit(submit, count=jobs)

    def done() -> bool:
        return report.parse_userlog(pool.userlog(job))["terminated"] >= jobs

    pool.wait_for(done, 120 + 10 * jobs, f"{jobs} {variant} jobs", interval=0.5)
    parsed = report.parse_userlog(pool.userlog(job))
    if parsed["ok"] != jobs:
        raise RuntimeError(f"{variant}: {parsed['ok']}/{jobs} jobs exited 0\n{pool.diagnostics()}")
    return {
        "blob_gets": registry.blob_gets(repo) - before[0],
        "manifest_gets": registry.manifest_gets(repo) - before[1],
        "jobs": jobs,
        "run_ms_median": statistics.median(parsed["run_ms"]) if parsed["run_ms"] else None,
    }


def launch_variants(s: Any, job_ad: str, machine_ad: str, local: str, remote: str) -> list[dict[str, Any]]:
    launcher = deployed_launcher(s)
    variants = []
    for name, image in (("local", local), ("store_cached", remote)):
        sandbox = f"{EXECUTE}/bench_img_{name}"
        s.run(["rm", "-rf", sandbox])
        s.run(["install", "-d", "-o", USER, "-g", USER, "-m", "700", sandbox])
        ad = "\n".join(line for line in job_ad.splitlines() if not line.startswith("SingularityImage"))
        s.write(f"{sandbox}/.job.ad", ad + f'\nSingularityImage = "{image}"\n', owner=USER)
        s.write(f"{sandbox}/.machine.ad", machine_ad, owner=USER)
        env = _wrapper_env(sandbox, ".machine.ad", GLIDEIN_CONFIG)
        variants.append({"name": name, "argv": [launcher, "/bin/true"], "env": env, "cwd": sandbox})
    cache = f"{WORK}/apptainer-cache"
    s.run(["install", "-d", "-o", USER, "-g", USER, "-m", "700", cache])
    variants.append(
        {
            "name": "apptainer_cached",
            "argv": [
                "/usr/bin/apptainer",
                "-s",
                "exec",
                "--no-https",
                "--contain",
                "--ipc",
                "--pid",
                remote,
                "/bin/true",
            ],
            "env": {"PATH": "/usr/bin:/bin", "APPTAINER_CACHEDIR": cache, "HOME": "/home/" + USER},
            "cwd": "/",
        }
    )
    variants += sif_variants()
    return variants


#: SIF images for the .sif launches: busybox (2 MiB), and busybox with 64 MiB of incompressible ballast
#: (the fallback's cost grows with the image).
SIF_DIR = "/cvmfs/singularity.opensciencegrid.org/gs-test/.bench"
SIF_IMAGES = {"sif": f"{SIF_DIR}/busybox.sif", "sif64": f"{SIF_DIR}/busybox-64m.sif"}


def build_sifs(s: Any, busybox_dir: str) -> None:
    big = f"{WORK}/busybox-64m"
    s.sh(
        f"set -e; mkdir -p {SIF_DIR}; rm -rf {big}; cp -a {busybox_dir} {big}; "
        f"head -c 67108864 /dev/urandom > {big}/ballast; "
        f"apptainer -s build -F {SIF_IMAGES['sif']} {busybox_dir}; "
        f"apptainer -s build -F {SIF_IMAGES['sif64']} {big}; "
        f"chmod 644 {SIF_DIR}/*.sif; rm -rf {big}",
        timeout=300,
    )


def sif_variants() -> list[dict[str, Any]]:
    """Plain ``apptainer exec`` of each SIF: mounted with squashfuse (unprivileged, the bed has it), and
    with ``--unsquash``, which is what Apptainer does by itself when squashfuse is absent: extract the
    SIF into a temporary sandbox at every launch."""
    variants = []
    env = {"PATH": "/usr/bin:/bin", "HOME": "/home/" + USER}
    for name, image in SIF_IMAGES.items():
        for mode, extra in (("squashfuse", []), ("extracted", ["--unsquash"])):
            argv = [
                "/usr/bin/apptainer",
                "-s",
                "exec",
                *extra,
                "--contain",
                "--ipc",
                "--pid",
                image,
                "/bin/true",
            ]
            variants.append({"name": f"{name}_{mode}", "argv": argv, "env": env, "cwd": "/"})
    return variants


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tests.testbed import Session, ensure_bed
    from tests.testbed.registry import ADDR, BUSYBOX_DIR, Registry
    from tests.testbed.scenario import BUSYBOX, start_glidein_pool

    remote = f"docker://{ADDR}/gs/busybox:1"
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "options": vars(args)}
    with Session(ensure_bed(), REPO) as s:
        registry = Registry(s)
        registry.start()
        registry.push_dir(BUSYBOX_DIR, "gs/busybox", "1")
        registry.push_dir(BUSYBOX_DIR, "gs/busybox-native", "1")
        s.sh(f"rm -rf {STORE} && install -d -o {USER} -g {USER} -m 700 {STORE} && mkdir -p {WORK}/spec")
        log("starting the glidein pool with the image store")
        pool, run = start_glidein_pool(
            s,
            {
                "GLIDEIN_Singularity_Use": "REQUIRED",
                "SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs,remote",
                "GS_IMAGE_STORE": STORE,
                "GS_INSECURE_REGISTRIES": ADDR,
            },
            overrides={"99-four-cpus.config": "NUM_CPUS = 4\n"},
        )
        try:
            if run.returncode != 0:
                raise RuntimeError(f"gs-setup failed: {run.stderr}")
            log(f"registry pulls: {args.jobs} jobs per variant")
            results["pulls"] = {
                "native": pool_pulls(
                    s, pool, registry, "native", f"docker://{ADDR}/gs/busybox-native:1", args.jobs
                ),
                "ours": pool_pulls(s, pool, registry, "ours", remote, args.jobs),
            }
            pool.write_config("90-bench-images.config", "\n")
            pool.reconfig()
            job_ad, machine_ad = capture_ads(s, pool)
        finally:
            pool.stop()
        build_sifs(s, BUSYBOX_DIR)
        variants = launch_variants(s, job_ad, machine_ad, BUSYBOX, remote)
        log(f"launch: {args.runs} interleaved rounds")
        spec = {"warmup": 3, "runs": args.runs, "seed": 16, "variants": variants}
        s.write(f"{WORK}/spec/images.json", json.dumps(spec), owner=USER)
        proc = s.run(
            ["/usr/bin/python3", "-I", f"{INBED}/harness.py", f"{WORK}/spec/images.json"],
            user=USER,
            timeout=600,
        )
        samples = json.loads(proc.stdout)["samples_ms"]
        log(f"first launches: {args.first_runs} each")
        first_spec = {
            "runs": args.first_runs,
            "store": STORE,
            "wrapper": variants[1],
            "apptainer": variants[2],
            "cache": f"{WORK}/cold/cache",
        }
        s.write(f"{WORK}/spec/first.json", json.dumps(first_spec), owner=USER)
        s.run(["install", "-d", "-o", USER, "-g", USER, "-m", "700", f"{WORK}/cold"])
        proc = s.run(
            ["/usr/bin/python3", "-I", f"{INBED}/images_first.py", f"{WORK}/spec/first.json"],
            user=USER,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"first launches failed: {proc.stderr}")
        samples.update(json.loads(proc.stdout))
        log_text = registry.log()
        registry.stop()
    results["samples_ms"] = samples
    results["launch_ms"] = {name: report.summarize(values) for name, values in samples.items()}
    local = results["launch_ms"]["local"]["median"]
    cached = results["launch_ms"]["store_cached"]["median"]
    results["goals"] = {
        "pulls_per_glidein": results["pulls"]["ours"]["manifest_gets"],
        "cached_vs_local_pct": round(100.0 * (cached - local) / local, 1),
    }
    for name in SIF_IMAGES:
        extracted, mounted = samples.get(f"{name}_extracted"), samples.get(f"{name}_squashfuse")
        if extracted and mounted:
            diffs = [a - b for a, b in zip(extracted, mounted)]
            results["goals"][f"{name}_fallback_ms"] = round(statistics.median(diffs), 1)
    results["registry_requests"] = len(re.findall(r'"(GET|HEAD) /v2/', log_text))
    print(format_table(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


def format_table(results: dict[str, Any]) -> str:
    lines = ["| figure | value |", "|---|---|"]
    for variant, label in (("native", "(ii) HTCondor native"), ("ours", "(iii) glidein-singularity store")):
        data = results["pulls"][variant]
        lines.append(
            f"| {label}: registry downloads for {data['jobs']} jobs (blob GETs / manifest GETs) | "
            f"{data['blob_gets']} / {data['manifest_gets']} |"
        )
    for name, label in (
        ("local", "wrapper, local (CVMFS) busybox directory"),
        ("store_cached", "wrapper, docker:// from the store (cached)"),
        ("store_first", "wrapper, docker:// first launch (empty store: fetch + unpack)"),
        ("apptainer_cached", "plain apptainer exec docker:// (warm cache)"),
        ("apptainer_first", "plain apptainer exec docker:// (empty cache: every native job)"),
        ("sif_squashfuse", "plain apptainer exec busybox .sif (2 MiB), squashfuse"),
        ("sif_extracted", "plain apptainer exec busybox .sif (2 MiB), no squashfuse (--unsquash)"),
        ("sif64_squashfuse", "plain apptainer exec .sif with 64 MiB more, squashfuse"),
        ("sif64_extracted", "plain apptainer exec .sif with 64 MiB more, no squashfuse (--unsquash)"),
    ):
        data = results["launch_ms"].get(name)
        if data:
            spread = f"{data['median']:.0f} ({data['min']:.0f}-{data['max']:.0f})"
            lines.append(f"| launch of /bin/true, {label}: median (min-max) ms | {spread} |")
    for name in SIF_IMAGES:
        data = results["goals"].get(f"{name}_fallback_ms")
        if data is not None:
            label = f"{name}: cost of the no-squashfuse fallback per launch (median difference)"
            lines.append(f"| {label} | {data:+.0f} ms |")
    goals = results["goals"]
    lines.append(f"| goal: pulls per glidein (1) | {goals['pulls_per_glidein']} |")
    lines.append(f"| goal: cached launch vs local (within 10%) | {goals['cached_vs_local_pct']:+.1f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
