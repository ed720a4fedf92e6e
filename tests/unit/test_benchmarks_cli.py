"""The benchmark's command line and pure helpers, on fixed numbers and log text (no timing, no test bed)."""

import pytest
from benchmarks import report
from benchmarks.run import build_parser

STARTER_LOG = """\
11/22/26 00:46:03.497 (pid:358) ** condor_starter (CONDOR_STARTER) STARTING UP
11/22/26 00:46:04.516 (pid:358) Starting a VANILLA universe job with ID: 1.0
11/22/26 00:46:04.542 (pid:358) Running job via singularity.
11/22/26 00:46:04.626 (pid:358) singularity test returns 0
11/22/26 00:46:04.633 (pid:358) Create_Process succeeded, pid=437
11/22/26 00:46:04.713 (pid:358) Process exited, pid=437, status=0
11/22/26 00:46:04.757 (pid:358) **** condor_starter (condor_STARTER) pid 358 EXITING WITH STATUS 0
11/22/26 00:46:05.000 (pid:400) ** condor_starter (CONDOR_STARTER) STARTING UP
11/22/26 00:46:06.000 (pid:400) Starting a VANILLA universe job with ID: 1.1
11/22/26 00:46:06.001 (pid:400) Using wrapper /x/gs-job-wrapper to exec /bin/true
11/22/26 00:46:06.010 (pid:400) Create_Process succeeded, pid=401
11/22/26 00:46:06.110 (pid:400) Process exited, pid=401, status=0
11/22/26 00:46:06.200 (pid:400) **** condor_starter (condor_STARTER) pid 400 EXITING WITH STATUS 0
11/22/26 00:46:07.000 (pid:500) ** condor_starter (CONDOR_STARTER) STARTING UP
"""

USERLOG = """\
000 (001.000.000) 2026-11-22 00:43:52.000 Job submitted from host: <127.0.0.1:1>
...
000 (001.001.000) 2026-11-22 00:43:52.100 Job submitted from host: <127.0.0.1:1>
...
001 (001.000.000) 2026-11-22 00:43:56.000 Job executing on host: <127.0.0.1:1>
...
001 (001.001.000) 2026-11-22 00:43:56.500 Job executing on host: <127.0.0.1:1>
...
005 (001.000.000) 2026-11-22 00:43:56.250 Job terminated.
\t(1) Normal termination (return value 0)
...
005 (001.001.000) 2026-11-22 00:43:58.000 Job terminated.
\t(1) Normal termination (return value 3)
...
"""


def test_parser_defaults_and_options() -> None:
    """The documented defaults, and every option parsed."""
    defaults = build_parser().parse_args([])
    argv = "--out r.json --runs 40 --warmup 2 --jobs 10 --pool-rounds 1 --setup-runs 3 --skip-pool --seed 7"
    args = build_parser().parse_args(argv.split())

    assert (None, 60, 5, 60, 2, 7, False) == (
        defaults.out,
        defaults.runs,
        defaults.warmup,
        defaults.jobs,
        defaults.pool_rounds,
        defaults.setup_runs,
        defaults.skip_pool,
    )
    assert ("r.json", 40, 2, 10, 1, 3, True, 7) == (
        args.out,
        args.runs,
        args.warmup,
        args.jobs,
        args.pool_rounds,
        args.setup_runs,
        args.skip_pool,
        args.seed,
    )


def test_summarize_ratio_within() -> None:
    """Median of an even count is the mean of the middle pair; ratios and the 5% rule."""
    assert {"n": 4, "median": 2.5, "min": 1.0, "max": 10.0} == report.summarize([10.0, 1.0, 3.0, 2.0])
    assert 1.25 == report.ratio(5.0, 4.0)
    assert report.ratio(1.0, 0.0) is None
    assert report.within(95.0, 100.0, 0.05)
    assert not report.within(94.9, 100.0, 0.05)
    with pytest.raises(ValueError, match="no samples"):
        report.summarize([])


def test_overhead_medians_and_paired_differences() -> None:
    """Difference and ratio of the medians, and the median of same-round differences."""
    derived = report.overhead([80.0, 90.0, 85.0], [70.0, 60.0, 72.0])

    assert (15.0, 85.0 / 70.0, 13.0) == (
        derived["difference_ms"],
        derived["ratio"],
        derived["paired_difference_ms"],
    )


