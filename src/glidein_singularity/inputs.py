"""The inputs of ``plan()``, built in one place (worker-node adapter, stdlib only).

Every caller of the plan gets its inputs here: the job wrapper and the prepare-job hook from what the
starter gives them (``from_starter``), ``explain`` from ads on disk or from the pool (``for_explain``,
which only replaces the sandbox path and the probe). Both end in ``assemble``, so what ``explain``
shows is what the wrapper does.

What is trusted, and why (the job owner is the attacker):

- the environment: only the variables the starter sets after the job's own (``jobenv.STARTER_OWNED``:
  ``_CONDOR_SCRATCH_DIR``, ``_CONDOR_JOB_AD``, ``_CONDOR_MACHINE_AD``, ``_CONDOR_WRAPPER_ERROR_FILE``,
  ``_CONDOR_AssignedGPUs``, ...). No setting is read from it;
- the machine ad file: the starter writes it before input transfer. On a root-started EP it belongs to
  ``root``/``condor`` and the job cannot change it. In a glidein the starter and the job share one uid,
  and a file named ``.machine.ad`` in ``transfer_input_files`` replaces it: there the node's facts and
  settings come from ``glidein_config`` (found next to our own code, never through the ad), and the
  assigned GPUs from the starter's ``_CONDOR_AssignedGPUs``;
- ``glidein_config``: ``GS_GLIDEIN_CONFIG_FILE`` of a trusted machine ad, else the file next to the
  wrapper's own code.
"""

import os

from ._record import Record
from .classad import Ad, format_literal, parse_ad
from .jobenv import read_job_environment
from .plan import PathInfo, Paths
from .settings import SETTING_NAMES, NodeSettings

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

    from .plan import LaunchPlan, Refusal

__all__ = [
    "GLIDEIN_CONFIG_ATTR",
    "NODE_FACTS",
    "PlanInputs",
    "ad_file_trusted",
    "assemble",
    "for_explain",
    "from_starter",
    "glidein_config_path",
    "make_probe",
    "read_glidein_config",
    "wrapper_ad",
]

#: The machine ad attribute (published by our wrapper config) naming the glidein_config file.
GLIDEIN_CONFIG_ATTR = "GS_GLIDEIN_CONFIG_FILE"
#: Machine ad attributes the plan reads as the node's facts (besides the settings).
NODE_FACTS = (
    "HAS_SINGULARITY",
    "SINGULARITY_PATH",
    "GWMS_SINGULARITY_STATUS",
    "GS_PID_NAMESPACES",
    "GS_OVERLAY",
    "GS_USE_HTCONDOR",
    "AssignedGPUs",
)


class PlanInputs(Record):
    """Everything ``plan()`` takes, plus what the wrapper needs around it."""

    __slots__ = _fields = ("job_ad", "machine_ad", "settings", "environ", "argv", "paths", "notes")
    job_ad: Ad
    machine_ad: Ad
    settings: NodeSettings
    environ: "Dict[str, str]"
    argv: "Tuple[str, ...]"
    paths: Paths
    notes: "Tuple[str, ...]"

    def __init__(
        self,
        job_ad: Ad,
        machine_ad: Ad,
        settings: NodeSettings,
        environ: "Dict[str, str]",
        argv: "Sequence[str]",
        paths: Paths,
        notes: "Sequence[str]" = (),
    ) -> None:
        Record.__init__(self, job_ad, machine_ad, settings, environ, tuple(argv), paths, tuple(notes))

    def plan(self) -> "Union[LaunchPlan, Refusal]":
        """``plan()`` of these inputs (a ``LaunchPlan`` or a ``Refusal``)."""
        from .plan import plan

        return plan(self.job_ad, self.machine_ad, self.settings, self.environ, self.argv, self.paths)


def wrapper_ad(text: str) -> Ad:
    """An ad as the job wrapper reads it: its python runs with ``-S``, so the ClassAd bindings are never
    importable there and non-literal values stay unevaluated. ``explain`` plans on ads read this way."""
    return parse_ad(text)


