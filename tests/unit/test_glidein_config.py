"""glidein_config, condor vars and error_gen result files, written and parsed back."""

import os
import re
import xml.etree.ElementTree as ET

import pytest

from glidein_singularity.errors import ConfigError
from glidein_singularity.glidein_config import (
    CondorVar,
    add_condor_vars_line,
    add_condor_vars_lines,
    add_config_line,
    add_config_lines,
    format_condor_vars_line,
    format_result,
    parse_condor_vars,
    parse_glidein_config,
    read_glidein_config,
    write_result_error,
    write_result_ok,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A 1\nB two words\n", {"A": "1", "B": "two words"}, id="rest-of-line"),
        pytest.param("A 1\nA 2\n", {"A": "2"}, id="last-wins"),
        pytest.param("A  leading\n", {"A": " leading"}, id="value-verbatim"),
        pytest.param("A trailing \n", {"A": "trailing "}, id="trailing-kept"),
        pytest.param("ONLYKEY\n", {"ONLYKEY": ""}, id="key-only"),
        pytest.param("A \n", {"A": ""}, id="empty-value"),
        pytest.param("\n\nA 1\n\n", {"A": "1"}, id="blank-lines"),
        pytest.param("a 1\nA 2\n", {"a": "1", "A": "2"}, id="case-sensitive"),
        pytest.param(
            "D rhel9:/cvmfs/x:latest,rhel8:y\n", {"D": "rhel9:/cvmfs/x:latest,rhel8:y"}, id="colons"
        ),
        pytest.param("A 1", {"A": "1"}, id="no-final-newline"),
    ],
)
def test_parse_glidein_config(text, expected):
    """The value is the rest of the line after the first space; the last line wins."""
    assert expected == parse_glidein_config(text)


def test_read_missing_names_file(tmp_path):
    """A missing glidein_config is a ConfigError naming the file."""
    path = tmp_path / "glidein_config"
    with pytest.raises(ConfigError) as info:
        read_glidein_config(str(path))
    assert "cannot read glidein_config {}: No such file or directory".format(path) == str(info.value)


def test_add_config_line_replaces_key(tmp_path):
    """add_config_line drops the key's lines (not prefixes of other keys) and appends one line."""
    path = tmp_path / "glidein_config"
    path.write_text("A 1\nAB 2\nA 3\nC x\n")
    add_config_line(str(path), "A", "new value")
    expected = "AB 2\nC x\nA new value\n"
    assert expected == path.read_text()


def test_add_config_line_creates_file(tmp_path):
    """A missing glidein_config is created."""
    path = tmp_path / "glidein_config"
    add_config_line(str(path), "K", "v")
    expected = "K v\n"
    assert expected == path.read_text()


def test_add_config_lines_one_rewrite(tmp_path):
    """Several keys are set in one rewrite, in order, last duplicate winning."""
    path = tmp_path / "glidein_config"
    path.write_text("X 0\nY 0\n")
    add_config_lines(str(path), [("Y", "1"), ("Z", "2"), ("Y", "3")])
    expected = ("X 0\nY 3\nZ 2\n", {"X": "0", "Y": "3", "Z": "2"})
    assert expected == (
        path.read_text(),
        read_glidein_config(str(path)),
    )


def test_add_config_line_keeps_mode_and_leaves_no_temp(tmp_path):
    """The rewrite keeps the file mode and leaves no temporary file behind."""
    path = tmp_path / "glidein_config"
    path.write_text("A 1\n")
    path.chmod(0o640)
    add_config_line(str(path), "B", "2")
    expected = (0o640, ["glidein_config", "glidein_config.history"])
    assert expected == (
        path.stat().st_mode & 0o777,
        sorted(os.listdir(tmp_path)),
    )


def test_add_config_line_history(tmp_path):
    """Each set key is logged to glidein_config.history as GlideinWMS does."""
    path = tmp_path / "glidein_config"
    add_config_lines(str(path), [("A", "1"), ("B", "x y")])
    expected = "REG{0} A 1\nREG{0} B x y\n".format(os.getpid())
    assert expected == (tmp_path / "glidein_config.history").read_text()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param(
            "A B",
            "1",
            "glidein_config {p}: invalid key 'A B': keys must be non-empty and contain no blanks",
            id="blank-in-key",
        ),
        pytest.param(
            "",
            "1",
            "glidein_config {p}: invalid key '': keys must be non-empty and contain no blanks",
            id="empty-key",
        ),
        pytest.param(
            "A", "1\n2", "glidein_config {p}: value of A must be one line, got '1\\n2'", id="newline"
        ),
    ],
)
def test_add_config_line_rejects(tmp_path, key, value, expected):
    """Keys with blanks and multi-line values are refused, naming the file and key."""
    path = tmp_path / "glidein_config"
    with pytest.raises(ConfigError) as info:
        add_config_line(str(path), key, value)
    assert expected.format(p=path) == str(info.value)


def test_condor_vars_line_format():
    """A condor vars line has the 7 GlideinWMS columns, separated by one space."""
    var = CondorVar("HAS_SINGULARITY", "C", "-", "+", "Y", "Y", "+")
    expected = "HAS_SINGULARITY C - + Y Y +"
    assert expected == format_condor_vars_line(var)


def test_condor_vars_defaults():
    """By default a variable goes to the startd only."""
    expected = "X S - + N Y -"
    assert expected == format_condor_vars_line(CondorVar("X", "S"))


