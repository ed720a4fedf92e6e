"""The starter's prepare-job hook: hold jobs that ask for what this node cannot give, and keep the job's
loader and shell start-up variables away from our own programs (entry point, stdlib only).

Configured by ``condor_config.d/50-glidein-singularity-wrapper.config``
(``STARTER_JOB_HOOK_KEYWORD = GS``, ``GS_HOOK_PREPARE_JOB``). HTCondor 23.9's starter runs it after
input transfer, before the job wrapper, as the job's user, in the sandbox, with the starter's own
environment (never the job's) and its copy of the job ad on stdin. What it prints updates that copy,
from which the starter then builds the job's environment. (Seen in the bed: ``.job.ad`` keeps the ad
as it was before the hook; the update does not reach the schedd.)

It does three things, all from the same inputs and the same ``plan()`` the wrapper uses:

1. The job's variables for which ``launch_env.host_unsafe`` holds (``LD_PRELOAD``, ``LD_LIBRARY_PATH``,
   ``BASH_ENV``, ``BASH_FUNC_*``...: they act on the dynamic loader or a shell before the wrapper's first
   line) are moved out of ``Environment``: the starter starts the wrapper without them, and the wrapper
   passes the job's values, read from ``.job.ad``, into the container. So a ``getenv = true`` job with
   ``LD_LIBRARY_PATH`` set runs, and gets its ``LD_LIBRARY_PATH`` inside.
2. A refusal the job caused (its own image missing or forbidden, an environment HTCondor and we cannot
   read alike, a shared-file-system job where none is allowed...) holds the job at once:
   ``HookStatusCode = 190`` with the plan's message (HTCondor's hold code 19, subcode 190). A node
   problem is left to the wrapper, which requeues the job and counts it against the node.
3. In HTCondor launch mode (``GS_USE_HTCONDOR`` in the node's facts) it publishes the plan's image and
   options for the starter's ``SINGULARITY_*`` expressions (``starter_launch``); for a job whose plan runs
   no container (or is refused) it sets both to undefined, so the starter starts it as is whatever the
   job put under those names. ``WantSIF``/``WantSandboxImage``/``WantDockerImage``, which alone make the
   starter launch a container, are false for every job.

Our own failure (an exception here) never holds a job: it reports ``HookStatusCode = 300`` (the job goes
back to Idle) after ``FAILURE_SLEEP`` seconds (less when glidein_config's ``GS_WRAPPER_FAILURE_SLEEP``
is shorter), so a broken node does not spin.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Sequence, Tuple, Union

    from ..classad import Ad
    from ..plan import LaunchPlan, Refusal

__all__ = ["FAILURE_SLEEP", "HOLD_STATUS", "REQUEUE_STATUS", "decide", "main"]

#: HookStatusCode that holds the job (1-299 hold; the code is the hold subcode).
HOLD_STATUS = 190
#: HookStatusCode that sends the job back to Idle (>= 300).
REQUEUE_STATUS = 300
#: Seconds to wait before reporting our own failure (the starter would rematch the job at once).
FAILURE_SLEEP = 10


def _job_argv(job_ad: "Ad") -> "List[str]":
    cmd = job_ad.get("Cmd")
    return [cmd] if isinstance(cmd, str) and cmd else ["job"]


def decide(job_text: str, environ: "Dict[str, str]", here: str) -> "List[Tuple[str, object]]":
    """The hook's output lines (attribute, value) for the job ad text on stdin."""
    from ..classad import parse_ad
    from ..inputs import from_starter
    from ..jobenv import format_v2, read_job_environment, starter_owned
    from ..launch_env import host_unsafe
    from ..plan import LaunchPlan

    # Read as the job wrapper reads .job.ad (it runs under -S, without the ClassAd bindings): a value
    # that is an expression stays one, so the hook and the wrapper make the same plan.
    job_ad = parse_ad(job_text, None)
    reading = read_job_environment(job_ad)
    updates: List[Tuple[str, object]] = []
    job_values: Dict[str, Optional[str]] = dict(reading.values)
    if reading.problem is None:
        moved = sorted(name for name in job_values if host_unsafe(name))
        if moved:
            kept = [(name, value) for name, value in job_values.items() if not host_unsafe(name)]
            environment = format_v2(kept)
            if "\n" in environment or "\r" in environment:
                # The starter reads the hook's lines one by one: a line break cannot be handed back.
                message = (
                    "glidein-singularity: the job's environment sets {} and a value with a line break; the "
                    "prepare-job hook must move the first out of the environment and cannot hand the second "
                    "back to the starter: remove the line break".format(", ".join(moved))
                )
                return [("HookStatusCode", HOLD_STATUS), ("HookStatusMessage", message)]
            updates.append(("Environment", environment))
            updates.append(("GS_MovedJobEnvironment", " ".join(moved)))
            job_values = dict(kept)
    # The environment the starter will give the wrapper: its own, the job's variables, then its own
    # per-job ones again (they win over the job's).
    starter_env = dict(environ)
    for name, value in job_values.items():
        if value is not None:
            starter_env[name] = value
    for name, value in environ.items():
        if starter_owned(name):
            starter_env[name] = value
    # The hook runs in the sandbox; the job will start in the starter's IWD (its own directory with
    # should_transfer_files = NO), which the starter publishes as _CONDOR_JOB_IWD.
    inputs = from_starter(
        starter_env, _job_argv(job_ad), here, cwd=environ.get("_CONDOR_JOB_IWD") or None, job_ad=job_ad
    )
    result = inputs.plan()
    if isinstance(result, LaunchPlan) and result.fetch is not None:
        result = _fetch_image(result)
        if isinstance(result, LaunchPlan):
            # planned again with the image in the store, with fresh file facts, as the wrapper will: the
            # binds depend on what the image holds (seen in HTCondor mode: options planned before the
            # first fetch differed from the wrapper's, and the job was requeued once)
            from ..inputs import make_probe

            result = inputs._replace(paths=inputs.paths._replace(probe=make_probe())).plan()
    if not isinstance(result, LaunchPlan) and result.job_caused:
        return [
            ("HookStatusCode", HOLD_STATUS),
            ("HookStatusMessage", " ".join(("glidein-singularity: " + result.message).split())),
        ]
    from .starter_launch import ARGS_ATTR, IMAGE_ATTR, htcondor_mode, request_attributes, starter_request

    if htcondor_mode(inputs.machine_ad):
        if isinstance(result, LaunchPlan) and result.use_container:
            # the starter launches the container this plan describes
            updates.extend(request_attributes(starter_request(result, len(inputs.argv))))
        else:
            # no container from the starter: whatever the job itself set under these names is undone
            updates.extend(((IMAGE_ATTR, None), (ARGS_ATTR, None)))
    updates.extend(CONTAINER_HIDDEN if wants_container(job_ad) else WANTS_HIDDEN)
    return updates


