"""Python entry of the job wrapper: find the glidein_singularity package, then run node.wrapper.main.

Run as ``python3 -I -S gs_job_wrapper.py <job argv>`` (by ``gs-job-wrapper``). With ``-I`` neither the
script's directory nor PYTHONPATH is on ``sys.path``, so the package is looked for, first match wins:

1. ``glidein_singularity.zip`` or ``glidein_singularity.pyz`` next to this file (a bundle);
2. ``lib/glidein_singularity/`` next to this file;
3. ``../src/glidein_singularity/`` (a source checkout: this file in ``glidein_scripts/``);
4. ``glidein_singularity/`` next to this file.
"""

import os
import sys
from os.path import abspath, dirname, exists, join


def _package_dir() -> str:
    here = dirname(abspath(__file__))
    for candidate in (
        join(here, "glidein_singularity.zip"),
        join(here, "glidein_singularity.pyz"),
        join(here, "lib"),
        join(here, "..", "src"),
        here,
    ):
        if candidate.endswith((".zip", ".pyz")) and exists(candidate):
            return candidate
        if exists(join(candidate, "glidein_singularity", "__init__.py")):
            return candidate
    line = "glidein-singularity job wrapper failed: package not found near {}".format(here)
    sys.stderr.write("ERROR: " + line + "\n")
    # A broken installation is the node's problem: the wrapper-error file makes HTCondor requeue the job
    # instead of recording exit code 90 as the job's own.
    error_file = os.environ.get("_CONDOR_WRAPPER_ERROR_FILE")
    if error_file:
        try:
            with open(error_file, "w") as handle:
                handle.write(line + "\n")
        except OSError:
            pass
    sys.exit(90)


sys.path.insert(0, _package_dir())

from glidein_singularity.node.wrapper import main  # noqa: E402

sys.exit(main([__file__, *sys.argv[1:]]))
