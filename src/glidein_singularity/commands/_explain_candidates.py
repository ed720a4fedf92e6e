"""``explain`` with a submit file and/or several candidate glideins (the helper behind ``explain``).

For each candidate (``--machine-ad``, ``--machine-ads``, ``--config``) it matches the job
(``--submit`` or ``--job-ad``) with ``matching.match`` and, for a match, runs ``plan`` - the function the
wrapper runs - on the two ads. Host paths are probed here; a path that does not exist here (the
site's images and bind sources) is assumed to exist on the glidein, and the job directory is
``SANDBOX`` unless ``--sandbox`` names one. The environment is the one the starter gives the wrapper:
the job's own ``environment`` and ``_CONDOR_SCRATCH_DIR``.

JSON: a list of ``{"glidein", "matched", "why_not", "plan", "notes"}``: ``why_not`` is a list of
sentences (empty for a match), ``plan`` the object of ``explain --job-ad/--machine-ad`` (``null`` when
the job does not match) and ``notes`` what was assumed or not checked. The notes about the job itself go
to stderr. Exit status 0 when every job explained has at least one glidein that matches with a plan
(not a refusal), else 1.
"""

import argparse
import json
import os
import sys

from ..ads import check_ad, read_ad_text, split_ads
from ..classad import Ad, parse_ad
from ..errors import ConfigError, GlideinSingularityError
from ..images import is_cvmfs_path, local_image_path, parse_images_dict
from ..inputs import for_explain, make_probe, read_glidein_config, wrapper_ad
from ..matching import (
    Candidate,
    classad_module,
    load_start_terms,
    match,
    parse_machine_ads,
)
from ..plan import PathInfo
from ..settings import NodeSettings
from ..submit import GPU_CLAUSE, SubmitJob, job_argv, load_submit_jobs
from .explain import SANDBOX, _table, plan_to_dict

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, Iterable, List, Tuple

__all__ = ["SANDBOX", "assumed_probe", "explain_candidates", "run"]


def assumed_probe(
    local: "Callable[[str], PathInfo]", sandbox: str, assumed: "Iterable[str]", cvmfs_mount_dir: str
) -> "Callable[[str], PathInfo]":
    """The wrapper's probe, where a path that does not exist here but that the glidein has is assumed.

    Assumed to exist (as a file): the job directory and what is under it, CVMFS paths, and ``assumed``
    (the images and the admins' bind sources). Anything else, e.g. the wrapper's default binds, is
    shown as it is on this machine.
    """
    known = frozenset(assumed)

    def probe(path: str) -> PathInfo:
        info = local(path)
        if info.exists:
            return info
        if path in known or path == sandbox or path.startswith(sandbox.rstrip("/") + "/"):
            return PathInfo(True, False, path, False)
        if is_cvmfs_path(path, cvmfs_mount_dir or None):
            return PathInfo(True, False, path, False)
        return info

    return probe


def _site_paths(settings: NodeSettings, job_ad: Ad) -> "List[str]":
    """The images and bind sources the glidein's admins (and the job) name: they exist at the site."""
    paths = [
        item.split(":")[0].strip()
        for item in (settings.bindpath + "," + settings.bindpath_default).split(",")
    ]
    try:
        paths.extend(image for _, image in parse_images_dict(settings.images_dict).items())
    except ConfigError:
        pass  # plan reports the bad dictionary itself
    job_image = job_ad.get("SingularityImage")
    if isinstance(job_image, str):
        paths.append(job_image)
    return [local_image_path(path) for path in paths if path]


def _job_from_text(text: str, where: str) -> SubmitJob:
    ad = parse_ad(text)
    attributes = [(name, ad.raw(name) or "") for name in ad]
    requirements = [ad.raw("Requirements") or ""] if "Requirements" in ad else []
    return SubmitJob(attributes, requirements, (), where)


def _job_label(job: SubmitJob, index: int) -> str:
    """The job's id as condor_q shows it when the ad has one, else its place in the queue statement."""
    cluster, proc = job.get("ClusterId"), job.get("ProcId")
    if cluster is not None and proc is not None:
        return "{}.{}".format(cluster.strip(), proc.strip())
    return "job {}".format(index)


