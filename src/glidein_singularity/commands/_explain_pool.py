"""``explain`` against the live pool: the job from the schedd, the candidate slots from the collector.

Uses HTCondor's ``htcondor2`` bindings, with the HTCondor configuration of the machine it runs on
(``CONDOR_CONFIG``), like ``condor_q`` and ``condor_status``: ``--pool`` names another collector and
``--schedd`` another schedd, as their ``-pool`` and ``-name`` do.
"""

import re

from ..errors import GlideinSingularityError
from ..matching import Candidate

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, List, Optional, Tuple

__all__ = ["JOB_ID", "parse_job_id", "query_jobs", "query_slots"]

#: ``CLUSTER`` or ``CLUSTER.PROC``, as condor_q takes them.
JOB_ID = re.compile(r"^(\d+)(?:\.(\d+))?$")


def parse_job_id(text: str) -> "Tuple[int, Optional[int]]":
    """(cluster, proc or None); GlideinSingularityError for anything else."""
    found = JOB_ID.match(text)
    if not found:
        msg = "{!r} is not a job id: give CLUSTER or CLUSTER.PROC (as condor_q shows them)".format(text)
        raise GlideinSingularityError(msg)
    return int(found.group(1)), int(found.group(2)) if found.group(2) is not None else None


def _bindings() -> "Any":
    try:
        import htcondor2
    except ImportError:
        msg = "reading the pool needs HTCondor's python bindings (htcondor2: pip install htcondor)"
        raise GlideinSingularityError(msg) from None
    return htcondor2


def _schedd(module: "Any", name: "Optional[str]", pool: "Optional[str]") -> "Any":
    if not name:
        return module.Schedd()
    location = module.Collector(pool).locate(module.DaemonType.Schedd, name)
    return module.Schedd(location)


def query_jobs(job_id: str, schedd: "Optional[str]" = None, pool: "Optional[str]" = None) -> "List[str]":
    """The old-ClassAd texts of the queued jobs ``job_id`` names (every proc of a cluster)."""
    cluster, proc = parse_job_id(job_id)
    module = _bindings()
    constraint = "ClusterId == {}".format(cluster)
    if proc is not None:
        constraint += " && ProcId == {}".format(proc)
    try:
        ads = _schedd(module, schedd, pool).query(constraint=constraint)
    except Exception as exc:  # the bindings raise HTCondorException and friends
        msg = "cannot query the schedd{} for job {}: {}".format(" " + schedd if schedd else "", job_id, exc)
        raise GlideinSingularityError(msg) from exc
    if not ads:
        msg = "job {} is not in the queue of the schedd{} (condor_q {} shows nothing)".format(
            job_id, " " + schedd if schedd else "", job_id
        )
        raise GlideinSingularityError(msg)
    ads = sorted(ads, key=lambda ad: int(ad.get("ProcId", 0)))
    return [str(ad.printOld()) for ad in ads]


def query_slots(pool: "Optional[str]" = None, constraint: "Optional[str]" = None) -> "List[Candidate]":
    """Every slot ad the collector has (``condor_status -l``), as candidates."""
    module = _bindings()
    try:
        ads = module.Collector(pool).query(module.AdType.Startd, constraint=constraint or "true")
    except Exception as exc:
        msg = "cannot query the collector{}: {}".format(" " + pool if pool else "", exc)
        raise GlideinSingularityError(msg) from exc
    if not ads:
        msg = "the collector{} has no slot ads{}".format(
            " " + pool if pool else "", " matching " + constraint if constraint else ""
        )
        raise GlideinSingularityError(msg)
    candidates = []
    for number, ad in enumerate(ads, 1):
        name = ad.get("Name")
        shown = name if isinstance(name, str) and name else "slot ad {}".format(number)
        candidates.append(Candidate(shown, str(ad.printOld()), "ads"))
    return sorted(candidates, key=lambda candidate: candidate.name)
