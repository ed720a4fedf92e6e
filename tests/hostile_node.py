"""A fake glidein node for the hostile corpus (tests/data/hostile): files, environment, expectations.

``Node(case_dir, root)`` builds, under ``root``, what the corpus's placeholders name (see
``tests/data/hostile/make_corpus.py``): a glidein directory holding the job wrapper exactly as the
startup script installs it (``gs-job-wrapper``, ``gs_job_wrapper.py``, ``lib/glidein_singularity``) next
to the node's ``glidein_config``, a CVMFS-like tree, a runtime that records its argv and environment,
and the job directory with the case's ads. The same node serves the in-process planner test and the
real wrapper script test, so both see the same files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from glidein_singularity.launch_options import DEFAULT_BINDS
from tests.starter_files import starter_wrote

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "hostile" / "cases"
SCRIPTS = ROOT / "glidein_scripts"
PACKAGE = ROOT / "src" / "glidein_singularity"

#: Records argv (NUL-separated) and the environment (``env -0``) of whatever runs it.
RECORDER = """#!/bin/sh
printf '%s\\0' "$0" "$@" > "$GS_TEST_RECORD.argv"
env -0 > "$GS_TEST_RECORD.env"
exit 0
"""
CHIRP = """#!/bin/sh
echo pwned > "{node}/pwned"
"""
NODE_CONFIG = "CVMFS_MOUNT_DIR @NODE@/cvmfs\nGS_WRAPPER_FAILURE_SLEEP 0\nGS_FAILURE_MARKER @NODE@/marker\n"
VICTIM = "precious\n"


def case_names() -> list[str]:
    """The corpus's case directories, sorted."""
    return sorted(path.name for path in CORPUS.iterdir() if path.is_dir())


