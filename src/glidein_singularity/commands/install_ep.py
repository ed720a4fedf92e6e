"""Install or update glidein-singularity on a plain HTCondor execution point (run as root; idempotent).

Writes, from the installed package (no source checkout needed):

- the launchers (``resources.LAUNCHERS``: ``gs-setup``, ``gs-job-wrapper``, ``gs_job_wrapper.py``,
  ``gs-prepare-job``, ``gs-health``) and the one-file bundle ``glidein_singularity.zip`` (the
  stdlib-only worker-node code they load) into ``--libexec`` (default ``/usr/libexec/glidein-singularity``);
- every snippet ``NN-glidein-singularity-*.config`` of ``condor_config.d`` into ``--config-dir`` (default
  ``/etc/condor/config.d``), and ``49-glidein-singularity-local.config``, which names ``GS_LIBEXEC``
  and ``GS_NODE_CONFIG`` (the node settings file) for them;
- the node settings ``55-glidein-singularity-node.config``, written by ``gs-setup --standalone`` with
  the ``--settings``/``--set`` given (the validation container runs as ``--setup-user`` when given,
  so ``SINGULARITY_MODE`` says what that user's jobs get).

A file whose content is already the same is left alone, so a re-run changes only what changed (the node
settings are always re-checked). ``--prefix`` puts every path under another root (package builds and
tests); the paths written into the files stay the final ones. Then run ``condor_reconfig``.

Exit status: 0 installed with containers on; 1 a file cannot be written or the setup failed
(containers REQUIRED and unusable, or an invalid setting); 2 usage error; 3 installed, but the node
settings say containers are off (a PREFERRED fallback: see gs-setup's last line for why).
"""

import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from typing import List, Tuple

from ..bundle import BUNDLE_NAME, write_bundle
from ..errors import GlideinSingularityError
from ..resources import CONFIG_D, LAUNCHERS, SCRIPTS, shared_dir

