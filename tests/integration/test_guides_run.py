"""The guides' commands work verbatim: every console block marked ``% gs:run`` in the user, EP-admin and
frontend-admin guides runs in the bed, line by line, with the exit status the guide implies.

A marker is a MyST comment on the line before the block: ``% gs:run [as=root] [exit=N[,N...]]``
(``as``: the user, by default the job user ``tuser``; ``exit``: each command's expected status, by
default 0). The commands run in a writable copy of the repository's files, with ``glidein-singularity``
on ``PATH`` as an installed package puts it there. The site the guides talk about is laid out as a site
has it: every ``/cvmfs/singularity.opensciencegrid.org/...`` image the pages and their input files name
is the bed's test image. Blocks that need a particular queued job (``explain 123.0``) are not marked:
tests/integration/test_install_ep_pool.py runs the same commands on real job ids.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed import Session
from tests.testbed import glidein as g

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("docs/guides/user.md", "docs/guides/ep-admin.md", "docs/guides/frontend-admin.md")
#: What the commands read, copied into the bed's work directory (the repository is mounted read-only).
COPIED = ("docs", "frontend", "tests/data", "glidein_scripts", "src", "condor_config.d")
WORK = "/srv/guides"
MARKER = re.compile(r"^% gs:run(?P<options>(?: \w+=\S+)*)\s*$")
IMAGE = re.compile(r"/cvmfs/singularity\.opensciencegrid\.org/[\w.+/:-]+")
TEST_IMAGE = "/cvmfs/singularity.opensciencegrid.org/gs-test/busybox:latest"
LAUNCHER = f"""#!/bin/sh
# glidein-singularity as pip installs it, from the copied source tree
PYTHONPATH={WORK}/src exec python3 -m glidein_singularity "$@"
"""


def marked_blocks(page: str) -> list[tuple[int, dict[str, str], list[str]]]:
    """(line, options, commands) of every marked console block of a page."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        marker = MARKER.match(line)
        if not marker:
            continue
        assert lines[index + 1] == "```console", f"{page}:{index + 1}: a marker must precede a console block"
        options = dict(item.split("=", 1) for item in marker.group("options").split())
        commands = []
        for body in lines[index + 2 :]:
            if body.startswith("```"):
                break
            if body.startswith("$ "):
                commands.append(body[2:])
        found.append((index + 1, options, commands))
    return found


BLOCKS = [(page, *block) for page in PAGES for block in marked_blocks(page)]


def test_every_guide_has_runnable_blocks() -> None:
    """Each of the three guides marks blocks to run (the marker syntax is the one parsed here)."""
    assert {page for page, *_ in BLOCKS} == set(PAGES)


@pytest.fixture(scope="module")
def site(bed: Session) -> Iterator[None]:
    """The work copy, the command on PATH, and the images the guides name (the site's CVMFS)."""
    bed.run(["rm", "-rf", WORK])
    bed.run(["install", "-d", "-o", "tuser", "-g", "tuser", WORK])
    for part in COPIED:
        bed.run(["mkdir", "-p", f"{WORK}/{Path(part).parent}"])
        bed.run(["cp", "-r", f"{g.REPO}/{part}", f"{WORK}/{Path(part).parent}/"])
    bed.run(["chown", "-R", "tuser:tuser", WORK])
    bed.write("/usr/local/bin/glidein-singularity", LAUNCHER, mode=0o755)
    texts = [(ROOT / page).read_text(encoding="utf-8") for page in PAGES]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "frontend").glob("*.yaml")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "data" / "gwms").glob("*.xml")]
    made = []
    named = {match.rstrip(".,:") for text in texts for match in IMAGE.findall(text)}
    for image in sorted(name for name in named if ":" in name.rsplit("/", 1)[-1]):  # images have a tag
        if not bed.path(image).exists():
            bed.run(["mkdir", "-p", str(Path(image).parent)])
            bed.run(["ln", "-s", TEST_IMAGE, image])
            made.append(image)
    before = set(bed.path("/etc/condor/config.d").iterdir())
    yield
    for path in set(bed.path("/etc/condor/config.d").iterdir()) - before:
        path.unlink()
    bed.run(
        ["rm", "-rf", WORK, "/usr/libexec/glidein-singularity", "/usr/local/bin/glidein-singularity", *made]
    )


@pytest.mark.parametrize(
    ("page", "line", "options", "commands"),
    BLOCKS,
    ids=[f"{page.rsplit('/', 1)[1]}:{line}" for page, line, _, _ in BLOCKS],
)
def test_marked_block_runs_verbatim(
    site: None, bed: Session, page: str, line: int, options: dict[str, str], commands: list[str]
) -> None:
    """Each command of the block exits as the guide says, run as the guide says, from the work copy."""
    user = options.get("as", "tuser")
    expected = [int(code) for code in options.get("exit", ",".join("0" * len(commands))).split(",")]
    assert len(expected) == len(commands), f"{page}:{line}: exit= needs one status per command"
    for command, status in zip(commands, expected):
        run = bed.run(
            ["/bin/sh", "-c", "cd {} && {}".format(shlex.quote(WORK), command)],
            user=None if user == "root" else user,
            check=False,
            timeout=180,
        )
        assert status == run.returncode, (
            f"{page}:{line}: `{command}`\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        )
        assert "Traceback" not in run.stderr, f"{page}:{line}: `{command}`\n{run.stderr}"
