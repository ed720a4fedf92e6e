"""The startup script's decision (worker node): negotiate ``GLIDEIN_Singularity_Use`` x
``GLIDEIN_SINGULARITY_REQUIRE``, check the images, find and validate the runtime, and say what to
advertise (``run_setup`` returns a ``SetupResult``; it runs the validation container and writes nothing).
"""

import os
from typing import FrozenSet, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .. import policy
from ..adverts import ImageStatus, container_adverts, servable_os, source_adverts
from ..errors import ConfigError, ImageError, RuntimeProbeError
from ..grammar import ENV_POLICY_WORDS, bool_setting, env_policy
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
from .sif_support import sif_support
from .starter_launch import MODE_ATTR, SWITCH

__all__ = [
    "EXIT_CONTAINERS_OFF",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "SCRIPT_ID",
    "SetupResult",
    "check_images",
    "run_setup",
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
    allow_remote = bool_setting(config, "GS_ALLOW_REMOTE_TEST_IMAGE", False)
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
    config: Mapping[str, str],
    outcome: Outcome,
    info: RuntimeInfo,
    images_text: str,
    os_list: str,
    sif_usable: bool,
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
        sif_usable,
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
        image_required = bool_setting(config, "SINGULARITY_IMAGE_REQUIRED", False)
        images = merge_legacy(
            parse_images_dict(config.get("SINGULARITY_IMAGES_DICT")),
            config.get("SINGULARITY_IMAGE_DEFAULT"),
            config.get("SINGULARITY_IMAGE_DEFAULT6"),
            config.get("SINGULARITY_IMAGE_DEFAULT7"),
        )
        entry_os = parse_os_list(config.get("GLIDEIN_REQUIRED_OS"))
        settings = settings_from(config, environ)
        split_options(settings.launch.opts)  # a job launch would fail on it: a configuration error
        htcondor_launch = bool_setting(config, SWITCH, False)
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
    sif = sif_support(info.path, environ.get("PATH") or os.defpath)
    if not sif.usable:
        notes.append(
            "warning: {} but /dev/fuse does not open read-write: .sif images cannot launch here "
            "(GS_SIF_USABLE=False, HasSIF false); give the pilot /dev/fuse".format(sif.squashfuse)
        )
    images_text = images.format() if len(images) else ""
    adverts = _success_adverts(config, outcome, info, images_text, os_list, sif.usable)
    adverts += source_adverts(sources)
    if cvmfs_mount_dir != (config.get("CVMFS_MOUNT_DIR") or "").strip():
        # the environment's value: jobs read glidein_config only, so they get the one validated here
        notes.append(
            "CVMFS_MOUNT_DIR={} (from the environment) written to glidein_config".format(cvmfs_mount_dir)
        )
        adverts.append(("CVMFS_MOUNT_DIR", cvmfs_mount_dir))
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