DEFAULT_CONFIG_DIR = "/etc/condor/config.d"
DEFAULT_LIBEXEC = "/usr/libexec/glidein-singularity"
LOCAL_CONFIG = "49-glidein-singularity-local.config"
NODE_CONFIG = "55-glidein-singularity-node.config"
_SKIP_SETUP_NOTE = "--no-setup: the node settings were not written"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the install-ep options."""
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        default=DEFAULT_CONFIG_DIR,
        help="HTCondor's LOCAL_CONFIG_DIR (default: %(default)s)",
    )
    parser.add_argument(
        "--libexec",
        metavar="DIR",
        default=DEFAULT_LIBEXEC,
        help="where the launchers go; becomes GS_LIBEXEC (default: %(default)s)",
    )
    parser.add_argument(
        "--prefix",
        metavar="DIR",
        default="",
        help="write everything under DIR (a staging root); the files still name the final paths",
    )
    parser.add_argument("--settings", metavar="FILE", help="gs-setup settings: KEY=VALUE lines")
    parser.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], help="one gs-setup setting (repeatable)"
    )
    parser.add_argument(
        "--setup-user",
        metavar="USER",
        help="run gs-setup's validation container as USER, a user jobs run as (install-ep runs as root)",
    )
    parser.add_argument("--no-setup", action="store_true", help="only install the files; do not run gs-setup")


def _staged(prefix: str, path: str) -> str:
    return os.path.join(prefix, path.lstrip("/")) if prefix else path


def _write_if_changed(path: str, data: bytes, mode: int) -> str:
    """Write ``data`` to ``path`` atomically unless it already holds it; return 'wrote' or 'unchanged'."""
    try:
        with open(path, "rb") as handle:
            if handle.read() == data and (os.stat(path).st_mode & 0o7777) == mode:
                return "unchanged"
    except OSError:
        pass
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle_fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(handle_fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return "wrote"


def local_config(libexec: str, config_dir: str) -> str:
    """The text of ``LOCAL_CONFIG``: where the launchers and the node settings are."""
    return (
        "# Written by glidein-singularity install-ep; re-run it instead of editing.\n"
        "# Read before the 50-/60-/70-glidein-singularity snippets (HTCondor reads config.d in name order).\n"
        "GS_LIBEXEC = {}\n"
        "GS_NODE_CONFIG = {}\n".format(libexec, os.path.join(config_dir, NODE_CONFIG))
    )


def install_files(libexec: str, config_dir: str, prefix: str = "") -> List[Tuple[str, str]]:
    """Write the launchers, the bundle and the snippets; return (path, 'wrote'/'unchanged') pairs."""
    done = []
    scripts = shared_dir(SCRIPTS)
    target = _staged(prefix, libexec)
    for name in LAUNCHERS:
        with open(os.path.join(scripts, name), "rb") as handle:
            data = handle.read()
        mode = 0o644 if name.endswith(".py") else 0o755
        path = os.path.join(target, name)
        done.append((path, _write_if_changed(path, data, mode)))
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scratch = tempfile.mkdtemp(prefix="gs-install-")
    try:
        built = os.path.join(scratch, BUNDLE_NAME)
        write_bundle(package_dir, built)
        with open(built, "rb") as handle:
            bundle = handle.read()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    path = os.path.join(target, BUNDLE_NAME)
    done.append((path, _write_if_changed(path, bundle, 0o644)))
    snippets = shared_dir(CONFIG_D)
    config_target = _staged(prefix, config_dir)
    path = os.path.join(config_target, LOCAL_CONFIG)
    done.append((path, _write_if_changed(path, local_config(libexec, config_dir).encode(), 0o644)))
    for name in sorted(os.listdir(snippets)):
        if name.endswith(".config"):
            with open(os.path.join(snippets, name), "rb") as handle:
                data = handle.read()
            path = os.path.join(config_target, name)
            done.append((path, _write_if_changed(path, data, 0o644)))
    return done


def _setup_command(args: argparse.Namespace, launcher: str, config_out: str) -> List[str]:
    command = [launcher, "--standalone", "--config-out", config_out]
    if args.settings:
        command.extend(["--settings", os.path.abspath(args.settings)])
    for item in args.set:
        command.extend(["--set", item])
    return command


def run_setup(args: argparse.Namespace, launcher: str, config_out: str) -> int:
    """Run gs-setup (as ``--setup-user`` when given) and install the node settings it writes."""
    if not args.setup_user:
        return subprocess.call(_setup_command(args, launcher, config_out))
    try:
        user = pwd.getpwnam(args.setup_user)
    except KeyError:
        msg = "--setup-user {}: no such user".format(args.setup_user)
        raise GlideinSingularityError(msg) from None
    scratch = tempfile.mkdtemp(prefix="gs-install-setup-")
    try:
        os.chown(scratch, user.pw_uid, user.pw_gid)
        written = os.path.join(scratch, NODE_CONFIG)
        command = ["runuser", "-u", args.setup_user, "--", *_setup_command(args, launcher, written)]
        status = subprocess.call(command, cwd=scratch)
        if os.path.isfile(written):
            with open(written, "rb") as handle:
                _write_if_changed(config_out, handle.read(), 0o644)
        return status
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    """Install the files, then run gs-setup; see the module docstring."""
    for option, value in (("--config-dir", args.config_dir), ("--libexec", args.libexec)):
        if not os.path.isabs(value):
            print("ERROR: {} {}: give an absolute path".format(option, value), file=sys.stderr)
            return 2
    if args.settings and not os.path.isfile(args.settings):
        print("ERROR: --settings {}: no such file".format(args.settings), file=sys.stderr)
        return 2
    try:
        done = install_files(args.libexec, args.config_dir, args.prefix)
    except OSError as exc:
        where = exc.filename or ""
        print(
            "ERROR: cannot install into {}: {} (run as root?)".format(where, exc.strerror or exc),
            file=sys.stderr,
        )
        return 1
    for path, what in done:
        print("install-ep: {} {}".format(what, path))
    sys.stdout.flush()  # before gs-setup writes to the same stream
    if args.no_setup:
        print("install-ep: " + _SKIP_SETUP_NOTE)
        return 0
    launcher = os.path.join(_staged(args.prefix, args.libexec), "gs-setup")
    config_out = os.path.join(_staged(args.prefix, args.config_dir), NODE_CONFIG)
    status = run_setup(args, launcher, config_out)
    if status in (0, 3):
        print("install-ep: done; run condor_reconfig (or restart HTCondor) to use it")
    return status
