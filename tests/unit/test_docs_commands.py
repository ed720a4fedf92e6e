"""Every shell command the documentation shows is one the tests or the demo run.

Commands are the ``$ `` lines of fenced ``console`` blocks in docs/**/*.md; other shell-like fence
languages are not allowed, so a command cannot hide from this test. Each command must be one of:

- ``glidein-singularity ...``: its sub-command and options parse with ``cli.build_parser()``, and the
  repository files it reads exist (or were written by an earlier command on the same page);
- ``glidein_scripts/gs-<name> ...``: the launcher exists and the arguments parse with the parser of
  ``glidein_singularity.node.<name>`` (the script tests run these entry points);
- ``bash quickstart.sh demo|test``: the quick-start commands;
- ``tox -e ENV``: an environment of tox.ini;
- ``python3 -m pip install .``: the install from a checkout (tests/scripts/test_install.py builds and
  uses that wheel).
"""

import importlib.util
import pathlib
import re
import shlex

import pytest

from glidein_singularity import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Options whose value is written, not read.
OUTPUT_OPTIONS = ("-o", "--output", "--output-dir", "--config-out", "--work-dir", "--scripts-dir")
#: HTCondor's own commands a page may pipe into ours (they run in the pool test of explain).
HTCONDOR_TOOLS = ("condor_q", "condor_status")
SHELL_FENCES = ("bash", "sh", "shell", "zsh", "shell-session", "shellsession", "sh-session")
_FENCE = re.compile(r"^(```+|~~~+)\s*\{?([\w-]*)\}?")


def _blocks(text):
    """Yield (language, first line number, lines) of every fenced block."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, language, start = match.group(1), match.group(2).lower(), index + 1
        body = []
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1
        yield language, start, body


def shown_commands():
    """(page, line, command, outputs written by earlier commands of the page) for every console line."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        produced = set()
        for language, start, body in _blocks(page.read_text(encoding="utf-8")):
            if language != "console":
                continue
            for offset, line in enumerate(body, 1):
                if line.startswith("$ "):
                    command = line[2:].strip()
                    found.append((page.relative_to(ROOT).as_posix(), start + offset, command, set(produced)))
                    words = shlex.split(command)
                    produced.update(_outputs(words))
    return found


def _outputs(words):
    return {words[i + 1] for i, word in enumerate(words[:-1]) if word in OUTPUT_OPTIONS}


def _looks_like_repo_file(word):
    if re.match(r"^\d+(\.\d+)?$", word):  # a job id, CLUSTER.PROC
        return False
    return not word.startswith(("-", "/")) and "=" not in word and ("/" in word or re.search(r"\.\w+$", word))


def _check_inputs(words, produced):
    outputs = _outputs(words)
    for word in words[1:]:
        if word in outputs or not _looks_like_repo_file(word):
            continue
        assert (ROOT / word).exists() or word in produced, (
            "{!r} is neither a repository file nor written by an earlier command of the page".format(word)
        )


def _node_parser(name):
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "tools" / "gen_docs.py")
    gen_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_docs)
    module = importlib.import_module("glidein_singularity.node." + name)
    return gen_docs._node_parser(module)


COMMANDS = shown_commands()


def test_the_docs_show_commands():
    """The guides show commands at all (the extraction works)."""
    assert len(COMMANDS) >= 5


def test_no_shell_block_escapes_the_check():
    """Shell commands are shown only in `console` blocks, the ones this test checks."""
    offenders = []
    for page in sorted(DOCS.rglob("*.md")):
        for language, start, _ in _blocks(page.read_text(encoding="utf-8")):
            if language in SHELL_FENCES:
                offenders.append("{}:{} ({})".format(page.relative_to(ROOT), start, language))
    assert [] == offenders


def test_console_blocks_hold_only_prompted_commands_or_output():
    """Every console block has at least one `$ ` command line."""
    for page in sorted(DOCS.rglob("*.md")):
        for language, start, body in _blocks(page.read_text(encoding="utf-8")):
            if language == "console":
                assert any(line.startswith("$ ") for line in body), "{}:{}".format(page, start)


