"""Where a remote image comes from (store.py, pure) and the store's own bookkeeping (node.imagestore:
locks, leases held by live processes, LRU eviction, the classification of fetch failures) on real
files and real processes; the fetch itself is shown in the pool (test_image_store_pool.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from glidein_singularity import store
from glidein_singularity.node import imagestore

HUB = "/cvmfs/unpacked.cern.ch/registry.hub.docker.com"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("docker://busybox", (f"{HUB}/library/busybox:latest",)),
        ("docker://atlas/athanalysis:24.2", (f"{HUB}/atlas/athanalysis:24.2",)),
        ("docker://index.docker.io/atlas/x:1", (f"{HUB}/atlas/x:1",)),
        ("docker://ghcr.io/o/img:2", ("/cvmfs/unpacked.cern.ch/ghcr.io/o/img:2",)),
        ("docker://busybox@sha256:" + "a" * 64, ()),  # a digest cannot be found in the tag layout
        ("docker://reg.io/../../etc:1", ()),
        ("oras://reg.io/x:1", ()),
    ],
)
def test_unpacked_candidates(ref: str, expected: tuple[str, ...]) -> None:
    assert expected == store.unpacked_candidates(ref, ("/cvmfs/unpacked.cern.ch/",))


def test_key_is_a_hash_of_the_canonical_form() -> None:
    """Two spellings of one image share an entry; the entry name is hex only, whatever the text."""
    one = store.fetch_for("docker://busybox", "/s", "", "", "")
    two = store.fetch_for("docker://docker.io/library/busybox:latest", "/s", "", "", "")
    assert one is not None
    assert two is not None
    assert one.key == two.key
    assert one.key == "docker.3a.2f.2fdocker.2eio.2flibrary.2fbusybox.3alatest"
    assert "sha256-" == store.store_key("docker://r.io/" + "a" * 300)[:7]
    assert store.store_key("docker://r.io/a.b:1") != store.store_key("docker://r.io/a.2eb:1")
    assert f"/s/images/{one.key}/image" == one.image


@pytest.mark.parametrize(
    ("setting", "local_tmp", "expected"),
    [
        ("", "/g/tmp", "/g/tmp/gs-image-store"),
        ("/data/img/", "/g/tmp", "/data/img"),
        ("none", "/g/tmp", None),
        ("relative/dir", "/g/tmp", None),
        ("", "", None),
        ("/a:b", "", None),
    ],
)
def test_store_root(setting: str, local_tmp: str, expected: str | None) -> None:
    assert expected == store.store_root(setting, local_tmp)


def test_insecure_only_for_listed_registries_and_http() -> None:
    assert store.fetch_for("docker://127.0.0.1:5000/a:1", "/s", "127.0.0.1:5000", "", "").insecure
    assert not store.fetch_for("docker://reg.io/a:1", "/s", "127.0.0.1:5000", "", "").insecure
    assert store.fetch_for("http://h/x.sif", "/s", "", "", "").insecure
    assert store.fetch_for("library://a/b/c", "/s", "", "", "") is None


def test_locate_prefers_unpacked_then_store_hit_then_miss() -> None:
    ref = "docker://busybox:1"
    fetch = store.fetch_for(ref, "/s", "", "", "")
    assert fetch is not None
    meta = store.entry_dir("/s", fetch.key) + "/meta"

    def located(dirs: set[str], files: set[str]) -> store.Located:
        return store.locate(
            ref, store.DEFAULT_UNPACKED_ROOTS, "/s", "", "", "", "", files.__contains__, dirs.__contains__
        )

    unpacked = located({f"{HUB}/library/busybox:1"}, set())
    hit = located(set(), {meta})
    miss = located(set(), set())
    assert (f"{HUB}/library/busybox:1", None) == (unpacked.local, unpacked.fetch)
    assert (None, fetch, True) == (hit.local, hit.fetch, hit.cached)
    assert (None, fetch, False) == (miss.local, miss.fetch, miss.cached)
    assert "nothing fetched" in unpacked.reason
    assert "cached" in hit.reason
    assert "fetches it once" in miss.reason


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        (
            "FATAL: GET http://r/v2/a/manifests/nope: MANIFEST_UNKNOWN: manifest unknown; map[Tag:nope]",
            "user",
        ),
        ('Get "http://127.0.0.1:5001/v2/": dial tcp 127.0.0.1:5001: connect: connection refused', "outage"),
        ("lookup reg.example: no such host", "outage"),
        ("mksquashfs: no space left on device", "node"),
    ],
)
def test_classify(output: str, kind: str) -> None:
    assert kind == imagestore.classify(output)


def _entry(root: str, key: str, size: int, used: float) -> str:
    entry = os.path.join(root, "images", key)
    os.makedirs(os.path.join(entry, "image", "bin"))
    with open(os.path.join(entry, "meta"), "w") as handle:
        handle.write(f"canonical {key}\nbytes {size}\n")
    os.utime(entry, (used, used))
    return entry


def test_store_is_refused_when_not_ours_or_open(tmp_path) -> None:
    root = tmp_path / "store"
    imagestore.open_store(str(root))
    assert 0o700 == root.stat().st_mode & 0o777
    os.chmod(root, 0o777)
    with pytest.raises(imagestore.StoreError, match="writable by group or others"):
        imagestore.open_store(str(root))
    os.chmod(root, 0o700)
    link = tmp_path / "link"
    link.symlink_to(root)
    with pytest.raises(imagestore.StoreError, match="not a directory"):
        imagestore.open_store(str(link))


def test_eviction_skips_leased_entries_and_takes_lru_first(tmp_path) -> None:
    """A live process's lease protects its entry; a dead process's lease does not; LRU order."""
    root = str(tmp_path / "store")
    imagestore.open_store(root)
    old = _entry(root, "old", 1000, 100.0)
    _entry(root, "mid", 1000, 200.0)
    _entry(root, "new", 1000, 300.0)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        imagestore._lease(old, holder.pid)
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        )
        imagestore._lease(os.path.join(root, "images", "mid"), int(dead.stdout))

        assert not imagestore._make_room(root, 2500, 3000, keep="new")  # "old" is in use
        assert imagestore._make_room(root, 1000, 3000, keep="new")
        assert ["new", "old"] == sorted(key for key, _size, _used in imagestore.entries(root))
        assert not imagestore.evict(root, "old")
    finally:
        holder.kill()
        holder.wait()
    assert imagestore.evict(root, "old")  # its process is gone


def test_waiter_gives_up_at_its_deadline(tmp_path) -> None:
    """A fetch holding the lock longer than the bound makes the others give up (requeue), not hang."""
    root = str(tmp_path / "store")
    imagestore.open_store(root)
    fetch = store.fetch_for("docker://busybox:1", root, "", "1", "1")
    assert fetch is not None
    lock = os.path.join(root, "locks", fetch.key)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl,time; f=open({lock!r},'w'); fcntl.flock(f,2); print(1,flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline()
        imagestore.LOCK_MARGIN, saved = 0.5, imagestore.LOCK_MARGIN
        try:
            outcome = imagestore.acquire(fetch, "/bin/false")
        finally:
            imagestore.LOCK_MARGIN = saved
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert (False, "outage") == (outcome.ok, outcome.kind)
    assert 1.4 < outcome.seconds < 5


@pytest.mark.parametrize(
    ("path", "problem", "free", "status"),
    [
        ("", "", 0, "skip"),
        ("/g/store", "/g/store belongs to uid 0, not to this glidein's user (uid 1000)", 0, "fail"),
        ("/g/store", "", 100, "fail"),
        ("/g/store", "", 50000, "pass"),
    ],
)
def test_doctor_image_store_check(path: str, problem: str, free: int, status: str) -> None:
    from glidein_singularity.node.doctor import check_image_store

    result = check_image_store(path, problem, free, (2, 40))
    assert (status, False) == (result.status, result.required)
    assert bool(result.hint) == (status == "fail")


def test_doctor_image_store_facts_create_nothing(tmp_path) -> None:
    from glidein_singularity.node.doctor import _image_store_facts

    missing = tmp_path / "store"
    assert "" == _image_store_facts(str(missing))[0]
    assert not missing.exists()
    imagestore.open_store(str(missing))
    _entry(str(missing), "k", 3 << 20, 1.0)
    problem, free, held = _image_store_facts(str(missing))
    assert ("", (1, 3)) == (problem, held)
    assert free > 0
    os.chmod(missing, 0o777)
    assert "writable by group or others" in _image_store_facts(str(missing))[0]


def test_health_reports_the_store(tmp_path) -> None:
    """The health probe's reason names the store's content; an unusable store is reported, not fatal."""
    from glidein_singularity.node.health import HealthFacts, describe_store, evaluate

    root = tmp_path / "store"
    config = {"GS_IMAGE_STORE": str(root), "GS_IMAGE_STORE_MAX_MB": "100"}
    assert "" == describe_store(config)
    imagestore.open_store(str(root))
    _entry(str(root), "a", 5 << 20, 1.0)
    text = describe_store(config)
    assert f"image store {root}: 1 image (5 MiB of 100 MiB)" == text
    attributes = dict(evaluate(HealthFacts("", (), None, (), (), 0, 0, store=text), 3, 0))
    assert (True, True) == (attributes["HAS_SINGULARITY"], attributes["GS_HEALTHY"])
    assert str(attributes["GS_HEALTH_REASON"]).endswith(text)
    os.chmod(root, 0o777)
    assert "unusable: " in describe_store(config)
