"""The job wrapper's decision, phase by phase; runs inside the test bed like the wrapper does.

``python3 -I -S phases.py SRC_DIR JOB_ARGV...`` with the wrapper's environment (``_CONDOR_JOB_AD``,
``_CONDOR_MACHINE_AD``, ``_CONDOR_SCRATCH_DIR``, ...) from the wrapper's directory. It performs the same steps
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
    # Like the wrapper under -I -S: the wrapper module (and with it os and the planner) first.
    from glidein_singularity.node.wrapper import chirp_path, starter_cannot_see

    marks.append(("import_wrapper", time.perf_counter()))
    import os

    from glidein_singularity.inputs import from_starter, read_glidein_config

    environ = dict(os.environ)
    error_file = environ.get("_CONDOR_WRAPPER_ERROR_FILE") or None
    if error_file:
        try:
            os.unlink(error_file)
        except OSError:
            pass
    here = os.path.dirname(os.path.abspath(argv[0]))
    read_glidein_config(os.path.join(here, "glidein_config"))
    chirp_path(environ)
    reveal = starter_cannot_see(error_file)
    marks.append(("environment_and_error_file", time.perf_counter()))
    inputs = from_starter(environ, job_argv, here, reveal)
    marks.append(("ads_settings_and_glidein_config", time.perf_counter()))
    result = inputs.plan()
    marks.append(("plan", time.perf_counter()))
    if not hasattr(result, "argv"):
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
