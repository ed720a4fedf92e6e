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
import datetime
import os
import shutil
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

from .. import attributes, policy
from ..errors import ConfigError, GlideinSingularityError
from ..glidein_config import (
    read_glidein_config,
    write_result_error,
    write_result_ok,
)
from ..policy import Outcome
from .setup_decision import (
    EXIT_CONTAINERS_OFF,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    SCRIPT_ID,
    SetupResult,
    run_setup,
    verdict,
)
from .setup_install import (
    install_glidein_condor_config,
    install_wrapper_code,
    package_location,
)
from .setup_publish import (
    RECOVERED_FACTORY_ATTRS,
    format_config_d,
    htcondor_knobs,
    publish_glidein,
    recover_factory_values,
    write_atomically,
)

__all__ = ["EXIT_CONTAINERS_OFF", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "main"]

#: Standalone default for an unset GLIDEIN_Singularity_Use (an EP admin running this wants containers).
STANDALONE_USE_DEFAULT = "PREFERRED"
#: Names HTCondor skips in LOCAL_CONFIG_DIR (LOCAL_CONFIG_DIR_EXCLUDE_REGEXP default).
_SKIPPED_SUFFIXES = (".pl", ".py", ".sh", ".rpmsave", ".rpmnew", ".dpkg-old", ".dpkg-dist", ".cfsaved", "~")


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
            _say(install_wrapper_code(work_dir, scripts_dir, package_location()))
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
        write_atomically(args.config_out, text)
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
        try:
            return _run_standalone(args, started)
        except GlideinSingularityError as exc:  # one ERROR line, never a traceback
            print("ERROR: {}".format(exc), file=sys.stderr)
            return EXIT_FAILURE
        except OSError as exc:
            where = "{}: ".format(exc.filename) if isinstance(exc.filename, str) else ""
            print("ERROR: {}{}".format(where, exc.strerror or exc), file=sys.stderr)
            return EXIT_FAILURE
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
