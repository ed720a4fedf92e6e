"""Where the startup script's results go (worker node): glidein_config and the condor vars file in a
glidein (``publish_glidein``), a config.d file on a plain execution point (``format_config_d``), the
starter's knobs in HTCondor-launch mode, and the factory values GlideinWMS's own script overwrote
(``recover_factory_values``).
"""

import os
import tempfile
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .. import attributes
from ..errors import ConfigError
from ..glidein_config import (
    CONDOR_VARS_FILE_KEY,
    CondorVar,
    add_condor_vars_lines,
    add_config_lines,
)
from .setup_decision import SetupResult
from .starter_launch import MODE_ATTR, starter_knobs

__all__ = [
    "FACTORY_CONSTS_KEYS",
    "RECOVERED_FACTORY_ATTRS",
    "format_config_d",
    "htcondor_knobs",
    "publish_glidein",
    "recover_factory_values",
    "write_atomically",
]

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
    # glidein_config-only values (CVMFS_MOUNT_DIR) are for the job wrapper, not the startd
    variables = [
        _condor_var(name) for name, _ in result.adverts if "startd" in attributes.get(name).advertised
    ]
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


def write_atomically(path: str, text: str) -> None:
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
