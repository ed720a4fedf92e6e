"""Show what the job wrapper would do for a job on a slot (the same plan function the wrapper runs).

Reads a job ad and a machine ad (``condor_q -l`` / ``condor_status -l`` text, or the starter's
``.job.ad``/``.machine.ad``), optionally a ``glidein_config``, and prints the plan as a table or as JSON
with the keys ``use_container``, ``image``, ``argv``, ``env`` (``set``/``unset``), ``reasons``,
``error`` and ``launch`` (``mode``: ``wrapper`` or ``htcondor``; in HTCondor mode also ``hook_sets``, the
attributes the prepare-job hook gives the starter, and ``starter_argv``, the command the starter
runs). Host paths (images, bind sources) are probed on the machine where it runs. The environment is
what the starter would give: the current one, then the job's own ``Environment`` (the job's
values win, as in the starter), then the starter's own variables for the sandbox.

The job: ``JOB_ID`` (``CLUSTER`` or ``CLUSTER.PROC``, read from the schedd as ``condor_q -l`` would),
``--job-ad FILE`` (``-`` reads standard input, so ``condor_q -l 123 | glidein-singularity explain
--job-ad -`` works) or ``--submit FILE`` (a condor_submit file, read with the htcondor2 bindings when
they are importable). Every job of a cluster, of ``condor_q -l`` text or of the queue statement is
explained, or the one ``--proc`` names. An ad that does not parse, or a slot ad given as the job (or the
reverse), is an error that says so.

The candidates: ``--machine-ads FILE`` (``condor_status -l`` ads separated by blank lines, or
``condor_status -json``) and/or ``--config YAML`` (every frontend group x factory entry, as the glidein
would advertise itself); without any, the slots of the pool's collector (``--pool``, ``--constraint``).
For each candidate it says whether the job matches (our START term, the slot's own START, the job's
requirements, with HTCondor's ClassAd library), why not in words, and for a match the plan. JSON: a list
of ``job``, ``glidein``, ``matched``, ``why_not`` (sentences), ``plan`` (the object above, or null) and
``notes``.

Exit status: 0 for a plan, 1 for a refusal or an ad that is not what it was given as; with candidates
(or the pool's slots), 0 when every job explained matches at least one glidein with a plan, 1 when one
does not; 2 for a usage error.
"""

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Union

from ..ads import check_ad, read_ad_text, split_ads
from ..classad import Ad, parse_ad
from ..errors import AdError
from ..inputs import for_explain, make_probe, read_glidein_config, wrapper_ad
from ..node import starter_launch
from ..plan import LaunchPlan, Refusal
from ..settings import literal_text
from ._explain_pool import JOB_ID

__all__ = ["FORMATS", "SANDBOX", "add_arguments", "launch_to_dict", "plan_to_dict", "run"]

#: The job directory shown when neither --sandbox nor _CONDOR_SCRATCH_DIR gives one.
SANDBOX = "/var/lib/condor/execute/dir_1"
#: The output formats (``table`` is the old name of ``text``).
FORMATS = ("text", "json", "table")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sub-command's options."""
    parser.add_argument(
        "job_id",
        nargs="?",
        metavar="JOB_ID",
        help="CLUSTER or CLUSTER.PROC: the queued job, read from the schedd (every proc of a cluster)",
    )
    job = parser.add_mutually_exclusive_group()
    job.add_argument(
        "--job-ad",
        metavar="FILE",
        help="the job ad (.job.ad, or condor_q -l: several ads separated by blank lines); - reads stdin",
    )
    job.add_argument("--submit", metavar="FILE", help="the condor_submit file (every job it queues)")
    parser.add_argument("--proc", metavar="N", type=int, help="explain only job N of the queue (its ProcId)")
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
        "--pool",
        metavar="HOST",
        help="the collector to read the candidate slots from when no candidates are given (default: this "
        "machine's HTCondor configuration), as condor_status -pool",
    )
    parser.add_argument(
        "--constraint",
        metavar="EXPR",
        help="only the pool's slots for which EXPR is true, as condor_status -constraint",
    )
    parser.add_argument("--schedd", metavar="NAME", help="the schedd that holds JOB_ID, as condor_q -name")
    parser.add_argument(
        "--start-config",
        metavar="FILE",
        help="the START term's configuration (default: the package's 60-glidein-singularity-start.config)",
    )
    parser.add_argument("--glidein-config", metavar="FILE", help="the glidein's glidein_config")
    parser.add_argument(
        "--sandbox",
        metavar="DIR",
        help="the job directory (default: _CONDOR_SCRATCH_DIR when set, else {}, said in a note)".format(
            SANDBOX
        ),
    )
    parser.add_argument(
        "--reveal-sandbox",
        metavar="MODE",
        default="",
        help="the job directory's mode (e.g. 0700) when the starter runs as another user than the job, as on "
        "a root-started EP; the wrapper detects this itself",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text; table = text)"
    )
    parser.add_argument(
        "job_argv", nargs="*", metavar="JOB_ARGV", help="the job command, after -- (default: the job's own)"
    )


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
    data = {
        "use_container": result.use_container,
        "image": result.image,
        "argv": list(result.argv),
        "env": {"set": dict(result.env_set), "unset": list(result.env_unset)},
        "reasons": list(result.reasons),
        "error": None,
    }
    if result.fetch is not None:  # the image comes from the glidein's image store
        data["fetch"] = {
            "ref": result.fetch.ref,
            "canonical": result.fetch.canonical,
            "into": result.fetch.image,
        }
    return data


