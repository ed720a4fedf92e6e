"""Pure helpers of the benchmark: statistics, log parsing and the printed table (no I/O, no timing).

Kept apart from ``run.py`` (which drives the test bed) so that a unit test can check them on fixed
numbers and fixed log text.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median, min, max and count of a list of samples (ms or s, as given)."""
    if not samples:
        raise ValueError("no samples to summarize")
    return {
        "n": len(samples),
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return None if denominator == 0 else numerator / denominator


def within(value: float, reference: float, fraction: float) -> bool:
    """True when ``value`` is no more than ``fraction`` worse (lower) than ``reference``."""
    return value >= reference * (1.0 - fraction)


def overhead(wrapped: Sequence[float], direct: Sequence[float]) -> dict[str, float | None]:
    """The wrapper's cost over the direct launch: difference and ratio of the medians, and the median of
    the per-round differences (samples taken in the same interleaved round, so slow spells cancel)."""
    wrapped_median, direct_median = statistics.median(wrapped), statistics.median(direct)
    return {
        "difference_ms": wrapped_median - direct_median,
        "ratio": ratio(wrapped_median, direct_median),
        "paired_difference_ms": statistics.median(w - d for w, d in zip(wrapped, direct)),
    }


# --- HTCondor logs --------------------------------------------------------------------------------

_STARTER_LINE = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) \(pid:(\d+)\) (.*)$")
_STARTER_MARKS = (
    ("start", "condor_starter (CONDOR_STARTER) STARTING UP"),
    ("launch", "Starting a VANILLA universe job"),
    ("create", "Create_Process succeeded"),
    ("exited", "Process exited"),
    ("end", "EXITING WITH STATUS"),
)
_STARTER_FLAGS = (
    ("wrapper", "Using wrapper "),
    ("native", "Running job via singularity"),
    ("native_test", "singularity test returns"),
)


def _starter_time(text: str) -> float:
    fmt = "%m/%d/%y %H:%M:%S.%f" if "." in text else "%m/%d/%y %H:%M:%S"
    return datetime.strptime(text, fmt).timestamp()


def parse_starter_logs(text: str) -> dict[int, dict[str, Any]]:
    """Per starter PID: the times (s) of its marks and which launch path it took.

    Needs ``STARTER_DEBUG = D_PID D_SUB_SECOND``. Marks: ``start`` (STARTING UP), ``launch`` (Starting
    a VANILLA universe job: after the starter's fixed 1 s delay), ``create`` (Create_Process succeeded),
    ``exited`` (Process exited), ``end`` (EXITING). Flags: ``wrapper``, ``native``, ``native_test``.
    """
    starters: dict[int, dict[str, Any]] = {}
    for line in text.splitlines():
        match = _STARTER_LINE.match(line)
        if not match:
            continue
        stamp, pid, message = match.group(1), int(match.group(2)), match.group(3)
        record = starters.setdefault(pid, {"flags": []})
        for mark, needle in _STARTER_MARKS:
            if needle in message and mark not in record:
                record[mark] = _starter_time(stamp)
        for flag, needle in _STARTER_FLAGS:
            if needle in message and flag not in record["flags"]:
                record["flags"].append(flag)
    return starters


def per_job_figures(starters: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    """From starter records: per-job ms for ``exec`` (create -> exited), ``launch`` (launch -> exited)
    and ``starter`` (start -> end); starters without a job (e.g. a failed claim) are skipped."""
    out: dict[str, list[float]] = {"exec": [], "launch": [], "starter": []}
    for record in starters:
        if "exited" not in record:
            continue
        for name, first, last in (("exec", "create", "exited"), ("launch", "launch", "exited")):
            if first in record:
                out[name].append((record[last] - record[first]) * 1000.0)
        if "start" in record and "end" in record:
            out["starter"].append((record["end"] - record["start"]) * 1000.0)
    return out


_EVENT = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.\d+\) (\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?) ")


def parse_userlog(text: str) -> dict[str, Any]:
    """Times (s) from a job event log with ``DEFAULT_USERLOG_FORMAT_OPTIONS = ISO_DATE, SUB_SECOND``.

    Returns ``submit`` (first submit event), ``first_execute``, ``last_terminate``, ``terminated`` (how
    many procs terminated), ``ok`` (of those, normal termination with return value 0) and ``run_ms``
    (per proc, execute -> terminate).
    """
    submits: list[float] = []
    executes: dict[tuple[int, int], float] = {}
    terminates: dict[tuple[int, int], float] = {}
    ok = 0
    last_event = ""
    for line in text.splitlines():
        match = _EVENT.match(line)
        if match:
            code, job = match.group(1), (int(match.group(2)), int(match.group(3)))
            stamp = datetime.fromisoformat(match.group(4).replace(" ", "T")).timestamp()
            last_event = code
            if code == "000":
                submits.append(stamp)
            elif code == "001":
                executes.setdefault(job, stamp)
            elif code == "005":
                terminates[job] = stamp
        elif last_event == "005" and "Normal termination (return value 0)" in line:
            ok += 1
    run_ms = [(terminates[j] - executes[j]) * 1000.0 for j in sorted(terminates) if j in executes]
    return {
        "submit": min(submits) if submits else None,
        "first_execute": min(executes.values()) if executes else None,
        "last_terminate": max(terminates.values()) if terminates else None,
        "terminated": len(terminates),
        "ok": ok,
        "run_ms": run_ms,
    }


