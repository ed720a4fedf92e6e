"""The glidein startup script: negotiate, find and validate the runtime, advertise (entry point).

Glidein mode (GlideinWMS custom-script protocol)::

    gs-setup <glidein_config> <entry_id>

reads glidein_config, publishes its attributes with glidein_config lines and condor vars lines,
writes the ``error_gen`` result ``otrb_output.xml`` in the current directory and exits 0 (OK) or 1
(ERROR). Launched by ``gs-setup`` (which sets ``GS_SCRIPTS_DIR`` to its own directory), it also links
the job wrapper's ``gs_job_wrapper.py`` and the package into the glidein work dir, where GlideinWMS's
``condor_job_wrapper.sh`` looks for them. Nothing is written outside the glidein directory.

Standalone mode (a plain HTCondor execution point)::

    gs-setup --standalone --config-out /etc/condor/config.d/50-glidein-singularity-node.config \\
        [--settings FILE] [--set KEY=VALUE]... [--work-dir DIR]

takes the same attributes from a ``KEY=VALUE`` settings file and ``--set`` options (the latter win;
``GLIDEIN_Singularity_Use`` defaults to PREFERRED here) and writes a config.d file setting the
attributes as macros appended to ``STARTD_ATTRS``.

Exit status: 0 success (including NEVER and DISABLE, and in glidein mode a PREFERRED fallback, which
GlideinWMS counts as a working glidein); 1 the setup failed (invalid configuration, or containers
REQUIRED and unusable); 2 usage error; 3 standalone only: the file was written but containers are off
(a PREFERRED fallback). The last line says whether containers are on or off, and why.
"""

import argparse
import compileall
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .. import attributes, policy
from ..adverts import ImageStatus, container_adverts, servable_os, source_adverts
from ..bundle import ADMIN_SIDE
from ..errors import ConfigError, GlideinSingularityError, ImageError, RuntimeProbeError
from ..glidein_config import (
    CONDOR_VARS_FILE_KEY,
    CondorVar,
    add_condor_vars_lines,
    add_config_lines,
    read_glidein_config,
    write_result_error,
    write_result_ok,
)
from ..grammar import ENV_POLICY_WORDS, FALSE_WORDS, TRUE_WORDS, env_policy
from ..images import (
    ImagesDict,
    check_restrictions,
    cvmfs_translate,
    image_syntax_problem,
    is_remote_image,
    local_image_path,
    merge_legacy,
    parse_images_dict,
    parse_os_list,
    parse_restrictions,
    select_image,
)
from ..launch_options import split_options
from ..policy import Outcome, negotiate
from ..runtime import RuntimeInfo, find_runtime, settings_from
from ..sources import SETTINGS as SOURCE_SETTINGS
from ..sources import SourcePolicy
from .starter_launch import MODE_ATTR, SWITCH, starter_knobs