#: What hides a container-universe job's request from the starter's own launch (its copy of the ad
#: only; ``.job.ad`` keeps ContainerImage, which the wrapper reads): the job wrapper alone launches it,
#: in exactly one container (HTCondor's own launch is off: condor_config.d/55-*).
CONTAINER_HIDDEN = (
    ("WantContainer", False),
    ("ContainerImage", None),
    ("WantSIF", False),
    ("WantSandboxImage", False),
    ("WantDockerImage", False),
)
#: For every other job: the flags that alone make HTCondor's starter launch a container
#: (``Singularity::job_enabled``), whoever set them.
WANTS_HIDDEN = CONTAINER_HIDDEN[2:]


def wants_container(job_ad: "Ad") -> bool:
    from ..classad import UNDEFINED

    image = job_ad.get("ContainerImage")
    return job_ad.get("WantContainer") is True or (image is not None and image is not UNDEFINED)


def _fetch_image(launch: "LaunchPlan") -> "Union[LaunchPlan, Refusal]":
    """Bring the plan's remote image into the glidein's image store now, so that an image that does not
    exist (or is too large) holds the job here; outages and node problems are left to the wrapper, which
    requeues. The wrapper takes its own lease (this process ends before the job starts)."""
    from ..plan import Refusal
    from .imagestore import acquire

    fetch = launch.fetch
    assert fetch is not None
    outcome = acquire(fetch, launch.argv[0])
    if not outcome.ok and outcome.kind == "user":
        return Refusal("image {}: {}".format(fetch.ref, outcome.message), launch.reasons, False, True)
    return launch


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    """Read the job ad on stdin, print the update ad; always exit 0 (the status is in the output)."""
    args = list(sys.argv if argv is None else argv)
    here = os.path.dirname(os.path.abspath(args[0] if args else "."))
    from ..classad import format_old_literal

    try:
        lines = decide(sys.stdin.read(), dict(os.environ), here)
    except Exception as exc:  # our failure: never a hold
        import time

        from ..grammar import seconds
        from ..inputs import read_glidein_config

        text = read_glidein_config(os.path.join(here, "glidein_config")).get("GS_WRAPPER_FAILURE_SLEEP", "")
        time.sleep(seconds(text, FAILURE_SLEEP, FAILURE_SLEEP))
        message = "glidein-singularity prepare-job hook failed: {}: {}".format(type(exc).__name__, exc)
        lines = [("HookStatusCode", REQUEUE_STATUS), ("HookStatusMessage", " ".join(message.split()))]
    for name, value in lines:
        sys.stdout.write("{} = {}\n".format(name, format_old_literal(value)))  # type: ignore[arg-type]
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