@pytest.mark.parametrize(
    ("page", "line", "command", "produced"),
    COMMANDS,
    ids=["{}:{}".format(page, line) for page, line, _, _ in COMMANDS],
)
def test_shown_command_is_exercised(page, line, command, produced):
    """The command parses with the real parser of its program and reads only files that exist."""
    if " | " in command:  # HTCondor's own tool feeding ours: `condor_q -l 123 | glidein-singularity ...`
        source, command = command.split(" | ", 1)
        assert shlex.split(source)[0] in HTCONDOR_TOOLS, "{}:{}: `{}`".format(page, line, source)
    words = shlex.split(command)
    program = words[0]
    if program == "glidein-singularity":
        try:
            args = cli.build_parser().parse_args(words[1:])
        except SystemExit as exc:  # argparse: usage error
            pytest.fail("{}:{}: `{}` does not parse (exit {})".format(page, line, command, exc.code))
        assert getattr(args, "_module", None) is not None, "no sub-command in `{}`".format(command)
        _check_inputs(words, produced)
    elif program.startswith("glidein_scripts/gs-"):
        launcher = ROOT / program
        assert launcher.is_file(), "{} does not exist".format(program)
        parser = _node_parser(program[len("glidein_scripts/gs-") :].replace("-", "_"))
        assert parser is not None, "{} has no argument parser to check `{}` against".format(program, command)
        try:
            parser.parse_args(words[1:])
        except SystemExit as exc:
            pytest.fail("{}:{}: `{}` does not parse (exit {})".format(page, line, command, exc.code))
        _check_inputs(words, produced)
    elif words[:2] == ["bash", "quickstart.sh"]:
        assert len(words) == 3
        assert words[2] in ("demo", "test")
        assert "    {})".format(words[2]) in (ROOT / "quickstart.sh").read_text(encoding="utf-8")
    elif words == ["python3", "-m", "pip", "install", "."]:
        assert (ROOT / "setup.cfg").is_file()
    elif words[:2] == ["tox", "-e"] and len(words) == 3:
        assert "[testenv:{}]".format(words[2]) in (ROOT / "tox.ini").read_text(encoding="utf-8")
    else:
        pytest.fail("{}:{}: `{}` is not a command the tests or the demo run".format(page, line, command))


@pytest.mark.parametrize(
    ("job_ad", "status", "image"),
    [
        pytest.param("docs/examples/job.ad", 0, "docker://rockylinux/rockylinux:8", id="plan"),
        pytest.param("docs/examples/job-rhel7.ad", 1, None, id="refusal"),
    ],
)
def test_user_guide_explain_examples(job_ad, status, image, tmp_path, capsys):
    """The explain examples of the user guide give the image, exit status and message the guide shows."""
    import json

    machine_ad = str(ROOT / "docs" / "examples" / "machine.ad")
    argv = ["explain", "--job-ad", str(ROOT / job_ad), "--machine-ad", machine_ad, "--format", "json"]
    assert status == cli.main([*argv, "--sandbox", str(tmp_path)])
    data = json.loads(capsys.readouterr().out)
    assert image == data["image"]
    guide = (DOCS / "guides" / "user.md").read_text(encoding="utf-8")
    if data["error"] is None:
        assert "`image: {}`".format(image) in guide
        assert data["reasons"][0] in guide
    else:
        assert '"error": {},'.format(json.dumps(data["error"])) in guide


def test_ep_guides_agree_on_the_local_settings_file():
    """The EP guide and the factory page agree: GS_LIBEXEC/GS_NODE_CONFIG in 49-...-local.config, read
    before the snippets; the node settings file is named; gs-setup is not run as a user into /etc."""
    ep = " ".join((DOCS / "guides" / "ep-admin.md").read_text(encoding="utf-8").split())
    factory = " ".join((DOCS / "deploy-factory.md").read_text(encoding="utf-8").split())
    for text in (ep, factory):
        assert "49-glidein-singularity-local.config" in text
        assert "read after the snippets" not in text
    assert "`49-glidein-singularity-local.config`, read before the snippets" in factory
    assert "GS_NODE_CONFIG = /etc/condor/config.d/55-glidein-singularity-node.config" in ep
    assert "Run it as a user your jobs run as" not in ep
    assert "--config-out /etc/condor/config.d/" not in ep