def throughput(log: Mapping[str, Any]) -> dict[str, float]:
    """Jobs per minute from a parsed user log: submit -> last completion, first start -> last completion."""
    n = log["terminated"]
    wall = log["last_terminate"] - log["submit"]
    steady = log["last_terminate"] - log["first_execute"]
    return {
        "jobs": n,
        "wall_s": wall,
        "jobs_per_min": 60.0 * n / wall,
        "steady_s": steady,
        "steady_jobs_per_min": 60.0 * n / steady,
    }


_SETUP_LINE = re.compile(r"in ([0-9.]+) s \(([0-9.]+) s in the validation container, ([0-9.]+) s other\)")


def parse_setup_timing(text: str) -> tuple[float, float, float] | None:
    """(total, validation container, other) seconds from gs-setup's summary line, or None."""
    match = _SETUP_LINE.search(text)
    if not match:
        return None
    return float(match.group(1)), float(match.group(2)), float(match.group(3))


def parse_importtime(text: str) -> dict[str, tuple[int, int]]:
    """``python -X importtime`` stderr -> {module: (self us, cumulative us)}."""
    out: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3:
            continue
        out[fields[2].strip()] = (int(fields[0]), int(fields[1]))
    return out


# --- the printed table ----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(label: str, summary: Mapping[str, float] | None, width: int = 58) -> str:
    if summary is None:
        return f"  {label:<{width}} {'-':>8}"
    return f"  {label:<{width}} {_ms(summary['median']):>8} {_ms(summary['min']):>8} {_ms(summary['max']):>8}"


def _verdict(goal: Mapping[str, Any] | None) -> str:
    if not goal:
        return "not measured"
    return ("MET" if goal["met"] else "NOT MET") + f" ({goal['text']})"


