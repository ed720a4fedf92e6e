"""The attribute registry (pure): every attribute glidein-singularity reads or advertises.

One ``Attribute`` per name, spelled exactly as GlideinWMS users write it. The setup script takes the
condor-vars type and the places an attribute is published from here, and the reference docs are
generated from ``ATTRIBUTES``; a test checks that both agree.
"""

import types
from typing import Mapping, NamedTuple, Tuple

from . import policy

__all__ = [
    "ADVERTISED_PLACES",
    "ATTRIBUTES",
    "BY_NAME",
    "CONDOR_TYPES",
    "TWINS",
    "WHO",
    "Attribute",
    "get",
    "with_twins",
]

#: Who sets an attribute.
WHO = ("factory", "frontend", "factory/frontend", "job", "glidein", "node env", "node env/factory/frontend")
#: Where an attribute is published: the startd (machine) ad, the job environment, glidein_config.
ADVERTISED_PLACES = ("startd", "job_env", "glidein_config")
#: condor vars types: string, ClassAd expression (booleans), integer.
CONDOR_TYPES = ("S", "C", "I")


class Attribute(NamedTuple):
    """One attribute: who sets it, its values and default, where it is published."""

    name: str
    #: One of ``WHO``.
    who: str
    #: Accepted values, as a short human text.
    values: str
    #: The value used when unset ("" = no value).
    default: str
    #: Subset of ``ADVERTISED_PLACES`` (empty: only read, never published).
    advertised: Tuple[str, ...]
    #: condor vars type ``S``/``C``/``I`` when published to the startd, else "".
    type: str
    #: What it means, one or two sentences.
    description: str
    #: How glidein-singularity differs from GlideinWMS ("" = same behaviour).
    gwms_difference: str = ""
    #: The attribute this one repeats (GlideinWMS's twin names), "" for a primary attribute.
    twin_of: str = ""


_GWMS_SET = ("startd", "job_env", "glidein_config")  # GlideinWMS ``advertise``: condor vars "- + Y Y +"
_STARTD = ("startd", "glidein_config")
_MODES = "unprivileged, privileged, fakeroot"
_DUP = "Same value as {}; kept for GlideinWMS compatibility."
_LAUNCH = (
    "Read from the machine ad and glidein_config, never the environment; the validation run is launched "
    "with the same options and binds as a job."
)
_NO_ENV = (
    "The job wrapper reads it from the machine ad and glidein_config only, never from its environment (a "
    "job can set any variable there); GlideinWMS's wrapper reads its environment first."
)


def _twin(name: str, of: str, values: str, type_: str = "S") -> Attribute:
    return Attribute(name, "glidein", values, "", _GWMS_SET, type_, _DUP.format(of), twin_of=of)


