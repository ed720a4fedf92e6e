"""The generated documentation files are what tools/gen_docs.py makes of the current code."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "tools" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()


@pytest.mark.parametrize("name", sorted(gen_docs.PAGES))
def test_committed_page_is_current(name):
    """Each committed generated file equals what the generator writes from the code now."""
    path = ROOT / "docs" / name
    assert path.is_file(), "docs/{} is missing: run `python tools/gen_docs.py` and commit it".format(name)
    expected = gen_docs.PAGES[name]()
    message = "docs/{} is stale (the code changed): run `python tools/gen_docs.py` and commit the result"
    assert expected == path.read_text(encoding="utf-8"), message.format(name)


def test_generator_writes_into_a_directory_and_checks_it(tmp_path):
    """`gen_docs.py --out DIR` writes every file, and `--check --out DIR` then finds nothing stale."""
    assert 0 == gen_docs.main(["--out", str(tmp_path)])
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(gen_docs.PAGES) == written
    assert 0 == gen_docs.main(["--check", "--out", str(tmp_path)])
    (tmp_path / "reference" / "cli.md").write_text("edited by hand\n", encoding="utf-8")
    assert 1 == gen_docs.main(["--check", "--out", str(tmp_path)])


def test_every_cli_command_is_in_the_cli_reference():
    """A sub-command registered in cli.COMMANDS appears in the CLI reference without editing the docs."""
    from glidein_singularity import cli

    text = gen_docs.page_cli()
    for name, _, _ in cli.COMMANDS:
        assert "### glidein-singularity {}\n".format(name) in text


def test_negotiation_picture_has_one_cell_per_table_entry():
    """The SVG grid draws every cell of policy.NEGOTIATION_TABLE with its outcome's colour."""
    from glidein_singularity import policy

    svg = gen_docs.negotiation_svg()
    cells = [line for line in svg.splitlines() if line.startswith("<rect") and 'stroke="#ffffff"' in line]
    assert len(policy.NEGOTIATION_TABLE) == len(cells)
    for outcome in policy.Outcome:
        fill, _ = gen_docs.OUTCOME_COLORS[outcome.value]
        expected = sum(1 for value in policy.NEGOTIATION_TABLE.values() if value is outcome)
        assert expected == sum('fill="{}"'.format(fill) in cell for cell in cells)