def test_starter_log_per_job_figures() -> None:
    """Per starter: launch path flags and launch/exec/starter spans; a starter without a job is skipped."""
    starters = report.parse_starter_logs(STARTER_LOG)
    figures = report.per_job_figures(starters.values())

    assert {358: ["native", "native_test"], 400: ["wrapper"], 500: []} == {
        pid: record["flags"] for pid, record in starters.items()
    }
    assert [80, 100] == [round(x) for x in figures["exec"]]
    assert [197, 110] == [round(x) for x in figures["launch"]]
    assert [1260, 1200] == [round(x) for x in figures["starter"]]


def test_userlog_and_throughput() -> None:
    """Submit -> last termination, first execute -> last termination; only exit 0 counts as ok."""
    log = report.parse_userlog(USERLOG)
    rates = report.throughput(log)

    assert (2, 1) == (log["terminated"], log["ok"])
    assert [250, 1500] == [round(x) for x in log["run_ms"]]
    assert (6.0, 20.0, 2.0, 60.0) == (
        round(rates["wall_s"], 3),
        round(rates["jobs_per_min"], 3),
        round(rates["steady_s"], 3),
        round(rates["steady_jobs_per_min"], 3),
    )


def test_setup_line_and_importtime() -> None:
    """gs-setup's summary line and python -X importtime lines."""
    line = "gs-setup: REQUIRED in 0.114 s (0.075 s in the validation container, 0.039 s other)"
    importtime = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       634 |       1246 |   os\n"
        "import time:       403 |       1980 | glidein_singularity.node.wrapper\n"
    )

    assert (0.114, 0.075, 0.039) == report.parse_setup_timing(line)
    assert report.parse_setup_timing("no summary") is None
    assert {"os": (634, 1246), "glidein_singularity.node.wrapper": (403, 1980)} == report.parse_importtime(
        importtime
    )


def test_format_table_sections_and_goals() -> None:
    """The table shows the measured rows, the derived difference and the goals' verdicts."""
    results = {
        "date": "2026-11-22 00:50 UTC",
        "launch": {
            "runs": 30,
            "summary": {
                "apptainer": {"median": 70.0, "min": 60.0, "max": 90.0},
                "wrapper": {"median": 80.0, "min": 75.0, "max": 99.0},
                "wrapper_source": {"median": 100.0, "min": 90.0, "max": 120.0},
            },
            "overhead": {"difference_ms": 10.0, "ratio": 80.0 / 70.0},
            "overhead_source": {"difference_ms": 30.0, "ratio": 100.0 / 70.0},
        },
        "decision": {
            "deployed_ms": 13.0,
            "source_ms": 30.0,
            "interpreter_ms": 8.0,
            "bytecode": {"cached": 9, "compiled": 0},
        },
        "scale": {"big": {"parse": {"median": 0.4, "min": 0.3, "max": 0.6}, "plan": None}},
        "goals": {
            "launch_overhead": {"met": True, "text": "10.0 ms"},
            "scale": {"met": False, "text": "6.00 ms median"},
        },
    }
    table = report.format_table(results)

    assert "(a) apptainer exec, the wrapper's exact argv and env" in table
    assert "70.0     60.0     90.0" in table
    assert "(b)-(a) = 10.0 ms median, (b)/(a) = 1.143" in table
    assert any(
        line.split()[-3:] == ["100.0", "90.0", "120.0"] and "(b') source checkout, read-only" in line
        for line in table.splitlines()
    )
    assert "(b')-(a) = 30.0 ms median" in table
    assert "13.0 (deployed glidein), 30.0 (source checkout, read-only: every launch compiles)" in table
    assert "9 from gs-setup's bytecode, 0 compiled from source" in table
    assert "1. (b)-(a) <= 15 ms median, deployed glidein: MET (10.0 ms)" in table
    assert "5. plan < 5 ms with 1,000 images and a 500-attribute job ad: NOT MET (6.00 ms median)" in table
    assert "3. Pool throughput" not in table
