"""Benchmarks: launch overhead, decision cost, pool throughput, startup script cost, planning at scale.

``python benchmarks/run.py`` (what ``tox -e bench`` runs) builds or reuses the test bed, enters it once
and measures everything in that one session, side by side with raw Apptainer and HTCondor's native
support. It prints a table and writes the full results, raw samples included, as JSON (``--out``;
by default a new file in the system temp dir, whose path is printed). Needs root, like the test bed.
See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(REPO))

from benchmarks import report  # noqa: E402

IN_BED_REPO = "/opt/glidein-singularity"  # where the session mounts this repository (read-only)
INBED = f"{IN_BED_REPO}/benchmarks/inbed"
WORK = "/opt/gs-bench"  # benchmark files inside the bed
DEPLOYED = "/opt/glidein"  # the glidein work dir gs-setup filled (tests.testbed.glidein.GLIDEIN_DIR)
DEPLOYED_LIB = f"{DEPLOYED}/lib"  # gs-setup's compiled copy of the package, read-only to the job user
EXECUTE = "/var/lib/condor/execute"
USER = "tuser"
TRUE_JOB = "executable = /bin/true\ntransfer_executable = false\n"
#: The thread-limit variables the 23.9 starter sets for a 1-CPU job (seen in the pool).
THREAD_LIMITS = (
    "OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "TF_NUM_THREADS", "TF_LOOP_PARALLEL_ITERATIONS", "JULIA_NUM_THREADS", "GOMAXPROCS", "ROOT_MAX_THREADS",
    "CUBACORES", "PYTHON_CPU_COUNT",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Launch overhead and pool throughput of glidein-singularity, side by side with raw "
        "Apptainer and HTCondor's native support, in the test bed (needs root).",
    )
    parser.add_argument("--out", metavar="FILE", help="JSON results file (default: a new file in temp)")
    parser.add_argument("--runs", type=int, default=60, help="interleaved launches per variant (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up rounds, not recorded (default 5)")
    parser.add_argument("--jobs", type=int, default=60, help="jobs per pool batch (default 60)")
    parser.add_argument(
        "--pool-rounds", type=int, default=2, help="rounds over the pool variants, order rotated (default 2)"
    )
    parser.add_argument("--setup-runs", type=int, default=7, help="runs of the startup script (default 7)")
    parser.add_argument("--skip-pool", action="store_true", help="leave out the pool throughput part")
    parser.add_argument("--seed", type=int, default=1, help="seed of the interleaving order (default 1)")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.runs < 30:
        parser.error("--runs must be at least 30 (medians of fewer launches are noise here)")
    for name in ("warmup", "jobs", "pool_rounds", "setup_runs"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            parser.error(f"--{name.replace('_', '-')} is too small")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the machine -----------------------------------------------------------------------------------


def machine_info(s: Any) -> dict[str, Any]:
    def out(argv: list[str]) -> str:
        return s.run(argv, check=False).stdout.strip()

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu or platform.machine(),
        "kernel": platform.release(),
        "condor": out(["condor_version"]).split()[1],
        "apptainer": out(["apptainer", "version"]),
        "python": out(["python3", "-c", "import platform; print(platform.python_version())"]),
        "host_python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --- the pool (part 3) and the ads of a real job ---------------------------------------------------


def _variant_config(variant: str, image: str, binds: str) -> str:
    """The config.d file that selects a variant (each job's starter reads the configuration afresh)."""
    if variant == "ours":  # the pool's own USER_JOB_WRAPPER: the glidein's condor_job_wrapper.sh
        return "SINGULARITY_JOB = false\n"
    text = "USER_JOB_WRAPPER =\n"
    if variant == "none":
        return text + "SINGULARITY_JOB = false\n"
    # The wrapper's image, binds and isolation: -C is --contain --ipc --pid (and --cleanenv), the
    # sandbox at /srv; HTCondor adds its own -S /tmp -S /var/tmp and --home.
    return text + (
        "SINGULARITY_JOB = true\n"
        f'SINGULARITY_IMAGE_EXPR = "{image}"\n'
        "SINGULARITY_TARGET_DIR = /srv\n"
        f'SINGULARITY_BIND_EXPR = "{binds}"\n'
        f"SINGULARITY_RUN_TEST_BEFORE_JOB = {'true' if variant == 'native_test' else 'false'}\n"
    )


def _starter_text(s: Any) -> str:
    text = ""
    for path in sorted(s.path("/var/log/condor").glob("StarterLog.slot*")):
        text += path.read_text(errors="replace")
    return text


def capture_ads(s: Any, pool: Any) -> tuple[str, str]:
    """The .job.ad and .machine.ad the starter wrote for a real job of the glidein pool."""
    job = pool.submit(
        "executable = /bin/sh\ntransfer_executable = false\n"
        "arguments = \"-c 'cp /srv/.job.ad job.ad.copy; cp /srv/.machine.ad m.ad.copy'\"\n"
        "transfer_output_files = job.ad.copy, m.ad.copy\n"
    )
    ad = pool.wait(job)
    if ad.get("JobStatus") != 4 or ad.get("ExitCode") != 0:
        raise RuntimeError("the job capturing the ads failed:\n" + pool.diagnostics())
    return s.read(f"{job.workdir}/job.ad.copy"), s.read(f"{job.workdir}/m.ad.copy")


def pool_batch(s: Any, pool: Any, variant: str, jobs: int, native: tuple[str, str]) -> dict[str, Any]:
    pool.write_config("90-bench-variant.config", _variant_config(variant, *native))
    pool.reconfig()
    time.sleep(2)  # let the daemons finish reconfiguring before the clock starts
    known = set(report.parse_starter_logs(_starter_text(s)))
    job = pool.submit(TRUE_JOB, count=jobs)

    def done() -> bool:
        return report.parse_userlog(pool.userlog(job))["terminated"] >= jobs

    pool.wait_for(done, 60 + 6 * jobs, f"{jobs} {variant} jobs", interval=0.5)
    pool.wait_for(
        lambda: s.run(["pgrep", "-x", "condor_starter"], check=False).returncode == 1,
        60,
        "the starters to exit",
        interval=0.3,
    )
    parsed = report.parse_userlog(pool.userlog(job))
    starters = {pid: r for pid, r in report.parse_starter_logs(_starter_text(s)).items() if pid not in known}
    with_job = [r for r in starters.values() if "exited" in r]
    expected = {"none": set(), "native": {"native"}, "native_test": {"native", "native_test"}}
    wanted = expected.get(variant, {"wrapper"})
    wrong = [r["flags"] for r in with_job if set(r["flags"]) != wanted]
    if parsed["ok"] != jobs or len(with_job) != jobs or wrong:
        raise RuntimeError(
            f"pool variant {variant}: {parsed['ok']}/{jobs} jobs exited 0, {len(with_job)} starters ran a "
            f"job, unexpected launch paths {wrong[:3]} (expected {sorted(wanted)})\n{pool.diagnostics()}"
        )
    figures = report.per_job_figures(with_job)
    return {**report.throughput(parsed), "per_job_ms": figures, "userlog_run_ms": parsed["run_ms"]}


def pool_throughput(s: Any, pool: Any, args: argparse.Namespace, native: tuple[str, str]) -> dict[str, Any]:
    order = [key for key, _ in report.POOL_LABELS]
    batches: dict[str, list[dict[str, Any]]] = {key: [] for key in order}
    for round_no in range(args.pool_rounds):
        rotated = order[round_no % len(order) :] + order[: round_no % len(order)]
        if round_no % 2:
            rotated.reverse()
        for variant in rotated:
            log(f"pool round {round_no + 1}/{args.pool_rounds}: {args.jobs} jobs, {variant}")
            batches[variant].append(pool_batch(s, pool, variant, args.jobs, native))
    variants = {}
    for key, runs in batches.items():
        merged = {
            name: [x for b in runs for x in b["per_job_ms"][name]] for name in ("exec", "launch", "starter")
        }
        variants[key] = {
            "wall_s": statistics.median(b["wall_s"] for b in runs),
            "jobs_per_min": statistics.median(b["jobs_per_min"] for b in runs),
            "steady_jobs_per_min": statistics.median(b["steady_jobs_per_min"] for b in runs),
            "launch_ms": statistics.median(merged["launch"]),
            "exec_ms": statistics.median(merged["exec"]),
            "starter_ms": statistics.median(merged["starter"]),
            "batches": runs,
        }
    ratios = {}
    ours = variants["ours"]
    for key, label in (("none", "(i)"), ("native_test", "(ii)"), ("native", "(ii')")):
        ref = variants[key]
        ratios[f"(iii) vs {label}"] = {
            "jobs_per_min": report.ratio(ours["jobs_per_min"], ref["jobs_per_min"]),
            "steady_jobs_per_min": report.ratio(ours["steady_jobs_per_min"], ref["steady_jobs_per_min"]),
            "launch_ms": ours["launch_ms"] - ref["launch_ms"],
        }
    return {"jobs": args.jobs, "rounds": args.pool_rounds, "variants": variants, "ratios": ratios}


# --- per-launch overhead and decision cost (parts 1 and 2) ----------------------------------------


def _wrapper_env(sandbox: str, machine_ad: str, glidein_config: str) -> dict[str, str]:
    """What the 23.9 starter gives the wrapper (seen in the pool), for a sandbox of our own."""
    env = {
        "_CONDOR_JOB_AD": f"{sandbox}/.job.ad",
        "_CONDOR_MACHINE_AD": f"{sandbox}/{machine_ad}",
        "_CONDOR_SCRATCH_DIR": sandbox,
        "_CONDOR_JOB_IWD": sandbox,
        "_CONDOR_WRAPPER_ERROR_FILE": f"{sandbox}/.job_wrapper_failure",
        "_CONDOR_CHIRP_CONFIG": f"{sandbox}/.chirp.config",
        "_CONDOR_SLOT": "slot1_1",
        "_CONDOR_BIN": "/usr/bin",
        "_CONDOR_JOB_PIDS": "",
        "BATCH_SYSTEM": "HTCondor",
        "GS_GLIDEIN_CONFIG": glidein_config,
        "CUDA_VISIBLE_DEVICES": "10000",
        "_CONDOR_AssignedGPUs": "10000",
        "GPU_DEVICE_ORDINAL": "10000",
    }
    for name in THREAD_LIMITS:
        env[name] = "1"
    return env


def _explain(s: Any, env: dict[str, str], sandbox: str, ad: str, glidein_config: str) -> dict[str, Any]:
    """explain's JSON plan for the ads in ``sandbox``, run with exactly the wrapper's environment."""
    code = (
        f"import sys; sys.path.insert(0, {IN_BED_REPO + '/src'!r}); "
        "from glidein_singularity.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [
        "env", "-i", *[f"{k}={v}" for k, v in env.items()],
        "/usr/bin/python3", "-I", "-S", "-c", code, "explain",
        "--job-ad", f"{sandbox}/.job.ad", "--machine-ad", f"{sandbox}/{ad}",
        "--glidein-config", glidein_config, "--sandbox", sandbox, "--format", "json", "--", "/bin/true",
    ]  # fmt: skip
    proc = s.run(argv, user=USER, cwd=sandbox, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"explain failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    return json.loads(proc.stdout)


def deployed_launcher(s: Any) -> str:
    """The glidein's condor_job_wrapper.sh, written the way the pool's is, over the work dir gs-setup
    filled (its compiled lib/glidein_singularity and the linked gs_job_wrapper.py); its path."""
    from tests.testbed.scenario import glidein_wrapper_config

    for needed in ("gs_job_wrapper.py", "lib/glidein_singularity/__init__.py", "glidein_config"):
        if s.run(["test", "-r", f"{DEPLOYED}/{needed}"], user=USER, check=False).returncode != 0:
            raise RuntimeError(f"gs-setup left no {DEPLOYED}/{needed}: the deployed layout is missing")
    config = glidein_wrapper_config(s)
    return config.split("=", 1)[1].strip()


def bytecode_check(s: Any, env: dict[str, str], cwd: str, entry: str) -> dict[str, int]:
    """How many of the package's modules a launch (as the job user) imports from cached bytecode, and
    how many it compiles from source (python -v: "X.pyc matches X.py" vs "code object from X.py")."""
    argv = ["env", "-i", *[f"{k}={v}" for k, v in env.items()]]
    proc = s.run([*argv, "/usr/bin/python3", "-I", "-S", "-v", entry, "/bin/true"], user=USER, cwd=cwd)
    cached = compiled = 0
    for line in proc.stderr.splitlines():
        if "/glidein_singularity/" not in line or not line.startswith("# code object from"):
            continue
        if line.rstrip("'").endswith(".pyc"):
            cached += 1
        else:
            compiled += 1
    return {"cached": cached, "compiled": compiled}


def prepare_launch(s: Any, job_ad: str, machine_ad: str, glidein_config: str) -> list[dict[str, Any]]:
    """Sandboxes, ads and the harness variants (argv + env + cwd).

    The primary wrapper variant is the deployed glidein: ``condor_job_wrapper.sh`` in the work dir that
    gs-setup filled as the pilot (``tuser2``), run as the job user (``tuser``), who can read but not
    write there, so it imports gs-setup's bytecode. The secondary one runs ``gs-job-wrapper`` from the
    repository as the bed mounts it: read-only, no ``.pyc``, so every launch compiles the package."""
    s.run(["rm", "-rf", WORK])
    s.run(["mkdir", "-p", f"{WORK}/spec"])
    launcher = deployed_launcher(s)
    true_ad = "\n".join(
        'SINGULARITY_PATH = "/bin/true"' if line.startswith("SINGULARITY_PATH =") else line
        for line in machine_ad.splitlines()
    )
    sandboxes = {}
    for name in ("wrap", "wrap_source", "true", "true_source", "phases"):
        sandbox = f"{EXECUTE}/bench_{name}"
        s.run(["rm", "-rf", sandbox])
        s.run(["install", "-d", "-o", USER, "-g", USER, "-m", "700", sandbox])
        # as a root-started starter leaves them: the job user cannot have written the machine ad
        s.write(f"{sandbox}/.job.ad", job_ad)
        s.write(f"{sandbox}/.machine.ad", machine_ad)
        s.write(f"{sandbox}/.machine.ad.true", true_ad + "\n")
        sandboxes[name] = sandbox

    env_wrap = _wrapper_env(sandboxes["wrap"], ".machine.ad", glidein_config)
    plan = _explain(s, env_wrap, sandboxes["wrap"], ".machine.ad", glidein_config)
    if plan.get("error") or not plan["argv"] or not plan["argv"][0].endswith("apptainer"):
        raise RuntimeError(f"explain gave no apptainer plan: {plan}")
    env_direct = {k: v for k, v in env_wrap.items() if k not in plan["env"]["unset"]}
    env_direct.update(plan["env"]["set"])
    true_plan = _explain(
        s, _wrapper_env(sandboxes["true"], ".machine.ad.true", glidein_config),
        sandboxes["true"], ".machine.ad.true", glidein_config,
    )  # fmt: skip
    if true_plan["argv"][:1] != ["/bin/true"]:
        raise RuntimeError(f"SINGULARITY_PATH=/bin/true did not become the runtime: {true_plan['argv'][:1]}")

    def wrapper(entry: str, sandbox: str, ad: str) -> dict[str, Any]:
        return {
            "argv": [entry, "/bin/true"],
            "env": _wrapper_env(sandbox, ad, glidein_config),
            "cwd": sandbox,
        }

    source = f"{IN_BED_REPO}/glidein_scripts/gs-job-wrapper"

    bare = {"env": {"PATH": "/usr/bin:/bin"}, "cwd": "/"}
    phases_env = _wrapper_env(sandboxes["phases"], ".machine.ad.true", glidein_config)
    return [
        {"name": "apptainer", "argv": plan["argv"], "env": env_direct, "cwd": sandboxes["wrap"]},
        {"name": "wrapper", **wrapper(launcher, sandboxes["wrap"], ".machine.ad")},
        {"name": "wrapper_source", **wrapper(source, sandboxes["wrap_source"], ".machine.ad")},
        {"name": "wrapper_true", **wrapper(launcher, sandboxes["true"], ".machine.ad.true")},
        {"name": "wrapper_true_source", **wrapper(source, sandboxes["true_source"], ".machine.ad.true")},
        {"name": "true", "argv": ["/bin/true"], **bare},
        {"name": "python", "argv": ["/usr/bin/python3", "-c", "pass"], **bare},
        {"name": "python_isolated", "argv": ["/usr/bin/python3", "-I", "-S", "-c", "pass"], **bare},
        {
            "name": "phases_deployed",
            "argv": ["/usr/bin/python3", "-I", "-S", f"{INBED}/phases.py", DEPLOYED_LIB, "/bin/true"],
            "env": phases_env,
            "cwd": sandboxes["phases"],
            "report": True,
        },
        {
            "name": "phases_source",
            "argv": ["/usr/bin/python3", "-I", "-S", f"{INBED}/phases.py", f"{IN_BED_REPO}/src", "/bin/true"],
            "env": phases_env,
            "cwd": sandboxes["phases"],
            "report": True,
        },
    ]


def _median_phases(reports: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(r[name] for r in reports) for name in reports[0]} if reports else {}


def launch_overhead(s: Any, variants: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    spec = {"warmup": args.warmup, "runs": args.runs, "seed": args.seed, "variants": variants}
    s.write(f"{WORK}/spec/launch.json", json.dumps(spec), owner=USER)
    timeout = 60 + args.runs * 5
    proc = s.run(
        ["/usr/bin/python3", "-I", f"{INBED}/harness.py", f"{WORK}/spec/launch.json"],
        user=USER,
        check=False,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the launch harness failed: {proc.stderr}")
    data = json.loads(proc.stdout)
    samples = data["samples_ms"]
    summary = {name: report.summarize(values) for name, values in samples.items()}
    out: dict[str, Any] = {"runs": args.runs, "summary": summary, "samples_ms": samples}
    out["argv_a"] = shlex.join(variants[0]["argv"])
    for key, wrapper in (("overhead", "wrapper"), ("overhead_source", "wrapper_source")):
        out[key] = report.overhead(samples[wrapper], samples["apptainer"])
    true = summary["true"]["median"]
    decision = {
        "deployed_ms": summary["wrapper_true"]["median"] - true,
        "source_ms": summary["wrapper_true_source"]["median"] - true,
        "interpreter_ms": summary["python_isolated"]["median"] - true,
        "phases_deployed": _median_phases(data["reports"]["phases_deployed"]),
        "phases_source": _median_phases(data["reports"]["phases_source"]),
    }
    return {"launch": out, "decision": decision}


def import_profile(s: Any, variants: list[dict[str, Any]], runs: int = 15) -> dict[str, Any]:
    """python -X importtime of the deployed wrapper (runtime /bin/true): median self us per module, and
    whether the package came from gs-setup's bytecode."""
    variant = next(v for v in variants if v["name"] == "wrapper_true")
    entry = f"{DEPLOYED}/gs_job_wrapper.py"  # what condor_job_wrapper.sh execs
    argv = ["env", "-i", *[f"{k}={v}" for k, v in variant["env"].items()]]
    argv += ["/usr/bin/python3", "-I", "-S", "-X", "importtime", entry, "/bin/true"]
    per_module: dict[str, list[int]] = {}
    cumulative: dict[str, list[int]] = {}
    for _ in range(runs):
        proc = s.run(argv, user=USER, cwd=variant["cwd"])
        for name, (self_us, cum_us) in report.parse_importtime(proc.stderr).items():
            per_module.setdefault(name, []).append(self_us)
            cumulative.setdefault(name, []).append(cum_us)
    self_median = {name: int(statistics.median(v)) for name, v in per_module.items()}
    top = sorted(self_median.items(), key=lambda item: -item[1])[:8]
    ours = sum(us for name, us in self_median.items() if name.startswith("glidein_singularity"))
    return {
        "bytecode": bytecode_check(s, variant["env"], variant["cwd"], entry),
        "top_imports": top,
        "package_self_us": ours,
        "all_self_us": sum(self_median.values()),
        "modules": sorted(self_median),
    }


# --- the startup script (part 4) and planning at scale (part 5) ------------------------------------


def setup_cost(s: Any, runs: int) -> dict[str, Any]:
    from tests.testbed import glidein as g

    path = "/opt/glidein-bench"
    attrs = {
        "GLIDEIN_Singularity_Use": "REQUIRED",
        "SINGULARITY_IMAGES_DICT": g.IMAGES_DICT,
        "GS_WRAPPER_FAILURE_SLEEP": "0",
    }
    rows: dict[str, list[float]] = {"total_s": [], "validation_s": [], "other_s": [], "wall_s": []}
    for _ in range(runs):
        g.make_glidein(s, attrs, path=path)
        started = time.perf_counter()
        run = g.run_setup(s, path=path)
        wall = time.perf_counter() - started
        timing = report.parse_setup_timing(run.stdout + run.stderr)
        if run.returncode != 0 or timing is None:
            raise RuntimeError(f"gs-setup failed ({run.returncode}): {run.stderr}")
        for key, value in zip(("total_s", "validation_s", "other_s"), timing):
            rows[key].append(value)
        rows["wall_s"].append(wall)
    return {"runs": runs, "summary": {k: report.summarize(v) for k, v in rows.items()}, "samples_s": rows}


def scale(s: Any) -> dict[str, Any]:
    argv = ["/usr/bin/python3", "-I", "-S", f"{INBED}/scale.py", DEPLOYED_LIB]
    proc = s.run(argv, user=USER, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the scale benchmark failed: {proc.stderr}")
    data = json.loads(proc.stdout)
    return {
        case: {
            "parse": report.summarize(v["parse_ms"]),
            "plan": report.summarize(v["plan_ms"]),
            "image": v["image"],
            "job_attrs": v["job_attrs"],
            "images": v["images"],
        }
        for case, v in data.items()
    }


def goals(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    launch = results.get("launch")
    if launch:
        for key, source in (("launch_overhead", "overhead"), ("launch_overhead_source", "overhead_source")):
            value = launch[source]["difference_ms"]
            out[key] = {"met": value <= 15.0, "text": f"{value:.1f} ms"}
    pool = results.get("pool")
    if pool:
        for key, mine, ref in (
            ("pool_vs_native", "ours", "native_test"),
            ("pool_vs_native_notest", "ours", "native"),
        ):
            ours = pool["variants"][mine]["jobs_per_min"]
            native = pool["variants"][ref]["jobs_per_min"]
            out[key] = {
                "met": report.within(ours, native, 0.05),
                "text": f"{ours:.1f} vs {native:.1f} jobs/min, ratio {ours / native:.3f}",
            }
    scale_results = results.get("scale")
    if scale_results:
        worst = max(case["plan"]["median"] for case in scale_results.values())
        out["scale"] = {"met": worst < 5.0, "text": f"{worst:.2f} ms median"}
    return out


def provenance() -> dict[str, Any]:
    """The commit measured, and the product files that differed from it (the bed mounts the work tree)."""

    def git(*argv: str) -> str:
        proc = subprocess.run(["git", "-C", str(REPO), *argv], capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    product = [path for path in changed if path.startswith(("src/", "glidein_scripts/", "condor_config.d/"))]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_product_files": product}


def default_out() -> Path:
    return Path(tempfile.gettempdir()) / time.strftime("glidein-singularity-bench-%Y%m%d-%H%M%S.json")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _validate(parser, args)
    from tests.testbed import Session, TestBedUnavailable, ensure_bed
    from tests.testbed.scenario import BUSYBOX, start_glidein_pool

    out_path = Path(args.out) if args.out else default_out()
    try:
        bed = ensure_bed()
    except TestBedUnavailable as exc:
        print(f"ERROR: the test bed is unavailable: {exc}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "options": vars(args),
        "source": provenance(),
    }
    started = time.monotonic()
    with Session(bed, REPO) as s:
        results["machine"] = machine_info(s)
        log("starting the glidein pool (runs gs-setup)")
        pool, run = start_glidein_pool(
            s,
            {"GLIDEIN_Singularity_Use": "REQUIRED"},
            snippets=("50", "60"),
            overrides={"80-bench.config": "SINGULARITY = /usr/bin/apptainer\n"},
        )
        try:
            if run.returncode != 0:
                raise RuntimeError(f"gs-setup failed: {run.stderr}")
            job_ad, machine_ad = capture_ads(s, pool)
            variants = prepare_launch(s, job_ad, machine_ad, "/opt/glidein/glidein_config")
            argv = variants[0]["argv"]
            results["plan_argv"] = argv
            native = (BUSYBOX, argv[argv.index("--bind") + 1] if "--bind" in argv else "")
            if not args.skip_pool:
                results["pool"] = pool_throughput(s, pool, args, native)
        finally:
            pool.stop()
        log(f"launch overhead: {args.warmup} warm-up + {args.runs} interleaved rounds")
        results.update(launch_overhead(s, variants, args))
        results["decision"].update(import_profile(s, variants))
        log("planning at scale")
        results["scale"] = scale(s)
        log(f"gs-setup x {args.setup_runs}")
        results["setup"] = setup_cost(s, args.setup_runs)
    results["machine"]["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["elapsed_s"] = time.monotonic() - started
    results["goals"] = goals(results)
    out_path.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(report.format_table(results))
    print(f"\nfull results (raw samples included): {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
