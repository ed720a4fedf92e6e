"""Planning time with large inputs, in-process; runs inside the test bed (``python3 -I -S scale.py SRC``).

Cases: a typical job (20-attribute job ad, 3-entry images dictionary) and the scale case (500-attribute
job ad whose +REQUIRED_OS matches only the last of 1,000 dictionary entries, 50 job environment
variables). For each case it times, over many iterations after a warm-up: parsing the two ad texts
(``classad.parse_ad`` with the wrapper's evaluator) and planning (``inputs.assemble`` and ``plan``,
as the wrapper calls them, with the environment the starter would give:
``inputs.starter_environment``). Host paths are answered by a fake
probe (every path under /cvmfs, /etc and the sandbox exists), so no file system noise is measured.
Prints ``{case: {"parse_ms": [...], "plan_ms": [...]}}`` as JSON.
"""

import json
import sys
import time

SANDBOX = "/var/lib/condor/execute/dir_1"
CVMFS = "/cvmfs/singularity.opensciencegrid.org/bench"
WARMUP = 20
RUNS = 300


def job_ad_text(n_attrs, required_os, n_env):
    """Old-syntax .job.ad text with ``n_attrs`` attributes of the usual kinds."""
    env = " ".join("BENCH_VAR_{}=value_{}".format(i, i) for i in range(n_env))
    lines = [
        'Cmd = "/bin/true"',
        'Owner = "tuser"',
        "JobUniverse = 5",
        "RequestCpus = 1",
        'REQUIRED_OS = "{}"'.format(required_os),
        'Environment = "{}"'.format(env),
        'Requirements = (TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && '
        "(TARGET.Disk >= RequestDisk)",
    ]
    kinds = (
        lambda i: 'StrAttr{} = "some string value number {}"'.format(i, i),
        lambda i: "IntAttr{} = {}".format(i, i * 7),
        lambda i: "RealAttr{} = {}.5".format(i, i),
        lambda i: "BoolAttr{} = {}".format(i, "true" if i % 2 else "false"),
        lambda i: "ExprAttr{} = ifThenElse(MY.IntAttr{} > 3, RequestCpus * 2, 1)".format(i, i),
        lambda i: 'ListAttr{} = {{ "a{}", "b", "c" }}'.format(i, i),
    )
    i = 0
    while len(lines) < n_attrs:
        lines.append(kinds[i % len(kinds)](i))
        i += 1
    return "\n".join(lines) + "\n"


def machine_ad_text(n_images):
    entries = ["default:{}/img-default:latest".format(CVMFS)]
    entries += ["os{:04d}:{}/img{:04d}:latest".format(i, CVMFS, i) for i in range(1, n_images)]
    return (
        "\n".join(
            [
                "HAS_SINGULARITY = true",
                'SINGULARITY_PATH = "/usr/bin/apptainer"',
                'GWMS_SINGULARITY_STATUS = "REQUIRED"',
                'SINGULARITY_IMAGES_DICT = "{}"'.format(",".join(entries)),
                'SINGULARITY_IMAGE_RESTRICTIONS = "cvmfs"',
                "GS_PID_NAMESPACES = true",
                "Cpus = 1",
                'Name = "slot1_1@localhost"',
            ]
        )
        + "\n"
    )


def main(argv):
    sys.path.insert(0, argv[1])
    from glidein_singularity.ads import classad_evaluator
    from glidein_singularity.classad import parse_ad
    from glidein_singularity.inputs import assemble, starter_environment
    from glidein_singularity.plan import LaunchPlan, PathInfo

    def probe(path):
        if path.startswith(("/cvmfs", "/etc/", SANDBOX)):
            return PathInfo(True, not path.startswith("/etc/"), path)
        return PathInfo(False, False, path)

    environ = {
        "_CONDOR_SCRATCH_DIR": SANDBOX,
        "_CONDOR_JOB_IWD": SANDBOX,
        "_CONDOR_WRAPPER_ERROR_FILE": SANDBOX + "/.job_wrapper_failure",
        "PATH": "/usr/bin:/bin",
    }
    cases = {
        "typical (20-attribute job ad, 3 images)": (job_ad_text(20, "os0002", 5), machine_ad_text(3)),
        "scale (500-attribute job ad, 1,000 images)": (job_ad_text(500, "os0999", 50), machine_ad_text(1000)),
    }
    out = {}
    for name, (job_text, machine_text) in cases.items():
        parse_ms, plan_ms = [], []
        for i in range(WARMUP + RUNS):
            t0 = time.perf_counter()
            job_ad = parse_ad(job_text, classad_evaluator())
            machine_ad = parse_ad(machine_text, classad_evaluator())
            t1 = time.perf_counter()
            starter = starter_environment(job_ad, environ, SANDBOX, environ["_CONDOR_WRAPPER_ERROR_FILE"])
            inputs = assemble(job_ad, machine_ad, True, starter, ["/bin/true"], SANDBOX, probe, None, {})
            result = inputs.plan()
            t2 = time.perf_counter()
            if not isinstance(result, LaunchPlan):
                sys.stderr.write("{}: refused: {}\n".format(name, result.message))
                return 1
            if i >= WARMUP:
                parse_ms.append((t1 - t0) * 1000.0)
                plan_ms.append((t2 - t1) * 1000.0)
        out[name] = {
            "parse_ms": parse_ms,
            "plan_ms": plan_ms,
            "image": result.image,
            "job_attrs": len(job_ad),
            "images": machine_text.count(":latest"),
        }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