def _gpu_ad_text(job: SubmitJob, candidate: Candidate, module: "Any") -> "Tuple[str, List[str]]":
    """A config candidate with GPUs assigns the job's GPUs (assumed NVIDIA) in the slot it gives it."""
    if candidate.source != "config":
        return candidate.text, []
    requested = module.ExprTree(job.get("RequestGPUs") or "0").eval(module.parseOne(job.ad_text()))
    gpus = module.parseOne(candidate.text).get("GPUs")
    if not isinstance(requested, int) or requested <= 0 or not isinstance(gpus, int) or gpus < requested:
        return candidate.text, []
    ids = ",".join("CUDA{}".format(number) for number in range(requested))
    note = "assumed: the entry's GPUs are NVIDIA GPUs; the job's slot is assigned {}".format(ids)
    return candidate.text + 'AssignedGPUs = "{}"\n'.format(ids), [note]


def explain_candidates(
    job: SubmitJob,
    candidates: "List[Candidate]",
    start: "Tuple[str, Dict[str, str]]",
    module: "Any",
    sandbox: str,
    argv: "List[str]",
    glidein_config: "Dict[str, str]",
    reveal_sandbox: str = "",
) -> "List[Dict[str, Any]]":
    """Match and plan every candidate; return the JSON-shaped results (see the module docstring)."""
    job_ad = wrapper_ad(job.ad_text())
    local = make_probe()
    results = []
    for candidate in candidates:
        result = match(job.ad_text(), job.requirements, candidate, start, module)
        notes = [*candidate.notes, *result.notes]
        if candidate.source == "config" and any(GPU_CLAUSE in reason for reason in result.why_not):
            notes.append(
                "an entry declares its GPUs in extra_attrs, as GlideinWMS does: "
                "GLIDEIN_Resource_Slots: GPUs,N"
            )
        data = None
        if result.matched:
            text, gpu_notes = _gpu_ad_text(job, candidate, module)
            notes.extend(gpu_notes)
            machine_ad: Ad = wrapper_ad(text)
            settings = NodeSettings.from_sources(machine_ad, glidein_config)
            assumed = _site_paths(settings, job_ad)
            probe = assumed_probe(local, sandbox, assumed, settings.cvmfs_mount_dir)
            inputs = for_explain(
                job_ad, machine_ad, glidein_config, None, {}, sandbox, argv, probe, reveal_sandbox
            )
            data = plan_to_dict(inputs.plan())
        results.append(
            {
                "glidein": candidate.name,
                "matched": result.matched,
                "why_not": list(result.why_not),
                "plan": data,
                "notes": notes,
            }
        )
    return results


def _table_text(results: "List[Dict[str, Any]]", job_notes: "List[str]") -> str:
    planned = [r["glidein"] for r in results if r["plan"] is not None and r["plan"]["error"] is None]
    lines = [
        "{} of {} glideins would run the job: {}".format(
            len(planned), len(results), ", ".join(planned) or "none"
        )
    ]
    lines.extend("note: {}".format(note) for note in job_notes)
    for item in results:
        lines.append("")
        if not item["matched"]:
            lines.append("== {}: does not match".format(item["glidein"]))
            lines.extend("  why not: {}".format(reason) for reason in item["why_not"])
        else:
            verdict = "matches, refused by the wrapper" if item["plan"]["error"] else "matches"
            lines.append("== {}: {}".format(item["glidein"], verdict))
            lines.extend("  " + line for line in _table(item["plan"]).splitlines())
        lines.extend("  note: {}".format(note) for note in item["notes"])
    return "\n".join(lines)