def make_probe() -> "Callable[[str], PathInfo]":
    """The host-path probe of the wrapper: ``os``-based, memoised for one plan."""
    cache: Dict[str, PathInfo] = {}

    def probe(path: str) -> PathInfo:
        info = cache.get(path)
        if info is None:
            try:
                is_dir = os.path.isdir(path)
                exists = is_dir or os.path.exists(path)
                is_link = os.path.islink(path)
                real = os.path.realpath(path)
            except (OSError, ValueError):  # ValueError: NUL in the path
                exists = is_dir = is_link = False
                real = path
            info = PathInfo(exists, is_dir, real, is_link)
            cache[path] = info
        return info

    return probe


def read_glidein_config(path: str) -> "Dict[str, str]":
    """``KEY value`` lines, the last one wins (``glidein_config.parse_glidein_config``, without its
    imports: the wrapper starts fast); {} when the file cannot be read."""
    values: Dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key:
            values[key] = value
    return values


def ad_file_trusted(path: str) -> bool:
    """Whether the job could not have written the ad file: owned by another user, not group/other
    writable (written by a root-started starter). False in a glidein, where everything is one uid."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return info.st_uid != os.geteuid() and not info.st_mode & 0o022


def glidein_config_path(machine_ad: Ad, trusted: bool, here: "Optional[str]") -> "Optional[str]":
    if trusted:
        named = machine_ad.get(GLIDEIN_CONFIG_ATTR)
        if isinstance(named, str) and named.startswith("/"):
            return named
    if here:
        path = os.path.join(here, "glidein_config")
        if os.path.isfile(path):
            return path
    return None


def node_ad(machine_ad: Ad, glidein_config: "Mapping[str, str]", assigned_gpus: "Optional[str]") -> Ad:
    """The machine ad with the node's facts and settings from glidein_config (an untrusted ad file).

    Every name in ``NODE_FACTS`` and ``settings.SETTING_NAMES`` is dropped from the file's ad and taken from
    ``glidein_config`` when it is there; ``AssignedGPUs`` comes from the starter's environment.
    """
    replaced = {name.lower() for name in NODE_FACTS + SETTING_NAMES}
    raw = {name: machine_ad.raw(name) or "" for name in machine_ad if name.lower() not in replaced}
    for name in NODE_FACTS + SETTING_NAMES:
        if name in glidein_config:
            raw[name] = format_literal(glidein_config[name].replace("\x00", ""))
    if assigned_gpus:
        raw["AssignedGPUs"] = format_literal(assigned_gpus.replace("\x00", ""))
    return Ad(raw, machine_ad.warnings)


def assemble(
    job_ad: Ad,
    machine_ad: Ad,
    trusted: bool,
    environ: "Mapping[str, str]",
    argv: "Sequence[str]",
    cwd: "Optional[str]",
    probe: "Callable[[str], PathInfo]",
    path: "Optional[str]",
    config: "Mapping[str, str]",
    reveal: str = "",
) -> PlanInputs:
    """Build the plan's inputs from the ads, the starter's environment and glidein_config (``path``, read
    as ``config``; its directory is the glidein's, which no bind may hold)."""
    notes: List[str] = []
    if not trusted:
        if config:
            machine_ad = node_ad(machine_ad, config, environ.get("_CONDOR_AssignedGPUs"))
            notes.append(
                "the machine ad file is writable by the job's user: the node's facts come from {}".format(
                    path
                )
            )
        else:
            notes.append(
                "the machine ad file is writable by the job's user and no glidein_config was found: the "
                "node cannot keep its settings from the job (a single-user pool)"
            )
    settings = NodeSettings.from_sources(machine_ad, config)
    scratch = environ.get("_CONDOR_SCRATCH_DIR") or None
    protected: List[str] = []
    if path:
        glidein_dir = probe(os.path.dirname(os.path.abspath(path))).realpath
        if glidein_dir and glidein_dir != "/":
            protected.append(glidein_dir)
    paths = Paths(
        cwd,
        scratch,
        environ.get("_CONDOR_JOB_IWD"),
        environ.get("_CONDOR_WRAPPER_ERROR_FILE") or None,
        probe,
        reveal,
        tuple(protected),
    )
    settings = settings._replace(reasons=(*notes, *settings.reasons))
    return PlanInputs(job_ad, machine_ad, settings, dict(environ), argv, paths, notes)


def from_starter(
    environ: "Mapping[str, str]",
    argv: "Sequence[str]",
    here: "Optional[str]",
    reveal: str = "",
    probe: "Optional[Callable[[str], PathInfo]]" = None,
    cwd: "Optional[str]" = None,
    bindings: bool = True,
    job_ad: "Optional[Ad]" = None,
) -> PlanInputs:
    """The inputs of the job the starter is launching (the wrapper, the prepare-job hook), started in
    ``cwd`` (default: the current directory). ``bindings=False`` leaves non-literal values unevaluated
    even where the ClassAd bindings are importable (as the wrapper under ``python -S`` sees them).
    ``job_ad``: the job ad when the caller has it already (the hook reads the starter's copy on stdin),
    else ``_CONDOR_JOB_AD`` is read.

    Raises AdError when an ad file cannot be read, KeyError naming a missing ``_CONDOR_*`` variable.
    """
    from .ads import load_ad

    for name in ("_CONDOR_JOB_AD", "_CONDOR_MACHINE_AD"):
        if not environ.get(name) and (job_ad is None or name == "_CONDOR_MACHINE_AD"):
            raise KeyError(name + " is not set: cannot read the ads")
    if job_ad is None:
        job_ad = load_ad(environ["_CONDOR_JOB_AD"], "job ad", bindings)
    machine_path = environ["_CONDOR_MACHINE_AD"]
    machine_ad = load_ad(machine_path, "machine ad", bindings)
    if cwd is None:
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = None
    trusted = ad_file_trusted(machine_path)
    path = glidein_config_path(machine_ad, trusted, here)
    config = read_glidein_config(path) if path else {}
    return assemble(
        job_ad, machine_ad, trusted, environ, argv, cwd, probe or make_probe(), path, config, reveal
    )


def starter_environment(
    job_ad: Ad, inherited: "Mapping[str, str]", sandbox: str, error_file: "Optional[str]"
) -> "Dict[str, str]":
    """The environment a 23.9 starter gives the wrapper: ``inherited`` (the starter's own), then the
    job's variables, then the starter's (scratch directory, temporary directories, ad files, error
    file)."""
    environ = dict(inherited)
    reading = read_job_environment(job_ad)
    environ.update(reading.expanded(sandbox))
    for name in (
        "TMPDIR",
        "TMP",
        "TEMP",
        "_CONDOR_SCRATCH_DIR",
        "APPTAINER_CACHEDIR",
        "SINGULARITY_CACHEDIR",
    ):
        environ[name] = sandbox
    environ["_CONDOR_JOB_IWD"] = sandbox
    environ["_CONDOR_JOB_AD"] = sandbox.rstrip("/") + "/.job.ad"
    environ["_CONDOR_MACHINE_AD"] = sandbox.rstrip("/") + "/.machine.ad"
    if error_file:
        environ["_CONDOR_WRAPPER_ERROR_FILE"] = error_file
    return environ


def for_explain(
    job_ad: Ad,
    machine_ad: Ad,
    glidein_config: "Mapping[str, str]",
    glidein_config_path: "Optional[str]",
    inherited: "Mapping[str, str]",
    sandbox: str,
    argv: "Sequence[str]",
    probe: "Callable[[str], PathInfo]",
    reveal: str = "",
) -> PlanInputs:
    """The inputs ``explain`` plans with: the wrapper's, for a job in ``sandbox`` (the ads as given)."""
    error_file = sandbox.rstrip("/") + "/.job_wrapper_failure"
    environ = starter_environment(job_ad, inherited, sandbox, error_file)
    return assemble(
        job_ad, machine_ad, True, environ, argv, sandbox, probe, glidein_config_path, glidein_config, reveal
    )