class Node:
    """One case materialised on a fake node under ``root``."""

    def __init__(self, name: str, root: Path) -> None:
        self.case = CORPUS / name
        self.root = root
        self.sandbox = root / "execute" / "dir_1"
        self.glidein = root / "glidein"
        self.record = root / "record"
        self.host_binds = ",".join(path for path in DEFAULT_BINDS if os.path.exists(path))
        self._build()

    # --- text -------------------------------------------------------------------------------------
    def fill(self, text: str) -> str:
        """Replace the corpus placeholders."""
        return (
            text.replace("@NODE@", str(self.root))
            .replace("@SANDBOX@", str(self.sandbox))
            .replace("@HOSTBINDS@", self.host_binds)
        )

    def _read(self, name: str) -> str | None:
        path = self.case / name
        if not path.exists():
            return None
        return path.read_bytes().decode("utf-8", "surrogateescape")

    def _json(self, name: str) -> Any:
        return json.loads(self.fill(self._read(name) or "null"))

    def _write(self, path: Path, text: str, mode: int = 0o644) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        path.chmod(mode)

    # --- the node ---------------------------------------------------------------------------------
    def _build(self) -> None:
        root = self.root
        for directory in (
            "cvmfs/repo.example.org/img/etc",
            "cvmfs/repo.example.org/.flat/aa",
            "cvmfs/other.example.org/img",
            "outside/img",
        ):
            (root / directory).mkdir(parents=True, exist_ok=True)
        (root / "cvmfs/repo.example.org/img/etc/hosts").write_text("")
        (root / "cvmfs/repo.example.org/x.sif").write_text("sif")
        (root / "cvmfs/repo.example.org/link").symlink_to(".flat/aa")
        (root / "cvmfs/repo.example.org/escape").symlink_to(root / "outside/img")
        self._write(root / "victim", VICTIM)
        self._write(root / "runtime", RECORDER, 0o755)
        self.glidein.mkdir()
        for name in ("gs-job-wrapper", "gs_job_wrapper.py"):
            shutil.copy2(SCRIPTS / name, self.glidein / name)
        (self.glidein / "lib").mkdir()
        (self.glidein / "lib" / "glidein_singularity").symlink_to(PACKAGE)
        self._write(
            self.glidein / "glidein_config", self.fill(NODE_CONFIG + (self._read("glidein_config") or ""))
        )

        sandbox = self.sandbox
        sandbox.mkdir(parents=True)
        sandbox.chmod(0o755)  # a glidein's starter runs as the job's user: it always sees the error file
        self._write(sandbox / "job.sh", RECORDER, 0o755)
        self._write(sandbox / "in.txt", "input\n")
        self._write(sandbox / "my.sif", "sif")
        evil = sandbox / "evil"
        self._write(
            evil / "glidein_config",
            self.fill(
                "GLIDEIN_SINGULARITY_BINDPATH /:/host\nGLIDEIN_SINGULARITY_OPTS --writable\n"
                "CVMFS_MOUNT_DIR @NODE@/outside\nGS_FAILURE_MARKER @NODE@/victim\n"
                "GLIDEIN_CONTAINER_ENV keepall\n"
            ),
        )
        self._write(evil / "condor_chirp", CHIRP.format(node=root), 0o755)
        self._write(evil / "glidein_singularity" / "__init__.py", "raise SystemExit(77)\n")
        for name, target in (("job.ad", ".job.ad"), ("machine.ad", ".machine.ad")):
            text = self._read(name)
            if text is None:
                continue
            text = self.fill(text)
            pad = self._json("pad.json")
            if pad and name == "job.ad":
                filler = "x" * pad["bytes"]
                text += "".join('Pad{} = "{}"\n'.format(i, filler) for i in range(pad["attributes"]))
            self._write(sandbox / target, text)
            if target == ".machine.ad" and not (self.case / "machine_by_job").exists():
                starter_wrote(sandbox / target)

    # --- inputs and expectations --------------------------------------------------------------------
    @property
    def wrapper(self) -> Path:
        """The launcher the starter runs (``USER_JOB_WRAPPER``)."""
        return self.glidein / "gs-job-wrapper"

    @property
    def entry(self) -> Path:
        """The python entry the launcher runs (the wrapper's argv[0])."""
        return self.glidein / "gs_job_wrapper.py"

    def environ(self) -> dict[str, str]:
        """What the starter puts in the wrapper's environment: the node's variables, then the case's."""
        env = {
            "PATH": "/usr/bin:/bin",
            "_CONDOR_JOB_AD": str(self.sandbox / ".job.ad"),
            "_CONDOR_MACHINE_AD": str(self.sandbox / ".machine.ad"),
            "_CONDOR_SCRATCH_DIR": str(self.sandbox),
            "_CONDOR_JOB_IWD": str(self.sandbox),
            "_CONDOR_WRAPPER_ERROR_FILE": str(self.sandbox / ".job_wrapper_failure"),
            "GS_WRAPPER_FAILURE_SLEEP": "0",
            "GS_FAILURE_MARKER": str(self.root / "marker"),
            "GS_TEST_RECORD": str(self.record),
        }
        for name, value in self._json("environ.json").items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def argv(self) -> list[str]:
        """The job command the starter passes after the wrapper."""
        return list(self._json("argv.json"))

    def expected(self) -> dict[str, Any]:
        """The expected outcome, placeholders filled."""
        return dict(self._json("expected.json"))

    def untouched(self) -> list[tuple[Path, str | None]]:
        """(path, content or None for absent) of the node files the wrapper must leave alone."""
        result: list[tuple[Path, str | None]] = [(self.root / "pwned", None)]
        for name in self.expected().get("untouched", ()):
            result.append((self.root / name, VICTIM if name == "victim" else None))
        return result

    def recorded(self) -> tuple[list[str], dict[str, str]]:
        """The argv and environment the recorder saw (runtime or bare job)."""
        argv = (
            Path(str(self.record) + ".argv").read_bytes().decode("utf-8", "surrogateescape").split("\0")[:-1]
        )
        env = {}
        for item in (
            Path(str(self.record) + ".env").read_bytes().decode("utf-8", "surrogateescape").split("\0")
        ):
            name, equals, value = item.partition("=")
            if equals:
                env[name] = value
        return argv, env
