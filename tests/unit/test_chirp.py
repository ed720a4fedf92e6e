"""condor_chirp inside the container: the plan's decision, the wrapper's install, and our client against a
Chirp server that answers as the starter's I/O proxy does (protocol checks only: the real proxy is in
tests/integration/test_wrapper_pool.py)."""

import os
import socket
import subprocess
import sys
import threading

import pytest

from glidein_singularity.node import chirp
from glidein_singularity.node.tools import install_chirp

from .plan_fixtures import SANDBOX, run_plan

CONFIG = SANDBOX + "/.chirp.config"


def test_the_plan_puts_condor_chirp_on_the_path_inside_for_io_proxy_jobs():
    launch = run_plan(job={"WantIOProxy": True}, environ={"_CONDOR_CHIRP_CONFIG": CONFIG})

    assert SANDBOX + "/.gs_bin" == launch.tools_dir
    assert "/srv/.gs_bin" == launch.env_set["APPTAINERENV_PREPEND_PATH"]
    assert "/srv/.gs_bin" == launch.env_set["SINGULARITYENV_PREPEND_PATH"]
    assert "/srv/.chirp.config" == launch.env_set["APPTAINERENV__CONDOR_CHIRP_CONFIG"]
    assert any("condor_chirp" in reason for reason in launch.reasons)


@pytest.mark.parametrize(
    ("job", "environ"),
    [
        ({}, {"_CONDOR_CHIRP_CONFIG": CONFIG}),  # the job set the variable; the starter runs no proxy
        ({"WantIOProxy": True}, {}),  # asked, but the starter wrote no config
        ({"WantIOProxy": False}, {"_CONDOR_CHIRP_CONFIG": CONFIG}),
    ],
)
def test_no_condor_chirp_without_the_starters_io_proxy(job, environ):
    launch = run_plan(job=job, environ=environ)

    assert launch.tools_dir is None
    assert "APPTAINERENV_PREPEND_PATH" not in launch.env_set


def test_the_jobs_own_prepend_path_comes_after_ours():
    launch = run_plan(
        job={"WantIOProxy": True, "Environment": "PREPEND_PATH=/opt/mine"},
        environ={"_CONDOR_CHIRP_CONFIG": CONFIG, "PREPEND_PATH": "/opt/mine"},
    )

    assert "/srv/.gs_bin:/opt/mine" == launch.env_set["APPTAINERENV_PREPEND_PATH"]


def test_a_proxy_config_outside_the_job_directory_gives_no_chirp():
    launch = run_plan(job={"WantIOProxy": True}, environ={"_CONDOR_CHIRP_CONFIG": "/elsewhere/.chirp.config"})

    assert launch.tools_dir is None
    assert any("outside the job directory" in reason for reason in launch.reasons)


def test_install_writes_the_client_and_never_follows_the_jobs_links(tmp_path):
    """The job's user owns the job directory: a planted symlink in place of the directory or the file
    is never written through."""
    victim = tmp_path / "victim"
    victim.write_text("glidein file\n")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / ".gs_bin").mkdir()
    (sandbox / ".gs_bin" / "condor_chirp").symlink_to(victim)

    install_chirp(str(sandbox / ".gs_bin"))

    installed = sandbox / ".gs_bin" / "condor_chirp"
    assert not installed.is_symlink()
    assert 0o755 == installed.stat().st_mode & 0o777
    assert installed.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert "glidein file\n" == victim.read_text()
    assert ["condor_chirp"] == os.listdir(str(sandbox / ".gs_bin"))

    other = tmp_path / "other"
    other.mkdir()
    (sandbox / ".gs_bin").rename(tmp_path / "moved")
    (sandbox / ".gs_bin").symlink_to(other)
    with pytest.raises(OSError, match=r"Too many levels of symbolic links|Not a directory"):
        install_chirp(str(sandbox / ".gs_bin"))
    assert [] == os.listdir(str(other))


