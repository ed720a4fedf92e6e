"""Show what the job wrapper would do for a job on a slot (the same plan function the wrapper runs).

Reads a job ad and a machine ad (``condor_q -l`` / ``condor_status -l`` text, or the starter's
``.job.ad``/``.machine.ad``), optionally a ``glidein_config``, and prints the plan as a table or as JSON
with the keys ``use_container``, ``image``, ``argv``, ``env`` (``set``/``unset``), ``reasons`` and
``error``. Host paths (images, bind sources) are probed on the machine where it runs. The environment is
what the starter would give: the current one, then the job's own ``Environment`` (the job's
values win, as in the starter), then the starter's own variables for the sandbox.

Before submitting: ``--submit FILE`` (a condor_submit file, read with the htcondor2 bindings when they
are importable) or ``--job-ad``, against candidates from ``--machine-ads FILE`` (``condor_status -l``
ads separated by blank lines, or ``condor_status -json``) and/or ``--config YAML`` (every frontend group
x factory entry, as the glidein would advertise itself). For each candidate it says whether the job
matches (our START term, the slot's own START, the job's requirements, with HTCondor's ClassAd
library), why not in words, and for a match the plan. JSON: a list of ``glidein``, ``matched``,
``why_not`` (sentences), ``plan`` (the object above, or null) and ``notes``.

Exit status: 0 for a plan, 1 for a refusal; with candidates, 0 when at least one glidein matches with a
plan, 1 when none does; 2 for a usage error.
"""

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Union

from ..ads import load_ad
from ..inputs import for_explain, make_probe, read_glidein_config
from ..plan import LaunchPlan, Refusal

__all__ = ["HELP", "NAME", "add_arguments", "plan_to_dict", "run"]

NAME = "explain"
HELP = "show what the wrapper would do for a job on a slot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sub-command's options."""
    job = parser.add_mutually_exclusive_group(required=True)
    job.add_argument("--job-ad", metavar="FILE", help="the job ad (.job.ad or condor_q -l)")
    job.add_argument("--submit", metavar="FILE", help="the condor_submit file (its first job)")
    parser.add_argument("--machine-ad", metavar="FILE", help="the slot ad (.machine.ad)")
    parser.add_argument(
        "--machine-ads",
        metavar="FILE",
        help="candidate slots: condor_status -l ads separated by blank lines, or condor_status -json",
    )
    parser.add_argument(
        "--config", metavar="YAML", help="candidate glideins: every group x entry of a frontend/factory YAML"
    )
    parser.add_argument(
        "--start-config",
        metavar="FILE",
        help="the START term's configuration (default: condor_config.d/60-glidein-singularity-start.config "
        "of the source tree, else /etc/condor/config.d/)",
    )
    parser.add_argument("--glidein-config", metavar="FILE", help="the glidein's glidein_config")
    parser.add_argument(
        "--sandbox",
        metavar="DIR",
        help="the job directory (default: _CONDOR_SCRATCH_DIR, else the current directory; with --submit or "
        "candidates: /var/lib/condor/execute/dir_1)",
    )
    parser.add_argument(
        "--reveal-sandbox",
        metavar="MODE",
        default="",
        help="the job directory's mode (e.g. 0700) when the starter runs as another user than the job, as on "
        "a root-started EP; the wrapper detects this itself",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument("job_argv", nargs="*", metavar="JOB_ARGV", help="the job command (after --)")


def plan_to_dict(result: Union[LaunchPlan, Refusal]) -> Dict[str, Any]:
    """The JSON shape of a plan or a refusal."""
    if isinstance(result, Refusal):
        return {
            "use_container": False,
            "image": None,
            "argv": [],
            "env": {"set": {}, "unset": []},
            "reasons": list(result.reasons),
            "error": result.message,
            "requeue": result.requeue,
        }
    return {
        "use_container": result.use_container,
        "image": result.image,
        "argv": list(result.argv),
        "env": {"set": dict(result.env_set), "unset": list(result.env_unset)},
        "reasons": list(result.reasons),
        "error": None,
    }


def _table(data: Dict[str, Any]) -> str:
    lines: List[str] = []
    if data["error"] is not None:
        lines.append("refusal:       {}".format(data["error"]))
        lines.append("requeue:       {}".format("yes" if data.get("requeue") else "no (the job fails)"))
    else:
        lines.append("container:     {}".format("yes" if data["use_container"] else "no"))
        lines.append("image:         {}".format(data["image"] or "-"))
        lines.append("argv:")
        lines.extend("  {!r}".format(arg) for arg in data["argv"])
        lines.append("env set:")
        lines.extend("  {}={}".format(name, value) for name, value in data["env"]["set"].items())
        lines.append("env unset:     {}".format(" ".join(data["env"]["unset"]) or "-"))
    lines.append("reasons:")
    lines.extend("  - {}".format(reason) for reason in data["reasons"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the plan; 0 for a plan, 1 for a refusal (with candidates: 0 when one matches with a plan)."""
    if args.submit or args.machine_ads or args.config:
        if not (args.machine_ad or args.machine_ads or args.config):
            print(
                "ERROR: --submit needs candidates: --machine-ads, --config or --machine-ad", file=sys.stderr
            )
            return 2
        from . import _explain_candidates

        return _explain_candidates.run(args)
    if not args.machine_ad:
        print("ERROR: --job-ad needs --machine-ad (or candidates: --machine-ads, --config)", file=sys.stderr)
        return 2
    job_ad = load_ad(args.job_ad, "job ad")
    machine_ad = load_ad(args.machine_ad, "machine ad")
    environ = dict(os.environ)
    config_path = args.glidein_config or os.path.join(os.getcwd(), "glidein_config")
    if not args.glidein_config and not os.path.isfile(config_path):
        config_path = ""
    config = read_glidein_config(config_path) if config_path else {}
    sandbox = args.sandbox or environ.get("_CONDOR_SCRATCH_DIR") or os.getcwd()
    argv = list(args.job_argv) or [os.path.join(sandbox, "job")]
    inputs = for_explain(
        job_ad,
        machine_ad,
        config,
        config_path or None,
        environ,
        sandbox,
        argv,
        make_probe(),
        args.reveal_sandbox,
    )
    result = inputs.plan()
    data = plan_to_dict(result)
    if args.format == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(_table(data))
    sys.stdout.flush()
    return 1 if isinstance(result, Refusal) else 0