def format_table(results: Mapping[str, Any]) -> str:
    """The human-readable report of a results dict (sections that were not run are left out)."""
    lines: list[str] = []
    machine = results.get("machine", {})
    lines.append(f"glidein-singularity benchmarks, {results.get('date', '?')}")
    if machine:
        lines.append(
            "machine: {cores} cores ({cpu}), kernel {kernel}; HTCondor {condor}, Apptainer {apptainer}, "
            "bed python {python}; load average at start {load}".format(**machine)
        )
    source = results.get("source")
    if source:
        dirty = source["uncommitted_product_files"]
        lines.append(
            f"source: commit {source['commit']}"
            + (f" + uncommitted changes to {', '.join(dirty)}" if dirty else "")
        )
    head = f"  {'':<58} {'median':>8} {'min':>8} {'max':>8}"

    launch = results.get("launch")
    if launch:
        runs = launch["runs"]
        lines += ["", f"1. Per-launch time of /bin/true in busybox, ms ({runs} interleaved runs each)"]
        lines.append(head)
        for key, label in LAUNCH_LABELS:
            if key in launch["summary"]:
                lines.append(_row(label, launch["summary"][key]))
        for key, b in (("overhead", "(b)"), ("overhead_source", "(b')")):
            derived = launch.get(key)
            if derived:
                line = (
                    f"  {b}-(a) = {derived['difference_ms']:.1f} ms median, {b}/(a) = {derived['ratio']:.3f}"
                )
                if derived.get("paired_difference_ms") is not None:
                    line += f"; median of per-round differences {derived['paired_difference_ms']:.1f} ms"
                lines.append(line)

    decision = results.get("decision")
    if decision:
        lines += ["", "2. Decision cost: the wrapper with the runtime replaced by /bin/true, ms"]
        lines.append(
            "  wrapper start -> exec of the runtime (wrapper with /bin/true minus /bin/true alone): "
            f"{decision['deployed_ms']:.1f} (deployed glidein), "
            f"{decision['source_ms']:.1f} (source checkout, read-only: every launch compiles)"
        )
        lines.append(
            "  of which the interpreter (python3 -I -S -c pass minus /bin/true): "
            f"{decision['interpreter_ms']:.1f}"
        )
        for title, key in (
            ("deployed glidein", "phases_deployed"),
            ("source checkout, read-only", "phases_source"),
        ):
            phases = decision.get(key)
            if phases:
                parts = ", ".join(f"{name} {value:.2f}" for name, value in phases.items())
                lines.append(f"  in-process phases, median ms ({title}): {parts}")
        top = decision.get("top_imports")
        if top:
            lines.append(
                "  slowest imports (self us, deployed glidein): "
                + ", ".join(f"{name} {us}" for name, us in top)
            )
        bytecode = decision.get("bytecode")
        if bytecode:
            lines.append(
                f"  package modules a deployed launch imports: {bytecode['cached']} from gs-setup's "
                f"bytecode, {bytecode['compiled']} compiled from source"
            )

    pool = results.get("pool")
    if pool:
        lines += [
            "",
            f"3. Pool throughput: {pool['jobs']} x /bin/true, 2 slots, {pool['rounds']} round(s) "
            "interleaved; per-job ms are medians from the StarterLog",
        ]
        lines.append(
            f"  {'variant':<44} {'wall s':>7} {'jobs/min':>9} {'steady/min':>10} "
            f"{'launch ms':>10} {'exec ms':>8} {'starter ms':>10}"
        )
        for key, label in POOL_LABELS:
            row = pool["variants"].get(key)
            if not row:
                continue
            lines.append(
                f"  {label:<44} {row['wall_s']:>7.1f} {row['jobs_per_min']:>9.1f} "
                f"{row['steady_jobs_per_min']:>10.1f} {row['launch_ms']:>10.1f} {row['exec_ms']:>8.1f} "
                f"{row['starter_ms']:>10.1f}"
            )
        for name, value in pool.get("ratios", {}).items():
            lines.append(
                f"  {name}: jobs/min x{value['jobs_per_min']:.3f}, "
                f"steady x{value['steady_jobs_per_min']:.3f}, "
                f"launch {value['launch_ms']:+.1f} ms per job"
            )

    setup = results.get("setup")
    if setup:
        lines += ["", f"4. gs-setup on a fresh glidein dir, s ({setup['runs']} runs)"]
        lines.append(head)
        for key, label in (
            ("total_s", "total (as the script reports it)"),
            ("validation_s", "in the validation container"),
            ("other_s", "total minus the validation container"),
            ("wall_s", "wall from the host (with entering the bed)"),
        ):
            summary = setup["summary"][key]
            lines.append(
                f"  {label:<58} {summary['median']:>8.3f} {summary['min']:>8.3f} {summary['max']:>8.3f}"
            )

    scale = results.get("scale")
    if scale:
        lines += ["", "5. Planning time in-process, ms (parse = both ad texts; plan = settings + plan())"]
        lines.append(head)
        for case, figures in scale.items():
            lines.append(_row(f"{case}: parse", figures["parse"]))
            lines.append(_row(f"{case}: plan", figures["plan"]))

    goals = results.get("goals")
    if goals:
        lines += ["", "Goals"]
        for key, label in GOAL_LABELS:
            if key in goals:
                lines.append(f"  {label}: {_verdict(goals[key])}")
    return "\n".join(lines)


LAUNCH_LABELS = (
    ("apptainer", "(a) apptainer exec, the wrapper's exact argv and env"),
    ("wrapper", "(b) our wrapper -> apptainer, deployed glidein"),
    ("wrapper_source", "(b') source checkout, read-only: every launch compiles"),
    ("python", "(c) python3 -c pass"),
    ("python_isolated", "    python3 -I -S -c pass (the wrapper's interpreter)"),
    ("wrapper_true", "    our wrapper -> /bin/true, deployed glidein"),
    ("wrapper_true_source", "    our wrapper -> /bin/true, source checkout (compiles)"),
    ("true", "    /bin/true alone"),
)

POOL_LABELS = (
    ("none", "(i) no container"),
    ("native_test", "(ii) HTCondor native, pre-job test on"),
    ("native", "(ii') HTCondor native, pre-job test off"),
    ("ours", "(iii) our wrapper, deployed glidein"),
    ("ours_htcondor", "(iv) ours, HTCondor launch mode"),
)

GOAL_LABELS = (
    ("launch_overhead", "1. (b)-(a) <= 15 ms median, deployed glidein"),
    ("launch_overhead_source", "1. (b')-(a) <= 15 ms median, source checkout (secondary)"),
    ("pool_vs_native", "3. (iii) within 5% of (ii), jobs/min"),
    ("pool_vs_native_notest", "3. (iii) within 5% of (ii'), jobs/min"),
    ("pool_htcondor_vs_native_notest", "3. (iv) within 5% of (ii'), jobs/min"),
    ("scale", "5. plan < 5 ms with 1,000 images and a 500-attribute job ad"),
)