__all__ = [
    "EXIT_CONTAINERS_OFF",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "SCRIPT_ID",
    "ImageStatus",
    "SetupResult",
    "check_images",
    "format_config_d",
    "glidein_condor_config",
    "htcondor_knobs",
    "install_glidein_condor_config",
    "install_wrapper_code",
    "main",
    "publish_glidein",
    "recover_factory_values",
    "run_setup",
    "source_adverts",
    "verdict",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: Standalone only: the node settings were written, but containers are off (a PREFERRED fallback). A
#: glidein exits 0 then, as GlideinWMS expects of a glidein that runs jobs without containers; an EP
#: admin who ran the setup to turn containers on must not read that as success.
EXIT_CONTAINERS_OFF = 3
#: The id in the error_gen result (GlideinWMS's own script uses ``singularity_setup.sh``).
SCRIPT_ID = "gs-setup"
#: Standalone default for an unset GLIDEIN_Singularity_Use (an EP admin running this wants containers).
STANDALONE_USE_DEFAULT = "PREFERRED"
#: Names HTCondor skips in LOCAL_CONFIG_DIR (LOCAL_CONFIG_DIR_EXCLUDE_REGEXP default).
_SKIPPED_SUFFIXES = (".pl", ".py", ".sh", ".rpmsave", ".rpmnew", ".dpkg-old", ".dpkg-dist", ".cfsaved", "~")


class SetupResult(NamedTuple):
    """Everything the setup decided: what to advertise, the error_gen result and the exit status."""

    exit_code: int
    #: The negotiation outcome (``Outcome.FAIL`` for invalid configuration).
    outcome: Outcome
    #: ``OK`` or ``ERROR`` (error_gen status).
    status: str = "OK"
    #: error_gen failure type ("" when OK).
    fail_type: str = ""
    #: The reason for an ERROR, or the fallback reason for PREFERRED ("" otherwise).
    detail: str = ""
    #: error_gen metrics, e.g. ``use_singularity``.
    metrics: Tuple[Tuple[str, str], ...] = ()
    #: (attribute, value) pairs to publish, in order; registry entries give their type and places.
    adverts: Tuple[Tuple[str, str], ...] = ()
    #: Progress and warning lines for the glidein log.
    notes: Tuple[str, ...] = ()
    runtime: Optional[RuntimeInfo] = None


def _failure(
    outcome: Outcome,
    fail_type: str,
    detail: str,
    notes: Sequence[str],
    metrics: Tuple[Tuple[str, str], ...] = (),
) -> SetupResult:
    return SetupResult(EXIT_FAILURE, outcome, "ERROR", fail_type, detail, metrics, notes=tuple(notes))


def _ok(
    outcome: Outcome,
    use: str,
    notes: Sequence[str],
    adverts: Tuple[Tuple[str, str], ...] = (),
    detail: str = "",
    runtime: Optional[RuntimeInfo] = None,
    extra_metrics: Tuple[Tuple[str, str], ...] = (),
) -> SetupResult:
    metrics = (("use_singularity", use), *extra_metrics)
    return SetupResult(EXIT_OK, outcome, "OK", "", detail, metrics, adverts, tuple(notes), runtime)


# --- images --------------------------------------------------------------------------------------------


def _resolve_cvmfs(path: str, cvmfs_mount_dir: str) -> str:
    """CVMFS-translate ``path``; a symlink pointing into /cvmfs is translated too (GWMS one level)."""
    translated = cvmfs_translate(path, cvmfs_mount_dir)
    if translated != path and os.path.islink(translated):
        target = os.readlink(translated)
        if target.startswith("/cvmfs"):
            return cvmfs_translate(target, cvmfs_mount_dir)
    return translated


def _image_status(
    key: str,
    image: str,
    restrictions: FrozenSet[str],
    cvmfs_mount_dir: str,
    sources: Optional[SourcePolicy] = None,
) -> ImageStatus:
    where = 'SINGULARITY_IMAGES_DICT key "{}": '.format(key) if key else ""
    problem = image_syntax_problem(image) or check_restrictions(image, restrictions, cvmfs_mount_dir)
    if not problem and sources is not None:
        problem = sources.problem(image)
    if problem:
        return ImageStatus(key, image, image, where + problem)
    if is_remote_image(image):
        return ImageStatus(key, image, image, "")
    local = local_image_path(image)
    host = _resolve_cvmfs(local, cvmfs_mount_dir)
    if not os.path.exists(host):
        checked = " (checked {})".format(host) if host != local else ""
        return ImageStatus(
            key, image, host, '{}image "{}" does not exist on this node{}'.format(where, image, checked)
        )
    problem = sources.problem(image, os.path.realpath(host), cvmfs_mount_dir) if sources is not None else None
    return ImageStatus(key, image, host, where + problem if problem else "")


def check_images(
    images: ImagesDict,
    restrictions: FrozenSet[str],
    cvmfs_mount_dir: str,
    sources: Optional[SourcePolicy] = None,
) -> List[ImageStatus]:
    """Check every non-empty dictionary entry: restrictions, image-source policy, the node's files."""
    return [
        _image_status(key, image, restrictions, cvmfs_mount_dir, sources)
        for key, image in images.items()
        if image
    ]


def _bool_setting(config: Mapping[str, str], key: str, default: bool) -> bool:
    text = (config.get(key) or "").strip().lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    msg = "{}={!r} is not valid; expected true or false".format(key, config.get(key))
    raise ConfigError(msg)


def _env_or_config(config: Mapping[str, str], environ: Mapping[str, str], key: str) -> str:
    return (environ.get(key) or "").strip() or (config.get(key) or "").strip()


# --- the decision ------------------------------------------------------------------------------------------


class _Unusable(Exception):
    """Containers cannot be used on this node (message says why and what was tried)."""


def _validation_image(
    config: Mapping[str, str],
    environ: Mapping[str, str],
    images: ImagesDict,
    statuses: Sequence[ImageStatus],
    entry_os: Sequence[str],
    image_required: bool,
    cvmfs_mount_dir: str,
    notes: List[str],
) -> str:
    """Return the host path (or opted-in URI) of the image for the validation run; raise _Unusable."""
    allow_remote = _bool_setting(config, "GS_ALLOW_REMOTE_TEST_IMAGE", False)
    by_key = {s.key: s for s in statuses}
    default_problem = ""
    try:
        choice = select_image(images, entry_os, ("any",))
        status = by_key[str(choice.key)]
        default_problem = status.problem
        if not default_problem and (allow_remote or not is_remote_image(status.host_ref)):
            notes.append('default image "{}" (key {})'.format(status.image, status.key))
            return status.host_ref
    except ImageError as exc:
        default_problem = "no default image: {}".format(exc)
    if default_problem:
        if image_required:
            raise _Unusable(default_problem + " (SINGULARITY_IMAGE_REQUIRED is true)")
        notes.append("warning: {}; SINGULARITY_IMAGE_REQUIRED is false, going on".format(default_problem))
    for status in statuses:
        if not status.problem and not is_remote_image(status.host_ref):
            notes.append('validating with image "{}" (key {})'.format(status.image, status.key))
            return status.host_ref
    test_image = _env_or_config(config, environ, "APPTAINER_TEST_IMAGE")
    if not test_image:
        msg = (
            "no image to validate the runtime with: SINGULARITY_IMAGES_DICT has no usable local image and "
            "APPTAINER_TEST_IMAGE is not set"
        )
        raise _Unusable(msg)
    if is_remote_image(test_image):
        if not allow_remote:
            msg = (
                'APPTAINER_TEST_IMAGE "{}" is remote and pulling is off; set GS_ALLOW_REMOTE_TEST_IMAGE=True '
                "or use a local image".format(test_image)
            )
            raise _Unusable(msg)
        notes.append('validating with remote test image "{}"'.format(test_image))
        return test_image
    status = _image_status("", test_image, frozenset(), cvmfs_mount_dir)  # the test image is not restricted
    if status.problem:
        raise _Unusable("APPTAINER_TEST_IMAGE: " + status.problem)
    notes.append('validating with test image "{}"'.format(test_image))
    return status.host_ref


def _success_adverts(
    config: Mapping[str, str], outcome: Outcome, info: RuntimeInfo, images_text: str, os_list: str
) -> List[Tuple[str, str]]:
    return container_adverts(
        outcome.value,
        info.path,
        info.version,
        info.full_version,
        info.mode,
        info.pid_namespaces,
        images_text,
        os_list,
        config.get("GLIDEIN_PROVIDES") or "",
        config.get("GS_ALLOW_SANDBOX_IMAGES") or "",
    )


def run_setup(config: Mapping[str, str], environ: Mapping[str, str], work_dir: str) -> SetupResult:
    """Decide and validate; return what to publish. Runs the validation container, writes nothing else."""
    notes: List[str] = []
    negotiation = negotiate(config.get(policy.USE_ATTR), config.get(policy.REQUIRE_ATTR))
    notes.append("negotiation: {} ({})".format(negotiation.outcome.value, negotiation.reason))
    outcome = negotiation.outcome
    if outcome is Outcome.FAIL:
        culprit = policy.USE_ATTR
        if negotiation.use in policy.USE_VALUES and negotiation.require not in policy.REQUIRE_VALUES:
            culprit = policy.REQUIRE_ATTR
        return _failure(outcome, "VO_Config", negotiation.reason, notes, metrics=(("attribute", culprit),))
    if outcome is Outcome.DISABLE:
        return _ok(outcome, "Undefined", notes)
    if outcome is Outcome.NEVER:
        return _ok(
            outcome,
            "False",
            notes,
            adverts=(("HAS_SINGULARITY", "False"), ("GWMS_SINGULARITY_STATUS", "NEVER")),
        )

    try:
        cvmfs_mount_dir = _env_or_config(config, environ, "CVMFS_MOUNT_DIR")
        restrictions = parse_restrictions(config.get("SINGULARITY_IMAGE_RESTRICTIONS"))
        image_required = _bool_setting(config, "SINGULARITY_IMAGE_REQUIRED", False)
        images = merge_legacy(
            parse_images_dict(config.get("SINGULARITY_IMAGES_DICT")),
            config.get("SINGULARITY_IMAGE_DEFAULT"),
            config.get("SINGULARITY_IMAGE_DEFAULT6"),
            config.get("SINGULARITY_IMAGE_DEFAULT7"),
        )
        entry_os = parse_os_list(config.get("GLIDEIN_REQUIRED_OS"))
        settings = settings_from(config, environ)
        split_options(settings.launch.opts)  # a job launch would fail on it: a configuration error
        htcondor_launch = _bool_setting(config, SWITCH, False)
    except ConfigError as exc:
        return _failure(Outcome.FAIL, "VO_Config", str(exc), notes)
    env_metrics = _check_env_policy(config, environ, notes)

    sources = SourcePolicy.from_settings({name: config.get(name) or "" for name in SOURCE_SETTINGS})
    statuses = check_images(images, restrictions, cvmfs_mount_dir, sources if sources.active else None)
    for status in statuses:
        if status.problem:
            notes.append("warning: " + status.problem)
    os_list = servable_os(statuses, entry_os)
    try:
        image = _validation_image(
            config, environ, images, statuses, entry_os, image_required, cvmfs_mount_dir, notes
        )
        info = find_runtime(settings, image, work_dir, environ)
    except ConfigError as exc:
        return _failure(Outcome.FAIL, "VO_Config", str(exc), notes)
    except (_Unusable, RuntimeProbeError) as exc:
        return _cannot_use(outcome, negotiation.reason, str(exc), notes)
    notes.extend(info.trail)
    notes.append(
        "using {} {} ({}, PID namespaces {})".format(
            info.path, info.version, info.mode, "on" if info.pid_namespaces else "off"
        )
    )
    adverts = _success_adverts(config, outcome, info, images.format() if len(images) else "", os_list)
    adverts += source_adverts(sources)
    if htcondor_launch:
        notes.append("{}: the starter launches the containers from the plan".format(SWITCH))
        adverts.append((MODE_ATTR, "True"))
    return _ok(outcome, "True", notes, adverts=tuple(adverts), runtime=info, extra_metrics=env_metrics)


def _check_env_policy(
    config: Mapping[str, str], environ: Mapping[str, str], notes: List[str]
) -> Tuple[Tuple[str, str], ...]:
    """Warn once, here, about GLIDEIN_CONTAINER_ENV words the job wrapper will ignore at every job."""
    unknown = env_policy(_env_or_config(config, environ, "GLIDEIN_CONTAINER_ENV"))[1]
    if not unknown:
        return ()
    notes.append(
        "warning: GLIDEIN_CONTAINER_ENV: unknown {} ignored by the job wrapper (expected a comma list of "
        "{}); fix the factory or frontend attribute".format(
            ", ".join(repr(word) for word in unknown), ", ".join(ENV_POLICY_WORDS)
        )
    )
    return (("container_env_ignored", ",".join(unknown)),)


def _cannot_use(outcome: Outcome, reason: str, problem: str, notes: List[str]) -> SetupResult:
    if outcome is Outcome.REQUIRED:
        detail = "{}, but cannot be used on this node: {}".format(reason, problem)
        return _failure(outcome, "WN_Resource", detail, notes)
    detail = "containers are preferred but cannot be used on this node, jobs run without: {}".format(problem)
    notes.append("warning: " + detail)
    adverts = (("HAS_SINGULARITY", "False"), ("GWMS_SINGULARITY_STATUS", "PREFERRED"))
    return _ok(outcome, "False", notes, adverts=adverts, detail=detail)


# --- publishing ------------------------------------------------------------------------------------------


def _condor_var(name: str) -> CondorVar:
    attribute = attributes.get(name)
    if "job_env" in attribute.advertised:  # GlideinWMS advertise(): required, startd and job env
        return CondorVar(name, attribute.type, "-", "+", "Y", "Y", "+")
    return CondorVar(name, attribute.type, "-", "+", "N", "Y", "-")


def publish_glidein(result: SetupResult, glidein_config: str, config: Mapping[str, str]) -> None:
    """Write the adverts to glidein_config and the condor vars file (named in glidein_config)."""
    if not result.adverts:
        return
    variables = [_condor_var(name) for name, _ in result.adverts]
    vars_file = (config.get(CONDOR_VARS_FILE_KEY) or "").strip()
    if not vars_file:
        msg = "glidein_config {} has no {}: cannot publish {} to the startd".format(
            glidein_config, CONDOR_VARS_FILE_KEY, ", ".join(name for name, _ in result.adverts)
        )
        raise ConfigError(msg)
    knobs = htcondor_knobs(result)
    # HTCondor configuration only (type C: written unquoted, never advertised)
    variables += [CondorVar(name, "C", "-", "+", "N", "N", "-") for name, _ in knobs]
    add_config_lines(glidein_config, [*result.adverts, *knobs])
    add_condor_vars_lines(vars_file, variables)


def htcondor_knobs(result: SetupResult) -> List[Tuple[str, str]]:
    """The starter's SINGULARITY_* configuration when the setup turned HTCondor launch mode on."""
    if result.runtime is None or dict(result.adverts).get(MODE_ATTR) != "True":
        return []
    return starter_knobs(result.runtime.path, result.runtime.pid_namespaces)


def _config_value(name: str, value: str) -> str:
    """An HTCondor config right-hand side: strings quoted ClassAd-style, ``$`` kept literal."""
    if attributes.get(name).type in ("C", "I"):
        return value
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return quoted.replace("$", "$(DOLLAR)")


def format_config_d(adverts: Sequence[Tuple[str, str]], header: str) -> str:
    """Return a config.d file setting each advert as a macro and appending them to STARTD_ATTRS."""
    lines = ["# " + line for line in header.splitlines()]
    for name, value in adverts:
        lines.append("{} = {}".format(name, _config_value(name, value)))
    if adverts:
        lines.append("STARTD_ATTRS = $(STARTD_ATTRS) " + " ".join(name for name, _ in adverts))
    return "".join(line + "\n" for line in lines)


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".gs-setup-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


#: The job wrapper's python entry, which GlideinWMS's condor_job_wrapper.sh (gs-job-wrapper) expects
#: next to itself, i.e. in the glidein work dir.
WRAPPER_ENTRY = "gs_job_wrapper.py"
#: The health probe's and the prepare-job hook's launchers, linked next to glidein_config when shipped
#: with gs-setup (each finds the startup script's results there).
HEALTH_ENTRY = "gs-health"
HOOK_ENTRY = "gs-prepare-job"


def _package_location() -> str:
    """The sys.path entry this package was imported from: a bundle (.zip) or a directory."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.dirname(package_dir)


def _link(target: str, link: str) -> bool:
    """Point ``link`` at ``target`` (atomically replacing an old link); False if already the same file."""
    if os.path.lexists(link) and os.path.exists(link) and os.path.samefile(target, link):
        return False
    tmp = "{}.gs-tmp-{}".format(link, os.getpid())
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        os.unlink(tmp)
        raise
    return True


#: Interpreters the job wrapper's launcher (gs-job-wrapper) tries, in its order.
WRAPPER_PYTHONS = ("/usr/libexec/platform-python", "/usr/bin/python3", "/usr/local/bin/python3")


def _copy_package(package_location: str, staging: str) -> None:
    """Copy the worker-node package (from a bundle or a directory) to ``staging``."""
    if os.path.isfile(package_location):  # a bundle: extract its package
        with zipfile.ZipFile(package_location) as bundle:
            for name in bundle.namelist():
                if not name.startswith("glidein_singularity/") or name.endswith("/") or ".." in name:
                    continue
                path = os.path.join(staging, *name.split("/")[1:])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with bundle.open(name) as source, open(path, "wb") as handle:
                    shutil.copyfileobj(source, handle)
        return
    shutil.copytree(
        os.path.join(package_location, "glidein_singularity"),
        staging,
        ignore=shutil.ignore_patterns("__pycache__", *ADMIN_SIDE),
    )


def _byte_compile(directory: str) -> List[str]:
    """Byte-compile the copy for this python and for the one the job wrapper will use; return notes.

    The job wrapper imports the package on every job launch; without cached bytecode each launch would
    compile it again (about 17 ms). The pilot can write here, the job user may not.
    """
    compileall.compile_dir(directory, quiet=1, workers=1)
    notes = ["byte-compiled {} for {}".format(directory, sys.executable)]
    for python in WRAPPER_PYTHONS:
        if not os.access(python, os.X_OK):
            continue
        if os.path.realpath(python) != os.path.realpath(sys.executable):
            run = subprocess.run(
                [python, "-I", "-m", "compileall", "-q", directory],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
                check=False,
            )
            if run.returncode == 0:
                notes.append("byte-compiled {} for {}".format(directory, python))
        break
    return notes


def install_wrapper_code(work_dir: str, scripts_dir: str, package_location: str) -> List[str]:
    """Install the job wrapper's entry, the package and the health probe (when shipped) in the glidein
    work dir; return what was done.

    GlideinWMS puts the frontend's files in a sub-directory (``client/``...), but concatenates the
    ``gs-job-wrapper`` snippet into ``condor_job_wrapper.sh`` in the work dir, which looks for
    ``gs_job_wrapper.py`` (and that one for the package) next to itself. The entry and the probe are
    linked; the package (from the bundle or a directory) is copied to ``lib/glidein_singularity`` and
    byte-compiled, so job launches import cached bytecode. Only ``work_dir`` is written. Raises OSError
    or ConfigError naming what is missing.
    """
    entry = os.path.join(scripts_dir, WRAPPER_ENTRY)
    if not os.path.isfile(entry):
        msg = "{} not found (ship it next to gs-setup)".format(entry)
        raise ConfigError(msg)
    done = []
    if _link(os.path.abspath(entry), os.path.join(work_dir, WRAPPER_ENTRY)):
        done.append("linked {} -> {}".format(os.path.join(work_dir, WRAPPER_ENTRY), entry))
    lib = os.path.join(work_dir, "lib")
    os.makedirs(lib, exist_ok=True)
    target = os.path.join(lib, "glidein_singularity")
    staging = "{}.gs-tmp-{}".format(target, os.getpid())
    shutil.rmtree(staging, ignore_errors=True)
    _copy_package(package_location, staging)
    done.extend(note.replace(staging, target) for note in _byte_compile(staging))
    if os.path.islink(target) or os.path.isfile(target):
        os.unlink(target)
    elif os.path.isdir(target):
        shutil.rmtree(target)
    os.rename(staging, target)
    done.append("copied {} to {}".format(package_location, target))
    for name in (HEALTH_ENTRY, HOOK_ENTRY):
        launcher = os.path.join(scripts_dir, name)
        if os.path.isfile(launcher) and not os.access(launcher, os.X_OK):
            # GlideinWMS downloads a regular file without the executable bit; HTCondor runs this one.
            os.chmod(launcher, os.stat(launcher).st_mode | 0o555)
            done.append("made {} executable".format(launcher))
        if os.path.isfile(launcher) and _link(os.path.abspath(launcher), os.path.join(work_dir, name)):
            # next to glidein_config, where each looks for the startup script's results
            done.append("linked {} -> {}".format(os.path.join(work_dir, name), launcher))
    return done


# --- coexistence with GlideinWMS's own startup scripts ------------------------------------------------

#: glidein_config keys naming the factory's constants files, the entry's first. GlideinWMS's
#: cat_consts.sh merges them into glidein_config before any script runs; a later script may overwrite the
#: merged copy, the files keep what the factory set.
FACTORY_CONSTS_KEYS = ("ENTRY_CONSTS_FILE", "CONSTS_FILE")
#: Factory attributes GlideinWMS's singularity_setup.sh (which runs before gs-setup) overwrites in
#: glidein_config: it advertises ``GLIDEIN_REQUIRED_OS any`` whatever the entry set.
RECOVERED_FACTORY_ATTRS = ("GLIDEIN_REQUIRED_OS",)


def _consts_value(path: str, key: str) -> Optional[str]:
    """The value of ``key`` in a GlideinWMS constants file (``KEY<TAB>value`` lines), or None."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        name, _, value = line.partition("\t")
        if name.rstrip() == key:
            found = value.rstrip()
    return found


def recover_factory_values(config: Mapping[str, str], work_dir: str) -> Tuple[Dict[str, str], List[str]]:
    """Return ``config`` with the factory's own values of ``RECOVERED_FACTORY_ATTRS``, and notes.

    The value comes from the entry's constants file, else the factory-wide one, as named in
    glidein_config (relative names are relative to the glidein work dir); without such files (or
    without the key in them) glidein_config's value stands.
    """
    recovered = dict(config)
    notes = []
    for key in RECOVERED_FACTORY_ATTRS:
        for consts_key in FACTORY_CONSTS_KEYS:
            name = (config.get(consts_key) or "").strip()
            if not name:
                continue
            value = _consts_value(os.path.join(work_dir, name), key)
            if value is None:
                continue
            current = config.get(key)
            if value != current:
                notes.append(
                    '{} is "{}" as the factory set it ({} {}), not "{}" as found in glidein_config '
                    "(GlideinWMS's singularity_setup.sh writes any)".format(
                        key, value, consts_key, name, current
                    )
                )
                recovered[key] = value
            break
    return recovered, notes


#: The glidein's HTCondor reads every file of ``<work dir>/condor_config.d`` (GlideinWMS's
#: condor_config: ``LOCAL_CONFIG_DIR = $(WORK_DIR)/condor_config.d``) after the main configuration,
#: condor_startup.sh's START included: ours is written there.
GLIDEIN_CONFIG_DIR = "condor_config.d"
GLIDEIN_CONFIG_FILE = "60-glidein-singularity.config"
#: Our snippets installed into a glidein: the wrapper's (the prepare-job hook and the attributes it
#: publishes), the START term and the health probe.
GLIDEIN_SNIPPETS = (
    "50-glidein-singularity-wrapper.config",
    "60-glidein-singularity-start.config",
    "70-glidein-singularity-health.config",
)
#: In a glidein, USER_JOB_WRAPPER stays GlideinWMS's: condor_startup.sh concatenates the wrapper files
#: (ours: gs-job-wrapper) into this file in the work dir and sets the same line before our file.
GLIDEIN_JOB_WRAPPER = "USER_JOB_WRAPPER = $(LOCAL_DIR)/condor_job_wrapper.sh"
#: The job wrapper's failure counter in a glidein (relative to the work dir), read by the health probe.
GLIDEIN_FAILURE_MARKER = "gs-failures"


def _find_snippet(scripts_dir: str, name: str) -> str:
    """A shipped snippet: next to gs-setup, or in a source checkout's condor_config.d/."""
    for directory in (scripts_dir, os.path.join(os.path.dirname(scripts_dir), "condor_config.d")):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    msg = "{} not found next to gs-setup in {} (ship it: glidein-singularity bundle --ship DIR)".format(
        name, scripts_dir
    )
    raise ConfigError(msg)


def _config_path(path: str) -> str:
    """A path as an HTCondor config value (``$`` kept literal); refuses what a config line cannot hold."""
    if any(c in path for c in "\n\r\\") or path != path.strip():
        msg = "path {!r} cannot be written into the glidein's HTCondor configuration".format(path)
        raise ConfigError(msg)
    return path.replace("$", "$(DOLLAR)")


def glidein_condor_config(work_dir: str, glidein_config: str, marker: str, snippets: Sequence[str]) -> str:
    """The text of the glidein's config.d file: our locations, our snippets, GlideinWMS's job wrapper."""
    lines = [
        "# Written by gs-setup: glidein-singularity's START term and health probe for this glidein.",
        "# HTCondor reads it after condor_startup.sh's configuration (LOCAL_CONFIG_DIR).",
        "GS_LIBEXEC = " + _config_path(work_dir),
        "GS_GLIDEIN_CONFIG = " + _config_path(glidein_config),
        "GS_FAILURE_MARKER = " + _config_path(marker),
        "",
    ]
    tail = "# GlideinWMS's job wrapper, which runs gs-job-wrapper (50- above names it directly).\n"
    body = "\n".join(text.rstrip("\n") + "\n" for text in snippets)
    return "\n".join(lines) + "\n" + body + "\n" + tail + GLIDEIN_JOB_WRAPPER + "\n"


def install_glidein_condor_config(
    work_dir: str, scripts_dir: str, glidein_config: str, config: Mapping[str, str]
) -> List[str]:
    """Install our hook, START term and health probe into the glidein's HTCondor configuration; return
    notes.

    Writes ``<work dir>/condor_config.d/60-glidein-singularity.config`` and, unless set, the failure
    marker's path (``GS_FAILURE_MARKER``) into glidein_config, where the job wrapper reads it. Without
    that directory (not a GlideinWMS glidein, or one older than 3.9) nothing is written. Raises
    ConfigError naming a snippet that was not shipped, OSError when a file cannot be written.
    """
    directory = os.path.join(work_dir, GLIDEIN_CONFIG_DIR)
    if not os.path.isdir(directory):
        return ["warning: {} does not exist: START term and health probe not installed".format(directory)]
    texts = []
    for name in GLIDEIN_SNIPPETS:
        with open(_find_snippet(scripts_dir, name), encoding="utf-8") as handle:
            texts.append(handle.read())
    marker = (config.get("GS_FAILURE_MARKER") or "").strip()
    if not marker:
        marker = os.path.join(work_dir, GLIDEIN_FAILURE_MARKER)
        add_config_lines(glidein_config, [("GS_FAILURE_MARKER", marker)])
    target = os.path.join(directory, GLIDEIN_CONFIG_FILE)
    _write_atomically(target, glidein_condor_config(work_dir, glidein_config, marker, texts))
    return ["installed the START term and the health probe in {}".format(target)]


# --- command line ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gs-setup",
        description="Glidein startup: negotiate container use, find and validate the runtime, advertise.",
    )
    parser.add_argument("glidein_config", nargs="?", help="glidein mode: path of glidein_config")
    parser.add_argument("entry_id", nargs="?", help="glidein mode: the entry id (unused)")
    parser.add_argument("--standalone", action="store_true", help="plain HTCondor EP: write a config.d file")
    parser.add_argument("--config-out", metavar="FILE", help="standalone: the config.d file to write")
    parser.add_argument("--settings", metavar="FILE", help="standalone: KEY=VALUE settings file")
    parser.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], help="standalone: one setting (repeatable)"
    )
    parser.add_argument(
        "--work-dir", metavar="DIR", help="standalone: scratch directory (default: a temp dir)"
    )
    return parser