ATTRIBUTES: Tuple[Attribute, ...] = (
    # --- negotiation -----------------------------------------------------------------------------
    Attribute(
        policy.USE_ATTR,
        "frontend",
        ", ".join(policy.USE_VALUES),
        policy.USE_DEFAULT,
        ("startd", "glidein_config"),
        "S",
        "The VO's wish to run jobs in containers; combined with GLIDEIN_SINGULARITY_REQUIRE by the "
        "negotiation table.",
        "Case-insensitive and surrounding blanks ignored (GlideinWMS compares the exact upper-case text).",
    ),
    Attribute(
        policy.REQUIRE_ATTR,
        "factory",
        ", ".join(policy.REQUIRE_VALUES),
        policy.REQUIRE_DEFAULT,
        ("startd", "glidein_config"),
        "S",
        "The site's rule for containers on this entry; combined with GLIDEIN_Singularity_Use.",
        "Case-insensitive and surrounding blanks ignored (GlideinWMS compares the exact upper-case text).",
    ),
    # --- result of the setup -----------------------------------------------------------------------
    Attribute(
        "HAS_SINGULARITY",
        "glidein",
        "True, False",
        "",
        _GWMS_SET,
        "C",
        "True when jobs run in containers on this glidein; not published at all when the negotiation "
        "outcome is DISABLE.",
    ),
    Attribute(
        "GWMS_SINGULARITY_STATUS",
        "glidein",
        "NEVER, PREFERRED, REQUIRED",
        "",
        _GWMS_SET,
        "S",
        "The negotiation outcome. PREFERRED with HAS_SINGULARITY=False means the runtime or image did not "
        "work and jobs run without a container.",
    ),
    Attribute(
        "SINGULARITY_PATH",
        "glidein",
        "absolute path",
        "",
        _GWMS_SET,
        "S",
        "The runtime binary that passed the validation run.",
    ),
    _twin("GWMS_SINGULARITY_PATH", "SINGULARITY_PATH", "absolute path"),
    _twin("CONTAINERSW_PATH", "SINGULARITY_PATH", "absolute path"),
    _twin("GWMS_CONTAINERSW_PATH", "SINGULARITY_PATH", "absolute path"),
    Attribute(
        "SINGULARITY_VERSION",
        "glidein",
        "version number",
        "",
        _GWMS_SET,
        "S",
        "Output of `<bin> version` (or `--version` without its `apptainer version ` prefix).",
    ),
    _twin("GWMS_SINGULARITY_VERSION", "SINGULARITY_VERSION", "version number"),
    _twin("CONTAINERSW_VERSION", "SINGULARITY_VERSION", "version number"),
    _twin("GWMS_CONTAINERSW_VERSION", "SINGULARITY_VERSION", "version number"),
    Attribute(
        "SINGULARITY_FULL_VERSION",
        "glidein",
        "text",
        "",
        _GWMS_SET,
        "S",
        "First line of `<bin> --version`, e.g. `apptainer version 1.4.5` (tells apptainer from singularity).",
    ),
    _twin("CONTAINERSW_FULL_VERSION", "SINGULARITY_FULL_VERSION", "text"),
    _twin("GWMS_CONTAINERSW_FULL_VERSION", "SINGULARITY_FULL_VERSION", "text"),
    Attribute(
        "SINGULARITY_MODE",
        "glidein",
        _MODES,
        "",
        _GWMS_SET,
        "S",
        "How the runtime runs containers, from the validation run's /proc/self/uid_map: user namespace "
        "(unprivileged), setuid (privileged) or fakeroot.",
        "Never `unknown`: the runtime is always validated with a container, or it is not used.",
    ),
    _twin("GWMS_SINGULARITY_MODE", "SINGULARITY_MODE", _MODES),
    _twin("CONTAINERSW_MODE", "SINGULARITY_MODE", _MODES),
    _twin("GWMS_CONTAINERSW_MODE", "SINGULARITY_MODE", _MODES),
    Attribute(
        "GLIDEIN_PROVIDES",
        "glidein",
        "comma list",
        "",
        _GWMS_SET,
        "S",
        "Capabilities of the glidein; the setup appends `singularity/<mode>` on success.",
    ),
    Attribute(
        "SINGULARITY_OS_LIST",
        "glidein",
        "comma list of dictionary keys",
        "",
        _STARTD,
        "S",
        "The SINGULARITY_IMAGES_DICT keys (platforms, e.g. rhel9,rhel8) whose image exists on this node, in "
        "dictionary order; for matchmaking on REQUIRED_OS.",
        "New: GlideinWMS has no such attribute.",
    ),
    Attribute(
        "GS_PID_NAMESPACES",
        "glidein",
        "True, False",
        "",
        _STARTD,
        "C",
        "Whether containers get their own PID namespace (--pid). False when "
        "SINGULARITY_DISABLE_PID_NAMESPACES=1 or when the validation run could not mount /proc (pilots "
        "inside Docker/Kubernetes); the job wrapper then drops --pid.",
        "New: GlideinWMS only honours SINGULARITY_DISABLE_PID_NAMESPACES and never detects the failure.",
    ),
    Attribute(
        "GS_SIF_USABLE",
        "glidein",
        "True, False",
        "",
        _STARTD,
        "C",
        "Whether .sif images launch here: False when Apptainer would mount them with squashfuse but "
        "/dev/fuse does not open read-write (every .sif launch would fail); with no squashfuse they are "
        "extracted at each launch. HasSIF (55-glidein-singularity-container.config) follows it.",
        "New: HTCondor advertises HasSIF from its own test image, GlideinWMS does not check.",
    ),
    Attribute(
        "GLIDEIN_SINGULARITY_USE_HTCONDOR",
        "factory/frontend",
        "True, False",
        "False",
        (),
        "",
        "True: HTCondor's starter launches the container (its SINGULARITY_* configuration, written by "
        "gs-setup) from the plan the prepare-job hook publishes per job, so condor_ssh_to_job enters the "
        "job's container. False: the job wrapper launches it (the default).",
        "Same name and meaning as GlideinWMS PR #677; the image, binds and options still come from our plan.",
    ),
    Attribute(
        "GS_USE_HTCONDOR",
        "glidein",
        "True, False",
        "",
        _STARTD,
        "C",
        "True when gs-setup configured the starter to launch the containers "
        "(GLIDEIN_SINGULARITY_USE_HTCONDOR); the job wrapper and the prepare-job hook read it.",
        "New: GlideinWMS has no such attribute.",
    ),
    # --- images ------------------------------------------------------------------------------------
    Attribute(
        "SINGULARITY_IMAGES_DICT",
        "factory/frontend",
        "key:image,key:image,... (image may contain colons)",
        "",
        _GWMS_SET,
        "S",
        "Images by platform key. Re-published after merging the legacy SINGULARITY_IMAGE_DEFAULT{,6,7}.",
        "No `testimage` key is added to the re-published dictionary (GlideinWMS adds one).",
    ),
    Attribute(
        "SINGULARITY_IMAGE_DEFAULT",
        "factory/frontend",
        "image",
        "",
        (),
        "",
        "Deprecated: merged into SINGULARITY_IMAGES_DICT as key `default` (overriding it).",
    ),
    Attribute(
        "SINGULARITY_IMAGE_DEFAULT6",
        "factory/frontend",
        "image",
        "",
        (),
        "",
        "Deprecated: merged into SINGULARITY_IMAGES_DICT as key `rhel6` (overriding it).",
    ),
    Attribute(
        "SINGULARITY_IMAGE_DEFAULT7",
        "factory/frontend",
        "image",
        "",
        (),
        "",
        "Deprecated: merged into SINGULARITY_IMAGES_DICT as key `rhel7` (overriding it).",
    ),
    Attribute(
        "SINGULARITY_IMAGE_RESTRICTIONS",
        "factory/frontend",
        "comma list of cvmfs, remote, test",
        "cvmfs",
        ("startd", "glidein_config"),
        "S",
        "cvmfs: images must be under /cvmfs (or CVMFS_MOUNT_DIR); remote: URIs allowed; test: fall back "
        "to the test image.",
        "The default is `cvmfs` as in GlideinWMS's code (its docs say `any`).",
    ),
    Attribute(
        "GS_ALLOWED_IMAGE_SOURCES",
        "frontend",
        "comma list of glob patterns over canonical image references",
        "",
        ("startd", "glidein_config"),
        "S",
        "The frontend group's allowed image sources (e.g. `docker://atlas/*,/cvmfs/unpacked.cern.ch/*`): "
        "every image a job runs in, its own or from the dictionary, must match one; a local image as "
        "written and at its real path. Blank: not set. Never read from the job's environment.",
        "New: GlideinWMS has no image-source policy.",
    ),
    Attribute(
        "GS_DENIED_IMAGE_SOURCES",
        "frontend",
        "comma list of glob patterns over canonical image references",
        "",
        ("startd", "glidein_config"),
        "S",
        "The frontend group's denied image sources: no image may match one (also after symlinks).",
        "New: GlideinWMS has no image-source policy.",
    ),
    Attribute(
        "GS_ENTRY_ALLOWED_IMAGE_SOURCES",
        "factory",
        "comma list of glob patterns over canonical image references",
        "",
        ("startd", "glidein_config"),
        "S",
        "The factory entry's allowed image sources; with GS_ALLOWED_IMAGE_SOURCES also set, an image must "
        "match both (the stricter wins). A separate name, so a frontend cannot lift the site's list.",
        "New: GlideinWMS has no image-source policy.",
    ),
    Attribute(
        "GS_ENTRY_DENIED_IMAGE_SOURCES",
        "factory",
        "comma list of glob patterns over canonical image references",
        "",
        ("startd", "glidein_config"),
        "S",
        "The factory entry's denied image sources, added to the frontend group's.",
        "New: GlideinWMS has no image-source policy.",
    ),
    Attribute(
        "GS_IMAGE_ALLOW_REGEX",
        "glidein",
        "regular expression",
        "",
        _STARTD,
        "S",
        "The allowed image-source lists compiled to one anchored regex over the canonical image reference "
        "(no backslash, quote or `$` in it); the START term keeps jobs whose +SingularityImage does not "
        "match off the slot.",
        "New: GlideinWMS has no image-source policy.",
    ),
    Attribute(
        "GS_IMAGE_DENY_REGEX",
        "glidein",
        "regular expression",
        "",
        _STARTD,
        "S",
        "The denied image-source lists compiled to one anchored regex; the START term keeps jobs whose "
        "+SingularityImage matches off the slot.",
        "New: GlideinWMS has no image-source policy.",
    ),
    Attribute(
        "SINGULARITY_IMAGE_REQUIRED",
        "factory/frontend",
        "true, false",
        "false",
        (),
        "",
        "If true, a missing or unusable default image fails the setup (REQUIRED) or disables containers "
        "(PREFERRED); if false the setup goes on without a default image.",
    ),
    Attribute(
        "GLIDEIN_REQUIRED_OS",
        "factory",
        "comma list of platform keys, or any",
        "any",
        ("startd", "glidein_config"),
        "S",
        "Platforms the entry allows; intersected with the job's REQUIRED_OS, in preference order.",
        "Kept as the entry set it (GlideinWMS's setup overwrites it with `any`).",
    ),
    Attribute(
        "REQUIRED_OS",
        "job",
        "comma list of platform keys, or any",
        "any",
        (),
        "",
        "Platforms the job accepts (+REQUIRED_OS in the submit file).",
    ),
    Attribute(
        "SingularityImage",
        "job",
        "image path or URI",
        "",
        (),
        "",
        "The job's own image (+SingularityImage); highest precedence.",
        "Subject to SINGULARITY_IMAGE_RESTRICTIONS (GlideinWMS lets it escape them).",
    ),
    Attribute(
        "APPTAINER_TEST_IMAGE",
        "node env/factory/frontend",
        "image path (or URI with GS_ALLOW_REMOTE_TEST_IMAGE)",
        "",
        (),
        "",
        "Image for the validation run when there is no default image; the environment wins over "
        "glidein_config.",
        "No network default (GlideinWMS pulls oras://ghcr.io/apptainer/alpine:latest at every start); a "
        "remote image is used only with GS_ALLOW_REMOTE_TEST_IMAGE=True.",
    ),
    Attribute(
        "GS_ALLOW_REMOTE_TEST_IMAGE",
        "factory/frontend",
        "True, False",
        "False",
        (),
        "",
        "Allow a remote (docker://, oras://, https://...) APPTAINER_TEST_IMAGE for the validation run.",
        "New: GlideinWMS always allows the network pull.",
    ),
    Attribute(
        "CVMFS_MOUNT_DIR",
        "node env/factory/frontend",
        "directory (unset: CVMFS is at /cvmfs)",
        "",
        ("glidein_config",),
        "",
        "Where CVMFS is mounted on the host (cvmfsexec); /cvmfs paths of images, binds and the OSG binary "
        "are translated to it outside the container. For the startup script the environment wins over "
        "glidein_config, as in GlideinWMS; the startup script then writes the value it used into "
        "glidein_config, where the job wrapper, the prepare-job hook and the health probe read it.",
        _NO_ENV,
    ),
    # --- images fetched by the glidein, images shipped with the job (store.py) ---------------------
    Attribute(
        "GS_IMAGE_STORE",
        "factory/frontend",
        "absolute directory, or none",
        "<GLIDEIN_LOCAL_TMP_DIR>/gs-image-store",
        (),
        "",
        "The glidein's image store: docker://, oras://, https:// and http:// images are fetched once per "
        "glidein into it (unpacked sandbox directories) and every job runs from that copy. `none`: the "
        "runtime fetches each job's image itself. Owned by the job's user, 0700; never bound into a "
        "container. Never read from the environment.",
        "New: GlideinWMS lets Apptainer pull the image again for every job.",
    ),
    Attribute(
        "GS_IMAGE_STORE_MAX_MB",
        "factory/frontend",
        "MiB",
        "20480",
        (),
        "",
        "Size bound of the image store: least recently used images no running job uses are evicted to "
        "make room; a single image larger than this is refused as the user's error.",
        "New.",
    ),
    Attribute(
        "GS_IMAGE_FETCH_TIMEOUT",
        "factory/frontend",
        "seconds",
        "900",
        (),
        "",
        "Time limit of one image fetch; jobs waiting for the same image wait at most this plus 30 s.",
        "New.",
    ),
    Attribute(
        "GS_INSECURE_REGISTRIES",
        "factory/frontend",
        "comma list of registry host[:port]",
        "",
        (),
        "",
        "Registries the image store reaches over plain HTTP (apptainer --no-https).",
        "New.",
    ),
    Attribute(
        "GS_CVMFS_UNPACKED_ROOTS",
        "factory/frontend",
        "comma list of directories",
        "/cvmfs/unpacked.cern.ch",
        (),
        "",
        "CVMFS repositories of unpacked images: a docker://<registry>/<repo>:<tag> image found as the "
        "directory <root>/<registry>/<repo>:<tag> (Docker Hub as registry.hub.docker.com) runs from "
        "there and nothing is fetched.",
        "New.",
    ),
    Attribute(
        "GS_ALLOW_SANDBOX_IMAGES",
        "factory/frontend",
        "True, False",
        "False",
        _STARTD,
        "C",
        "Allow images shipped with the job (a relative +SingularityImage such as ./my.sif, resolved in "
        "the job directory, which it may not leave) even under the cvmfs restriction; advertised so "
        "START admits such jobs.",
        "New: GlideinWMS refuses them under cvmfs without saying why.",
    ),
    # --- runtime discovery -------------------------------------------------------------------------
    Attribute(
        "GLIDEIN_SINGULARITY_BINARY_OVERRIDE",
        "node env/factory/frontend",
        "executable path, or a colon list of directories",
        "",
        (),
        "",
        "Runtime tried first. The environment wins over glidein_config.",
    ),
    Attribute(
        "SINGULARITY_BIN",
        "factory/frontend",
        "directory, or OSG, CONDOR, PATH, PASS",
        "OSG",
        (),
        "",
        "Hint tried after the override: a directory holding apptainer or singularity, or a keyword "
        "(OSG: the OSG CVMFS binary's directory; CONDOR: the HTCondor tarball; PATH/PASS: no hint). "
        "The legacy value NONE only warns.",
    ),
    Attribute(
        "OSG_SINGULARITY_BINARY",
        "node env/factory/frontend",
        "executable path",
        "/cvmfs/oasis.opensciencegrid.org/mis/singularity/bin/singularity",
        (),
        "",
        "The OSG CVMFS runtime, tried last; a non-empty glidein_config value wins over the environment.",
    ),
    Attribute(
        "CONDOR_DIR",
        "glidein",
        "directory",
        "",
        (),
        "",
        "The glidein's HTCondor directory; its usr/libexec/apptainer is a runtime candidate.",
    ),
    Attribute(
        "CONDOR_VARS_FILE",
        "glidein",
        "file path",
        "",
        (),
        "",
        "The condor vars file the setup adds its startd attributes to.",
    ),
    Attribute(
        "GLIDEIN_LOCAL_TMP_DIR",
        "glidein",
        "directory",
        "",
        (),
        "",
        "Parent of APPTAINER_CACHEDIR/APPTAINER_TMPDIR (apptainer/cache, apptainer/tmp) when unset.",
    ),
    # --- launch options (also used by the validation run) ----------------------------------------
    Attribute(
        "GLIDEIN_SINGULARITY_BINDPATH",
        "frontend",
        "comma list of src[:dst[:opts]]",
        "",
        ("startd", "glidein_config"),
        "S",
        "Extra bind mounts; sources missing on the host are dropped.",
        _LAUNCH,
    ),
    Attribute(
        "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT",
        "factory",
        "comma list of src[:dst[:opts]]",
        "",
        ("startd", "glidein_config"),
        "S",
        "Site bind mounts, after GLIDEIN_SINGULARITY_BINDPATH.",
        _LAUNCH,
    ),
    Attribute(
        "GLIDEIN_SINGULARITY_OPTS",
        "factory/frontend",
        "exec options, split like a POSIX shell (quotes allowed)",
        "",
        ("startd", "glidein_config"),
        "S",
        "Extra options for `apptainer exec`.",
        _LAUNCH,
    ),
    Attribute(
        "GLIDEIN_SINGULARITY_GLOBAL_OPTS",
        "node env/factory/frontend",
        "global options, split on blanks",
        "",
        (),
        "",
        "Not used: neither a job launch nor the validation run (which is launched like a job) puts options "
        "before `exec`.",
        "GlideinWMS places these options before `exec`; here `apptainer exec` gets GLIDEIN_SINGULARITY_OPTS "
        "only.",
    ),
    Attribute(
        "SINGULARITY_DISABLE_PID_NAMESPACES",
        "node env/factory/frontend",
        "1 to disable",
        "",
        (),
        "",
        "Exactly `1` forces --pid off (GS_PID_NAMESPACES=False) without trying it.",
        _NO_ENV,
    ),
    Attribute(
        "GLIDEIN_CONTAINER_ENV",
        "node env/factory/frontend",
        "comma list of clearall, condorset, osgset, gwmsset, clear, clearpaths, keepall",
        "clearpaths",
        (),
        "",
        "Environment policy of the container launch; clearall/clear add --cleanenv.",
        _NO_ENV,
    ),
    Attribute(
        "GLIDEIN_CONTAINER_ENV_CLEARLIST",
        "node env/factory/frontend",
        "comma list of variable names",
        "",
        (),
        "",
        "Variables unset before the container launch.",
    ),
    Attribute(
        "GS_VALIDATION_TIMEOUT",
        "factory/frontend",
        "seconds",
        "120",
        (),
        "",
        "Time limit of the validation container run (a first CVMFS image mount can be slow).",
        "New: GlideinWMS has no limit.",
    ),
    # --- the job wrapper and the prepare-job hook ---------------------------------------------------
    Attribute(
        "GS_WRAPPER_FAILURE_SLEEP",
        "factory/frontend",
        "seconds, at most 3600",
        "600",
        (),
        "",
        "How long the job wrapper keeps a slot busy after a node-side failure (so a broken node does not "
        "eat the queue); a job's own mistake waits at most 10 s.",
        "New.",
    ),
    Attribute(
        "GS_FAILURE_MARKER",
        "factory/frontend",
        "file path",
        "",
        (),
        "",
        "Counter file of consecutive node-side wrapper failures, read by the health probe (quarantine); "
        "empty: nothing is counted.",
        "New.",
    ),
    Attribute(
        "GS_OVERLAY",
        "factory/frontend",
        "true, false",
        "false",
        (),
        "",
        "Whether the runtime can overlay a directory image (underlay/overlay works on this node): only then "
        "may a bind's target be missing from a directory image; otherwise such binds are dropped.",
        "New: GlideinWMS binds them and the launch fails when the runtime cannot create the target.",
    ),
    Attribute(
        "GS_GLIDEIN_CONFIG",
        "glidein",
        "file path",
        "",
        (),
        "",
        "The glidein_config the health probe reads (set in the startd's environment by the startup script's "
        "config file); the job wrapper never passes it to the runtime.",
        "New.",
    ),
    Attribute(
        "GS_WRAPPER_VERBOSE",
        "factory/frontend",
        "1 to enable",
        "",
        (),
        "",
        "Exactly `1`: the job wrapper prints the plan's reasons to the job's stderr.",
        "New.",
    ),
    Attribute(
        "GS_SHARED_FS_ROOTS",
        "factory/frontend",
        "comma list of directories",
        "",
        ("startd", "glidein_config"),
        "S",
        "Shared file systems whose jobs (should_transfer_files = NO) may run in their own directory, bound "
        "at the same path; never one that holds or is inside the glidein or execute directory. Empty: "
        "such jobs are refused (held by the prepare-job hook).",
        "GlideinWMS binds such a job's directory, whatever it is, at /srv.",
    ),
    Attribute(
        "GS_JOB_FAULT_RETRIES",
        "factory/frontend",
        "integer",
        "2",
        (),
        "",
        "Starts a job may use up on its own mistakes (its image is missing...) before the job wrapper stops "
        "requeueing it; with the prepare-job hook such jobs are held at once.",
        "New: GlideinWMS requeues such jobs for ever.",
    ),
    Attribute(
        "GS_PREPARE_JOB_HOOK",
        "glidein",
        "true, false",
        "",
        ("startd",),
        "C",
        "Whether our prepare-job hook runs for this slot's jobs (STARTER_JOB_HOOK_KEYWORD = GS); the START "
        "term lets jobs with loader or shell start-up variables in only then.",
        "New.",
    ),
    Attribute(
        "GS_GLIDEIN_CONFIG_FILE",
        "glidein",
        "file path",
        "",
        ("startd",),
        "S",
        "The glidein_config the job wrapper reads when the starter (not the job) wrote the machine ad.",
        "New.",
    ),
)

#: name -> Attribute.
BY_NAME: Mapping[str, Attribute] = types.MappingProxyType(
    {attribute.name: attribute for attribute in ATTRIBUTES}
)


def get(name: str) -> Attribute:
    """Return the registered attribute ``name``; KeyError naming it if it is not registered."""
    try:
        return BY_NAME[name]
    except KeyError:
        msg = "attribute {!r} is not in the registry (glidein_singularity.attributes)".format(name)
        raise KeyError(msg) from None


#: primary name -> its twin names, in registry order.
TWINS: Mapping[str, Tuple[str, ...]] = types.MappingProxyType(
    {
        primary: tuple(a.name for a in ATTRIBUTES if a.twin_of == primary)
        for primary in dict.fromkeys(a.twin_of for a in ATTRIBUTES if a.twin_of)
    }
)


def with_twins(pairs: "Tuple[Tuple[str, str], ...]") -> "Tuple[Tuple[str, str], ...]":
    """``(name, value)`` pairs, each followed by its twins with the same value (GlideinWMS publishes
    every twin name)."""
    return tuple((name, value) for primary, value in pairs for name in (primary, *TWINS.get(primary, ())))