def launch_to_dict(
    machine_ad: Ad, result: Union[LaunchPlan, Refusal], argc: int, sandbox: str
) -> Dict[str, Any]:
    """Who launches the container (``mode``: wrapper or htcondor) and, in HTCondor mode, what the
    prepare-job hook tells the starter and the command the 23.9 starter then runs (``starter_argv``, as
    the job wrapper execs it: with our launcher after the image, and the plan's working directory)."""
    if not starter_launch.htcondor_mode(machine_ad):
        return {"mode": "wrapper"}
    data: Dict[str, Any] = {"mode": "htcondor", "hook_sets": {}, "starter_argv": []}
    if isinstance(result, LaunchPlan) and result.use_container:
        request = starter_launch.starter_request(result, argc)
        data["hook_sets"] = dict(starter_launch.request_attributes(request))
        gpus = literal_text(machine_ad.get("AssignedGPUs")) or ""
        starter = starter_launch.starter_command(
            result.argv[0],
            sandbox,
            request,
            result.argv[len(result.argv) - argc :],
            pid_namespaces=machine_ad.get("GS_PID_NAMESPACES", True) is not False,
            gpus=bool(gpus),
            opencl=os.path.isdir(starter_launch.OPENCL_VENDORS),  # as the node running explain has it
            iwd=request.pwd if request.pwd not in (None, "/srv") else None,
        )
        # what the wrapper execs: the starter's command with our launcher and the plan's --pwd
        data["starter_argv"] = starter_launch.native_argv(starter, result.argv[0], request, sandbox)
    return data


def _table(data: Dict[str, Any]) -> str:
    lines: List[str] = []
    launch = data.get("launch", {"mode": "wrapper"})
    if launch["mode"] == "htcondor":
        lines.append("launch:        HTCondor mode (the starter launches the container from this plan)")
    else:
        lines.append("launch:        wrapper mode (the job wrapper launches the container)")
    if data["error"] is not None:
        lines.append("refusal:       {}".format(data["error"]))
        lines.append("requeue:       {}".format("yes" if data.get("requeue") else "no (the job fails)"))
    else:
        lines.append("container:     {}".format("yes" if data["use_container"] else "no"))
        lines.append("image:         {}".format(data["image"] or "-"))
        if data.get("fetch"):
            lines.append("image store:   {} (fetched once per glidein)".format(data["fetch"]["ref"]))
        lines.append("argv:")
        lines.extend("  {!r}".format(arg) for arg in data["argv"])
        lines.append("env set:")
        lines.extend("  {}={}".format(name, value) for name, value in data["env"]["set"].items())
        lines.append("env unset:     {}".format(" ".join(data["env"]["unset"]) or "-"))
    if launch.get("starter_argv"):
        lines.append("hook sets:")
        lines.extend("  {} = {!r}".format(name, value) for name, value in launch["hook_sets"].items())
        lines.append("starter runs (HTCondor 23.9's order):")
        lines.extend("  {!r}".format(arg) for arg in launch["starter_argv"])
    lines.append("reasons:")
    lines.extend("  - {}".format(reason) for reason in data["reasons"])
    return "\n".join(lines)


def _usage(message: str) -> int:
    print("ERROR: " + message, file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Print the plan; 0 for a plan, 1 for a refusal (with candidates: 0 when one matches with a plan)."""
    if args.job_ad or args.submit:
        if args.job_id is not None:  # after --, argparse gives the first word of the command to JOB_ID
            args.job_argv = [args.job_id, *args.job_argv]
            args.job_id = None
    elif args.job_id is None:
        return _usage("give the job: JOB_ID (read from the schedd), --job-ad FILE or --submit FILE")
    elif not JOB_ID.match(args.job_id):
        return _usage("{!r} is not a job id: give CLUSTER or CLUSTER.PROC".format(args.job_id))
    job_texts: List[str] = []
    if args.job_ad:
        job_texts = split_ads(read_ad_text(args.job_ad, "job ad"))
        if not job_texts:
            msg = "the job ad {} is empty".format(args.job_ad)
            raise AdError(msg)
        for text in job_texts:
            check_ad(parse_ad(text), "job", args.job_ad)
    if args.machine_ad:
        for text in split_ads(read_ad_text(args.machine_ad, "machine ad")) or [""]:
            check_ad(parse_ad(text), "machine", args.machine_ad)
    single = len(job_texts) == 1 and args.machine_ad and not (args.machine_ads or args.config)
    if not single:
        from . import _explain_candidates

        return _explain_candidates.run(args, job_texts)
    job_ad = wrapper_ad(job_texts[0])
    machine_ad = wrapper_ad(read_ad_text(args.machine_ad, "machine ad"))
    environ = dict(os.environ)
    config_path = args.glidein_config or os.path.join(os.getcwd(), "glidein_config")
    if not args.glidein_config and not os.path.isfile(config_path):
        config_path = ""
    config = read_glidein_config(config_path) if config_path else {}
    sandbox = args.sandbox or environ.get("_CONDOR_SCRATCH_DIR")
    if not sandbox:
        sandbox = SANDBOX
        print(
            "note: the job directory is shown as {} (give --sandbox to change it)".format(SANDBOX),
            file=sys.stderr,
        )
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
    data["launch"] = launch_to_dict(inputs.machine_ad, result, len(argv), sandbox)
    if args.format == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(_table(data))
    sys.stdout.flush()
    return 1 if isinstance(result, Refusal) else 0
