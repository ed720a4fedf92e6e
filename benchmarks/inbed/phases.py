"""The job wrapper's decision, phase by phase; runs inside the test bed like the wrapper does.

``python3 -I -S phases.py SRC_DIR JOB_ARGV...`` with the wrapper's environment (``_CONDOR_JOB_AD``,
``_CONDOR_MACHINE_AD``, ``_CONDOR_SCRATCH_DIR``, ``GS_GLIDEIN_CONFIG``, ...). It performs the same steps
as ``glidein_singularity.node.wrapper.main`` in the same order, timing each with ``time.perf_counter``,
and prints ``{phase: ms}`` as JSON instead of exec'ing. Run in a fresh process per sample: the import
phase is only meaningful in a new interpreter. The product's own code carries no timing code.
"""

import sys
import time

_T0 = time.perf_counter()


def main(argv):
    marks = [("start", _T0)]
    sys.path.insert(0, argv[1])
    job_argv = argv[2:]
    # Like the wrapper under -I -S: os is first imported here (by the wrapper module), json only at the end.
    from glidein_singularity.node.wrapper import find_glidein_config, make_probe, starter_cannot_see

    marks.append(("import_wrapper", time.perf_counter()))
    import os

    environ = dict(os.environ)
    error_file = environ.get("_CONDOR_WRAPPER_ERROR_FILE") or None
    if error_file:
        try:
            os.unlink(error_file)
        except OSError:
            pass
    reveal = starter_cannot_see(error_file)
    marks.append(("environment_and_error_file", time.perf_counter()))
    from glidein_singularity.ads import load_ad
    from glidein_singularity.plan import LaunchPlan, NodeSettings, Paths, job_set_names, plan

    marks.append(("import_ads_plan", time.perf_counter()))
    job_ad = load_ad(environ["_CONDOR_JOB_AD"], "job ad")
    machine_ad = load_ad(environ["_CONDOR_MACHINE_AD"], "machine ad")
    marks.append(("read_ads", time.perf_counter()))
    job_set = sorted(job_set_names(job_ad))
    settings = NodeSettings.from_sources(
        machine_ad, find_glidein_config(environ, job_set, argv[0]), environ, job_set
    )
    marks.append(("settings_and_glidein_config", time.perf_counter()))
    paths = Paths(
        os.getcwd(),
        environ.get("_CONDOR_SCRATCH_DIR"),
        environ.get("_CONDOR_JOB_IWD"),
        error_file,
        make_probe(),
        reveal,
    )
    result = plan(job_ad, machine_ad, settings, environ, job_argv, paths)
    marks.append(("plan", time.perf_counter()))
    if not isinstance(result, LaunchPlan):
        sys.stderr.write("refused: {}\n".format(result.message))
        return 1
    result.environment(environ)
    marks.append(("exec_environment", time.perf_counter()))
    phases = {name: (t - marks[i][1]) * 1000.0 for i, (name, t) in enumerate(marks[1:])}
    import json

    json.dump(phases, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