class FakeProxy:
    """A one-connection-at-a-time Chirp server: checks the cookie, records the requests, answers."""

    def __init__(self, cookie="c00kie", attrs=None):
        self.cookie = cookie
        self.attrs = dict(attrs or {})
        self.requests = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                authenticated = False
                for raw in stream:
                    words = _unescape(raw.decode().rstrip("\n"))
                    self.requests.append(words)
                    if words[0] == "cookie":
                        authenticated = words[1:] == [self.cookie]
                        stream.write(b"0\n" if authenticated else b"-1\n")
                    elif not authenticated:
                        stream.write(b"-1\n")
                    elif words[0] in ("set_job_attr", "set_job_attr_delayed"):
                        self.attrs[words[1]] = words[2]
                        stream.write(b"0\n")
                    elif words[0] in ("get_job_attr", "get_job_attr_delayed"):
                        value = self.attrs.get(words[1])
                        if value is None:
                            stream.write(b"-3\n")
                        else:
                            stream.write(b"%d\n%s" % (len(value), value.encode()))
                    elif words[0] == "ulog":
                        stream.write(b"0\n")
                    else:
                        stream.write(b"-8\n")
                    stream.flush()

    def close(self):
        self.server.close()


def _unescape(line):
    words, word, escaped = [], "", False
    for char in line:
        if escaped:
            word, escaped = word + char, False
        elif char == "\\":
            escaped = True
        elif char == " ":
            words.append(word)
            word = ""
        else:
            word += char
    return [*words, word]


@pytest.fixture
def proxy(tmp_path, monkeypatch):
    server = FakeProxy(attrs={"Owner": '"tuser"'})
    config = tmp_path / ".chirp.config"
    config.write_text("127.0.0.1 {} c00kie\n".format(server.port))
    monkeypatch.setenv("_CONDOR_CHIRP_CONFIG", str(config))
    yield server
    server.close()


def test_set_job_attr_and_ulog_speak_the_proxys_protocol(proxy):
    assert 0 == chirp.main(["set_job_attr", "GS_Chirped", '"a b\\c"'])
    assert 0 == chirp.main(["ulog", "step 1 done\tok"])

    assert ["cookie", "c00kie"] == proxy.requests[0]
    assert ["set_job_attr", "GS_Chirped", '"a b\\c"'] == proxy.requests[1]
    assert ["ulog", "step 1 done\tok"] == proxy.requests[-1]


def test_get_job_attr_prints_the_value(proxy, capfd):
    assert 0 == chirp.main(["get_job_attr", "Owner"])

    assert '"tuser"\n' == capfd.readouterr().out


def test_an_error_answer_is_a_message_and_status_1(proxy, capfd):
    assert 1 == chirp.main(["get_job_attr", "NoSuchAttr"])

    assert "condor_chirp: get_job_attr: no such object (-3)\n" == capfd.readouterr().err


def test_a_wrong_cookie_is_refused(proxy, tmp_path, capfd):
    (tmp_path / ".chirp.config").write_text("127.0.0.1 {} wrong\n".format(proxy.port))

    assert 1 == chirp.main(["ulog", "x"])
    assert "not authenticated" in capfd.readouterr().err


def test_without_the_proxy_the_message_says_what_to_do(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("_CONDOR_CHIRP_CONFIG", str(tmp_path / "missing"))

    assert 1 == chirp.main(["set_job_attr", "A", "1"])
    assert "want_io_proxy = true" in capfd.readouterr().err


@pytest.mark.parametrize("args", [[], ["fetch", "a", "b"], ["set_job_attr", "only-name"]])
def test_usage(args, capfd):
    assert 2 == chirp.main(args)
    assert "usage: condor_chirp" in capfd.readouterr().err


def test_the_installed_copy_runs_alone(proxy, tmp_path):
    """The copy in the job directory imports nothing of ours: it runs with a bare interpreter."""
    install_chirp(str(tmp_path / "bin"))
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "bin" / "condor_chirp"), "set_job_attr", "X", "1"],
        env={"_CONDOR_CHIRP_CONFIG": os.environ["_CONDOR_CHIRP_CONFIG"]},
        capture_output=True,
        cwd=str(tmp_path),
        check=False,
    )

    assert (0, b"") == (result.returncode, result.stderr)
    assert "1" == proxy.attrs["X"]
