"""The node's settings (pure): which admin settings the planner reads, from where, and their defaults.

``NodeSettings.from_sources(machine_ad, glidein_config)`` reads every setting from the machine ad, then
``glidein_config``; never from the environment (a job can set any variable there, see ``jobenv``). The
names and defaults are the attribute registry's (``attributes``; a test keeps them equal: the registry
is not imported here, the job wrapper must start fast).
"""

from ._record import Record
from .classad import ERROR, UNDEFINED, Expr
from .store import DEFAULT_UNPACKED_ROOTS

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Iterable, List, Mapping, Optional, Tuple

    from .classad import Ad, Value
    from .sources import SourcePolicy

__all__ = [
    "DEFAULT_FAILURE_SLEEP",
    "DEFAULT_JOB_FAULT_RETRIES",
    "NODE_ONLY_VARS",
    "SETTING_NAMES",
    "SOURCE_SETTINGS",
    "NodeSettings",
    "describe_value",
    "literal_text",
]

#: Seconds the wrapper keeps a slot busy after a node-side failure (``GS_WRAPPER_FAILURE_SLEEP``).
DEFAULT_FAILURE_SLEEP = 600
#: Starts a job may use up on its own mistakes (a missing own image...) before the wrapper stops
#: requeueing it (the prepare-job hook holds such jobs at once).
DEFAULT_JOB_FAULT_RETRIES = 2
#: The image-source lists (``sources.SETTINGS``; spelled here so the module is imported only when set).
SOURCE_SETTINGS = (
    "GS_ALLOWED_IMAGE_SOURCES",
    "GS_DENIED_IMAGE_SOURCES",
    "GS_ENTRY_ALLOWED_IMAGE_SOURCES",
    "GS_ENTRY_DENIED_IMAGE_SOURCES",
)


def literal_text(value: "Optional[Value]") -> "Optional[str]":
    """A literal as the text a shell variable would hold (None for undefined/error/expressions)."""
    if value is None or value is UNDEFINED or value is ERROR or isinstance(value, (Expr, tuple)):
        return None
    if value is True or value is False:
        return "True" if value else "False"
    return str(value)


def describe_value(value: "Optional[Value]") -> str:
    if isinstance(value, Expr):
        return "the expression {}".format(value.text)
    return repr(value)


_SETTINGS = (
    # (field, name, sources in order: a = machine ad, g = glidein_config), default. Never the job's
    # environment: the job can set any variable there (see ``jobenv``), so no setting is read from it.
    ("images_dict", "SINGULARITY_IMAGES_DICT", "ag", ""),
    ("image_restrictions", "SINGULARITY_IMAGE_RESTRICTIONS", "ag", "cvmfs"),
    ("glidein_required_os", "GLIDEIN_REQUIRED_OS", "ag", "any"),
    ("bindpath", "GLIDEIN_SINGULARITY_BINDPATH", "ag", ""),
    ("bindpath_default", "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT", "ag", ""),
    ("opts", "GLIDEIN_SINGULARITY_OPTS", "ag", ""),
    ("container_env", "GLIDEIN_CONTAINER_ENV", "ag", "clearpaths"),
    ("container_env_clearlist", "GLIDEIN_CONTAINER_ENV_CLEARLIST", "ag", ""),
    ("cvmfs_mount_dir", "CVMFS_MOUNT_DIR", "ag", ""),
    ("disable_pid_namespaces", "SINGULARITY_DISABLE_PID_NAMESPACES", "ag", ""),
    ("failure_sleep", "GS_WRAPPER_FAILURE_SLEEP", "ag", str(DEFAULT_FAILURE_SLEEP)),
    ("failure_marker", "GS_FAILURE_MARKER", "ag", ""),
    ("verbose", "GS_WRAPPER_VERBOSE", "ag", ""),
    ("shared_fs_roots", "GS_SHARED_FS_ROOTS", "ag", ""),
    ("job_fault_retries", "GS_JOB_FAULT_RETRIES", "ag", str(DEFAULT_JOB_FAULT_RETRIES)),
    # image-source policy
    ("allowed_sources", SOURCE_SETTINGS[0], "ag", ""),
    ("denied_sources", SOURCE_SETTINGS[1], "ag", ""),
    ("entry_allowed_sources", SOURCE_SETTINGS[2], "ag", ""),
    ("entry_denied_sources", SOURCE_SETTINGS[3], "ag", ""),
    # remote images and images shipped with the job (store.py): admin settings only
    ("image_store", "GS_IMAGE_STORE", "ag", ""),
    ("local_tmp_dir", "GLIDEIN_LOCAL_TMP_DIR", "g", ""),
    ("image_store_max_mb", "GS_IMAGE_STORE_MAX_MB", "ag", ""),
    ("image_fetch_timeout", "GS_IMAGE_FETCH_TIMEOUT", "ag", ""),
    ("insecure_registries", "GS_INSECURE_REGISTRIES", "ag", ""),
    ("unpacked_roots", "GS_CVMFS_UNPACKED_ROOTS", "ag", DEFAULT_UNPACKED_ROOTS),
    ("allow_sandbox_images", "GS_ALLOW_SANDBOX_IMAGES", "ag", "False"),
)