def _parse_setting(text: str, where: str) -> Tuple[str, str]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(c.isspace() for c in key):
        msg = "{}: expected KEY=VALUE, got {!r}".format(where, text)
        raise ConfigError(msg)
    return key, value.strip()


def _standalone_config(args: argparse.Namespace) -> Dict[str, str]:
    config: Dict[str, str] = {}
    if args.settings:
        try:
            with open(args.settings, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            msg = "cannot read settings file {}: {}".format(args.settings, exc.strerror or exc)
            raise ConfigError(msg) from exc
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                key, value = _parse_setting(line, "{}:{}".format(args.settings, number))
                config[key] = value
    for item in args.set:
        key, value = _parse_setting(item, "--set")
        config[key] = value
    if not (config.get(policy.USE_ATTR) or "").strip():
        config[policy.USE_ATTR] = STANDALONE_USE_DEFAULT
    return config


def _say(lines: Sequence[str]) -> None:
    for line in lines:
        print("{}: {}".format(SCRIPT_ID, line))


def _glidein_failure(
    detail: str, fail_type: str = "Corruption", metrics: Optional[Dict[str, str]] = None
) -> int:
    """The one way a glidein-mode run fails: the error_gen ERROR result, one ``ERROR:`` line, exit 1."""
    try:
        write_result_error(SCRIPT_ID, fail_type, detail, metrics or {})
    except OSError as exc:
        detail += "; the error_gen result could not be written either: {}".format(exc.strerror or exc)
    print("ERROR: " + detail, file=sys.stderr)
    return EXIT_FAILURE


def _run_glidein(args: argparse.Namespace, started: float) -> int:
    glidein_config = os.path.abspath(args.glidein_config)
    try:
        config = read_glidein_config(glidein_config)
    except ConfigError as exc:
        return _glidein_failure(str(exc))
    work_dir = os.path.dirname(glidein_config)
    scripts_dir = os.environ.get("GS_SCRIPTS_DIR", "")
    if scripts_dir:
        try:
            _say(install_wrapper_code(work_dir, scripts_dir, _package_location()))
        except (OSError, ConfigError) as exc:
            return _glidein_failure("cannot install the job wrapper in {}: {}".format(work_dir, exc))
    config, recovered = recover_factory_values(config, work_dir)
    _say(recovered)
    if scripts_dir:
        try:
            _say(install_glidein_condor_config(work_dir, scripts_dir, glidein_config, config))
        except (OSError, ConfigError) as exc:
            detail = "cannot install the START term and health probe in {}: {}".format(work_dir, exc)
            return _glidein_failure(detail)
    result = run_setup(config, os.environ, work_dir)
    if recovered and result.adverts:
        restored = tuple((key, config[key]) for key in RECOVERED_FACTORY_ATTRS if config.get(key))
        result = result._replace(adverts=result.adverts + restored)
    _say(result.notes)
    try:
        publish_glidein(result, glidein_config, config)
    except ConfigError as exc:
        return _glidein_failure(str(exc))
    except OSError as exc:
        where = " " + exc.filename if isinstance(exc.filename, str) else ""
        return _glidein_failure("cannot publish the results{}: {}".format(where, exc.strerror or exc))
    metrics = dict(result.metrics)
    if result.status != "OK":
        code = _glidein_failure(result.detail, result.fail_type, metrics)
        _report_time(result, started)
        return code
    try:
        write_result_ok(SCRIPT_ID, metrics)
    except OSError as exc:
        print("ERROR: cannot write the error_gen result: {}".format(exc.strerror or exc), file=sys.stderr)
        return EXIT_FAILURE
    _report_time(result, started)
    return result.exit_code


def verdict(result: SetupResult) -> str:
    """One line: are containers on or off on this node, and why."""
    advertised = dict(result.adverts).get("HAS_SINGULARITY")
    negotiation = next(
        (note[len("negotiation: ") :] for note in result.notes if note.startswith("negotiation: ")), ""
    )
    if result.status != "OK":
        return "containers OFF: the setup failed: {}".format(result.detail)
    if advertised == "True" and result.runtime is not None:
        return "containers ON ({}): {} {}, {}".format(
            result.outcome.value, result.runtime.path, result.runtime.version, result.runtime.mode
        )
    if result.outcome is Outcome.DISABLE:
        return "containers not managed by glidein-singularity: {}".format(negotiation)
    if result.outcome is Outcome.NEVER:
        return "containers OFF: {}".format(negotiation)
    return "containers OFF: {}".format(result.detail or negotiation)


def _report_time(result: SetupResult, started: float) -> None:
    total = time.monotonic() - started
    container = result.runtime.validation.seconds if result.runtime else 0.0
    print(
        "{}: {} in {:.3f} s ({:.3f} s in the validation container, {:.3f} s other)".format(
            SCRIPT_ID, result.outcome.value, total, container, total - container
        )
    )
    print("{}: {}".format(SCRIPT_ID, verdict(result)))


def _run_standalone(args: argparse.Namespace, started: float) -> int:
    if not args.config_out:
        print("ERROR: --standalone needs --config-out FILE", file=sys.stderr)
        return EXIT_USAGE
    name = os.path.basename(args.config_out)
    if name.endswith(_SKIPPED_SUFFIXES) or name.startswith((".", "#")):
        msg = "--config-out {}: HTCondor skips such names in LOCAL_CONFIG_DIR; use NN-name.config"
        print("ERROR: " + msg.format(args.config_out), file=sys.stderr)
        return EXIT_USAGE
    try:
        config = _standalone_config(args)
    except ConfigError as exc:
        print("ERROR: {}".format(exc), file=sys.stderr)
        return EXIT_USAGE
    out_dir = os.path.dirname(os.path.abspath(args.config_out))
    if not os.access(out_dir, os.W_OK):
        print(
            "ERROR: cannot write --config-out {}: {} is not writable by this user; run gs-setup as root "
            "(or use glidein-singularity install-ep --setup-user USER), or write it elsewhere".format(
                args.config_out, out_dir
            ),
            file=sys.stderr,
        )
        return EXIT_FAILURE
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="gs-setup-")
    try:
        result = run_setup(config, os.environ, work_dir)
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    _say(result.notes)
    if result.outcome is Outcome.FAIL:
        print("ERROR: {}".format(result.detail), file=sys.stderr)
        print("{}: {}".format(SCRIPT_ID, verdict(result)))
        return EXIT_FAILURE
    adverts = list(result.adverts)
    if result.exit_code != EXIT_OK:  # REQUIRED and unusable: make sure no stale True survives
        adverts = [("HAS_SINGULARITY", "False"), ("GWMS_SINGULARITY_STATUS", result.outcome.value)]
    given = [
        (name, config[name].strip())
        for name in sorted(config)
        if name in attributes.BY_NAME
        and "startd" in attributes.BY_NAME[name].advertised
        and name not in dict(adverts)
        and config[name].strip()
    ]
    header = "Written by gs-setup --standalone at {}; re-run it instead of editing.\n{}".format(
        datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        result.detail or "outcome: " + result.outcome.value,
    )
    try:
        text = format_config_d(given + adverts, header)
        if result.exit_code == EXIT_OK:
            text += "".join("{} = {}\n".format(name, value) for name, value in htcondor_knobs(result))
        _write_atomically(args.config_out, text)
    except OSError as exc:
        print("ERROR: cannot write {}: {}".format(args.config_out, exc.strerror or exc), file=sys.stderr)
        return EXIT_FAILURE
    print("{}: wrote {}".format(SCRIPT_ID, args.config_out))
    if result.exit_code != EXIT_OK:
        print("ERROR: {}".format(result.detail), file=sys.stderr)
    _report_time(result, started)
    off = dict(result.adverts).get("HAS_SINGULARITY") == "False"
    if result.exit_code == EXIT_OK and off and result.outcome is Outcome.PREFERRED:
        return EXIT_CONTAINERS_OFF
    return result.exit_code


def main(argv: Optional[List[str]] = None) -> int:
    """Run the setup; return the exit status (0 ok, 1 failure, 2 usage)."""
    started = time.monotonic()
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    if args.standalone:
        if args.glidein_config:
            print("ERROR: --standalone takes no glidein_config argument", file=sys.stderr)
            return EXIT_USAGE
        return _run_standalone(args, started)
    if not args.glidein_config:
        parser.print_usage(sys.stderr)
        print("ERROR: give <glidein_config> <entry_id>, or --standalone --config-out FILE", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run_glidein(args, started)
    except GlideinSingularityError as exc:  # any error still gets its error_gen result
        return _glidein_failure(str(exc))
    except OSError as exc:
        where = " " + exc.filename if isinstance(exc.filename, str) else ""
        return _glidein_failure("unexpected I/O error{}: {}".format(where, exc.strerror or exc))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