def _jobs(args: argparse.Namespace, job_texts: "List[str]") -> "List[Tuple[str, SubmitJob]]":
    """(label, job) of every job to explain."""
    if args.submit:
        jobs = load_submit_jobs(args.submit)
    elif job_texts:
        jobs = [_job_from_text(text, "job ad") for text in job_texts]
    else:
        from ._explain_pool import query_jobs

        jobs = [_job_from_text(text, "schedd") for text in query_jobs(args.job_id, args.schedd, args.pool)]
    labelled = [(_job_label(job, index), job) for index, job in enumerate(jobs)]
    if args.proc is None:
        return labelled
    chosen = [item for index, item in enumerate(labelled) if _proc(item[1], index) == args.proc]
    if not chosen:
        msg = "--proc {}: the {} job(s) have ProcId {}".format(
            args.proc, len(jobs), ", ".join(str(_proc(job, index)) for index, job in enumerate(jobs))
        )
        raise GlideinSingularityError(msg)
    return chosen


def _proc(job: SubmitJob, index: int) -> int:
    raw = job.get("ProcId")
    return int(raw) if raw is not None and raw.strip().isdigit() else index


def _candidates(args: argparse.Namespace, module: "Any") -> "Tuple[List[Candidate], List[str]]":
    candidates: List[Candidate] = []
    notes: List[str] = []
    if args.machine_ad:
        candidates.extend(
            parse_machine_ads(read_ad_text(args.machine_ad, "machine ad"), args.machine_ad, module)
        )
    if args.machine_ads:
        text = read_ad_text(args.machine_ads, "machine ads")
        if not text.lstrip().startswith(("[", "{")):  # condor_status -l text: each ad checked
            for block in split_ads(text):
                check_ad(parse_ad(block), "machine", args.machine_ads)
        candidates.extend(parse_machine_ads(text, args.machine_ads, module))
    if args.config:
        from ..frontend.candidates import candidates as config_candidates
        from ..frontend.config import load_config_file

        candidates.extend(config_candidates(load_config_file(args.config)))
    if not candidates:
        from ._explain_pool import query_slots

        candidates = query_slots(args.pool, args.constraint)
        notes.append("candidates: the {} slot(s) of the pool's collector".format(len(candidates)))
    return candidates, notes


def run(args: argparse.Namespace, job_texts: "List[str]") -> int:
    """The ``explain`` run for submitted/queued jobs and several candidates; see the module docstring."""
    module = classad_module()
    start = load_start_terms(args.start_config)
    sandbox = args.sandbox or SANDBOX
    jobs = _jobs(args, job_texts)
    common_notes: List[str] = []
    if not args.sandbox:
        common_notes.append("the job directory is shown as {} (give --sandbox to change it)".format(SANDBOX))
    common_notes.append(
        "paths that do not exist here are assumed to exist on the glidein when they are images, CVMFS paths "
        "or the admins' bind sources; the wrapper's default binds are shown as they exist here"
    )
    candidates, candidate_notes = _candidates(args, module)
    common_notes.extend(candidate_notes)
    config = read_glidein_config(args.glidein_config) if args.glidein_config else {}
    all_results: List[Dict[str, Any]] = []
    texts = []
    for label, job in jobs:
        argv = list(args.job_argv)
        if not argv:
            argv = job_argv(job, sandbox) if job.get("Cmd") else [os.path.join(sandbox, "job")]
        results = explain_candidates(
            job, candidates, start, module, sandbox, argv, config, args.reveal_sandbox
        )
        for item in results:
            item["job"] = label
        all_results.extend(results)
        notes = [*job.notes, *common_notes]
        text = _table_text(results, notes)
        texts.append(text if len(jobs) == 1 else "=== {}: {}".format(label, text))
    if args.format == "json":
        for note in [note for _, job in jobs for note in job.notes] + common_notes:
            print("note: {}".format(note), file=sys.stderr)
        print(json.dumps(all_results, indent=2, sort_keys=True))
    else:
        print("\n\n".join(texts))
    sys.stdout.flush()
    by_job: Dict[str, bool] = {}
    for item in all_results:
        ok = item["plan"] is not None and item["plan"]["error"] is None
        by_job[item["job"]] = by_job.get(item["job"], False) or ok
    return 0 if by_job and all(by_job.values()) else 1