#: The wrapper's own node variables: never passed on to the runtime (nor so into the container).
NODE_ONLY_VARS = ("GS_GLIDEIN_CONFIG", "GS_FAILURE_MARKER", "GS_WRAPPER_FAILURE_SLEEP", "GS_WRAPPER_VERBOSE")
#: Every setting's name (what a forged machine ad file must not choose: see ``inputs``).
SETTING_NAMES = tuple(row[1] for row in _SETTINGS)


class NodeSettings(Record):
    """Admin-controlled settings of the node, each from the machine ad, glidein_config or environment."""

    __slots__ = _fields = (*(row[0] for row in _SETTINGS), "reasons")
    images_dict: str
    image_restrictions: str
    glidein_required_os: str
    bindpath: str
    bindpath_default: str
    opts: str
    container_env: str
    container_env_clearlist: str
    cvmfs_mount_dir: str
    disable_pid_namespaces: str
    failure_sleep: str
    failure_marker: str
    verbose: str
    shared_fs_roots: str
    job_fault_retries: str
    allowed_sources: str
    denied_sources: str
    entry_allowed_sources: str
    entry_denied_sources: str
    image_store: str
    local_tmp_dir: str
    image_store_max_mb: str
    image_fetch_timeout: str
    insecure_registries: str
    unpacked_roots: str
    allow_sandbox_images: str
    reasons: "Tuple[str, ...]"

    def __init__(self, reasons: "Iterable[str]" = (), **values: str) -> None:
        unknown = sorted(set(values) - set(self._fields))
        if unknown:
            msg = "NodeSettings has no setting {}".format(", ".join(unknown))
            raise TypeError(msg)
        Record.__init__(self, *(values.get(row[0], row[3]) for row in _SETTINGS), tuple(reasons))

    @classmethod
    def from_sources(cls, machine_ad: "Optional[Ad]", glidein_config: "Mapping[str, str]") -> "NodeSettings":
        """Collect the settings from the machine ad and glidein_config (never from the environment)."""
        reasons: List[str] = []
        values: Dict[str, str] = {}
        for field, name, sources, default in _SETTINGS:
            found: Optional[str] = None
            for source in sources:
                if source == "a" and machine_ad is not None and name in machine_ad:
                    raw = machine_ad[name]
                    found = literal_text(raw)
                    if found is None and raw is not UNDEFINED:
                        reasons.append(
                            "ignored {} = {} in the machine ad: not a literal".format(
                                name, describe_value(raw)
                            )
                        )
                elif source == "g" and name in glidein_config:
                    found = glidein_config[name]
                if found is not None:
                    break
            values[field] = default if found is None else found
        return cls(reasons, **values)

    def source_policy(self) -> "Optional[SourcePolicy]":
        """The image-source policy these settings set, or None when no list is set (all images allowed)."""
        texts = (
            self.allowed_sources,
            self.denied_sources,
            self.entry_allowed_sources,
            self.entry_denied_sources,
        )
        if not any(text.strip(", \t") for text in texts):
            return None
        from .sources import SourcePolicy  # only now: most glideins set no lists

        return SourcePolicy.from_settings(dict(zip(SOURCE_SETTINGS, texts)))