@pytest.mark.parametrize(
    ("var", "expected"),
    [
        pytest.param(
            CondorVar("X", "B"), "condor vars line for X: type must be S, C or I, got 'B'", id="type"
        ),
        pytest.param(
            CondorVar("X", "S", "a b"),
            "condor vars line for X: field default must be one non-empty word, got 'a b'",
            id="blank",
        ),
        pytest.param(
            CondorVar("X", "S", ""),
            "condor vars line for X: field default must be one non-empty word, got ''",
            id="empty",
        ),
    ],
)
def test_condor_vars_line_rejects(var, expected):
    """Invalid condor vars fields are refused, naming the variable and field."""
    with pytest.raises(ConfigError) as info:
        format_condor_vars_line(var)
    assert expected == str(info.value)


def test_add_condor_vars_line_replaces(tmp_path):
    """The line of the same name is replaced; other lines, comments and prefixes stay."""
    path = tmp_path / "condor_vars.lst"
    path.write_text("# comment\nHAS_SINGULARITY C False + N Y -\nHAS_SINGULARITY_X S - + N Y -\n")
    add_condor_vars_line(str(path), CondorVar("HAS_SINGULARITY", "C", "-", "+", "Y", "Y", "+"))
    expected = "# comment\nHAS_SINGULARITY_X S - + N Y -\nHAS_SINGULARITY C - + Y Y +\n"
    assert expected == path.read_text()


def test_add_condor_vars_lines_round_trip(tmp_path):
    """Lines written in one rewrite parse back to the same variables."""
    path = tmp_path / "condor_vars.lst"
    variables = [CondorVar("A", "S"), CondorVar("B", "C", "-", "+", "Y", "Y", "+")]
    add_condor_vars_lines(str(path), variables)
    assert {"A": variables[0], "B": variables[1]} == parse_condor_vars(path.read_text())


def test_parse_condor_vars_rejects_short_line():
    """A line without 7 fields is refused, quoting it."""
    with pytest.raises(ConfigError) as info:
        parse_condor_vars("A S -\n")
    expected = "condor vars line must have 7 fields, got 3: 'A S -'"
    assert expected == str(info.value)


def test_format_result_ok_layout():
    """The OK result has error_gen.sh's exact layout."""
    text = format_result(
        "gs-setup", "OK", [("use_singularity", "True")], timestamp="2026-01-02T03:04:05+00:00"
    )
    expected = (
        '<?xml version="1.0"?>\n'
        '<OSGTestResult id="gs-setup" version="4.3.1">\n'
        "  <result>\n"
        "    <status>OK</status>\n"
        '    <metric name="use_singularity" ts="2026-01-02T03:04:05+00:00" uri="local">True</metric>\n'
        "  </result>\n"
        "</OSGTestResult>\n"
    )
    assert expected == text


def test_format_result_error_layout():
    """The ERROR result has the failure metric first and the detail indented by 4 spaces per line."""
    text = format_result(
        "gs-setup",
        "ERROR",
        [("failure", "WN_Resource"), ("attribute", "X")],
        detail="line one\nline <two> & more",
        timestamp="T",
    )
    expected = (
        '<?xml version="1.0"?>\n'
        '<OSGTestResult id="gs-setup" version="4.3.1">\n'
        "  <result>\n"
        "    <status>ERROR</status>\n"
        '    <metric name="failure" ts="T" uri="local">WN_Resource</metric>\n'
        '    <metric name="attribute" ts="T" uri="local">X</metric>\n'
        "  </result>\n"
        "  <detail>\n"
        "    line one\n"
        "    line &lt;two&gt; &amp; more\n"
        "  </detail>\n"
        "</OSGTestResult>\n"
    )
    assert expected == text


def test_write_result_ok_parses(tmp_path):
    """write_result_ok writes otrb_output.xml that parses, with an ISO timestamp with zone."""
    path = write_result_ok("gs-setup", {"use_singularity": "False"}, directory=str(tmp_path))
    root = ET.parse(path).getroot()
    metric = root.find("result/metric")
    assert (
        str(tmp_path / "otrb_output.xml"),
        "gs-setup",
        "OK",
        ("use_singularity", "False"),
        True,
    ) == (
        path,
        root.get("id"),
        root.findtext("result/status"),
        (metric.get("name"), metric.text),
        bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", metric.get("ts"))),
    )


def test_write_result_error_parses(tmp_path):
    """write_result_error puts the failure type first and the detail in <detail>."""
    path = write_result_error(
        "gs-setup", "VO_Config", 'bad "value" <x>', {"attribute": "GLIDEIN_Singularity_Use"}, str(tmp_path)
    )
    root = ET.parse(path).getroot()
    metrics = [(m.get("name"), m.text) for m in root.iter("metric")]
    expected = (
        "ERROR",
        [("failure", "VO_Config"), ("attribute", "GLIDEIN_Singularity_Use")],
        'bad "value" <x>',
    )
    assert expected == (root.findtext("result/status"), metrics, root.findtext("detail").strip())


def test_write_result_error_rejects_unknown_type(tmp_path):
    """An unknown failure type is refused, listing the accepted ones."""
    with pytest.raises(ConfigError) as info:
        write_result_error("gs-setup", "Oops", "d", {}, str(tmp_path))
    expected = (
        "error_gen failure type 'Oops' is not one of WN_Resource, Network, Config, VO_Config, Corruption, "
        "VO_Proxy"
    )
    assert expected == str(info.value)


def test_format_result_escapes_attributes():
    """Quotes, angle brackets and newlines in ids and metric names stay inside well-formed attributes."""
    text = format_result('a"b<c>', "OK", [("x\ny&", "v")], timestamp="T")
    root = ET.fromstring(text)
    expected = ('a"b<c>', "x\ny&", "v")
    assert expected == (
        root.get("id"),
        root.find("result/metric").get("name"),
        root.find("result/metric").text,
    )
