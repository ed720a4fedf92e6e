"""The glidein's image store: fetch a remote image once, share it, bound it, evict it (worker-node I/O).

``acquire(fetch, runtime)`` makes ``fetch.image`` (``store.entry_image``) present and records that the
calling process (the job wrapper, whose pid the job keeps through ``exec``) uses it. Layout of a store::

    <store>/            0700, owned by the wrapper's user, never a symlink, never group/other writable
        images/<key>/   one complete entry, renamed into place in one step (atomic)
            image/      the unpacked sandbox directory the job runs from
            meta        "name value" lines: ref, canonical, bytes, fetched (time), seconds
            leases/     one file <pid>.<start time> per process using the image
        locks/<key>     flock(2) file serialising fetch, use and eviction of one key
        tmp/            staging (same file system as images/, so the rename is atomic); trash
        cache/          the runtime's cache dir (only for the fetch's own temporaries: --disable-cache)

Guarantees:

- **One download per image per glidein.** The first wrapper takes ``locks/<key>`` and fetches; the others
  wait on the same lock (polled, at most the fetch timeout plus a margin) and then find the entry.
- **Never poisoned by a job.** Jobs run in containers started with ``--contain``: the store is not bound
  in, so no job sees it. The store root is checked on every use (``lstat``: a real directory, owned by
  us, no group/other write) and files are opened with ``O_NOFOLLOW``; the entry name is a hash of the
  canonical reference, so the job's text chooses no path. The fetch gets a fresh environment (never
  the job's: ``APPTAINER_*``, proxies and ``HOME`` a job sets cannot steer it), the pilot's home from the
  password database (where registry credentials, ``~/.apptainer/docker-config.json``, stay out of every
  container) and ``--disable-cache``.
- **Bounded.** The fetch has a time limit (``GS_IMAGE_FETCH_TIMEOUT``) and the store a size limit
  (``GS_IMAGE_STORE_MAX_MB``): a fetched image larger than it is the user's error; to make room the least
  recently used entries that no live process leases are evicted (under their key's lock, so a lease is
  never taken on an entry being removed).
- **Classified failures.** ``Outcome.kind``: ``user`` (the image does not exist, access denied, too
  large: the prepare-job hook, which fetches first, holds the job; the wrapper refuses it, not
  requeued), ``outage`` (registry or network down, store busy: requeued, counted against neither the
  node nor the job), ``node`` (anything else: requeued and counted as the node's).
"""

import errno
import fcntl
import os
import stat
import time

from .._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, List, Optional, Tuple

    from ..store import ImageFetch

__all__ = [
    "KINDS",
    "LOCK_MARGIN",
    "Outcome",
    "acquire",
    "classify",
    "entries",
    "evict",
    "live_leases",
]

KINDS = ("user", "outage", "node")
#: Seconds a waiter allows beyond the fetch timeout before it gives up on the lock.
LOCK_MARGIN = 30.0
_POLL = 0.2
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_USER_SIGNS = (
    "manifest unknown",
    "name unknown",
    "not found",
    "404",
    "requested access to the resource is denied",
    "unauthorized",
    "no such image",
    "invalid reference format",
    "does not exist",
)
_OUTAGE_SIGNS = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "timed out",
    "timeout",
    "tls handshake",
    "connection reset",
    "network is unreachable",
    "no route to host",
    "too many requests",
    "temporary failure",
    "service unavailable",
    " 500",
    " 502",
    " 503",
    " 504",
    "eof",
)


class Outcome(Record):
    """The result of ``acquire``: ``ok`` with the image path, or the failure's kind and message."""

    __slots__ = _fields = ("ok", "image", "fetched", "kind", "message", "seconds")
    ok: bool
    image: str
    fetched: bool
    kind: str
    message: str
    seconds: float

    def __init__(
        self, ok: bool, image: str, fetched: bool, kind: str = "", message: str = "", seconds: float = 0.0
    ) -> None:
        Record.__init__(self, ok, image, fetched, kind, message, seconds)


class StoreError(Exception):
    """The store cannot be used (not owned by us, a symlink, not writable...): a node problem."""


def classify(text: str) -> str:
    """The failure kind of a fetch whose output is ``text``: user, outage or node."""
    low = text.lower()
    if any(sign in low for sign in _OUTAGE_SIGNS):
        return "outage"
    if any(sign in low for sign in _USER_SIGNS):
        return "user"
    return "node"


# --- the store's directories -------------------------------------------------------------------------


def _check_dir(path: str) -> None:
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        msg = "{} is not a directory (a symlink or a file)".format(path)
        raise StoreError(msg)
    if info.st_uid != os.geteuid():
        msg = "{} belongs to uid {}, not to this glidein's user (uid {})".format(
            path, info.st_uid, os.geteuid()
        )
        raise StoreError(msg)
    if info.st_mode & 0o022:
        msg = "{} is writable by group or others (mode {:o})".format(path, info.st_mode & 0o7777)
        raise StoreError(msg)


def _make_dir(path: str) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    _check_dir(path)


def open_store(root: str) -> None:
    """Create (0700) or check the store and its fixed sub-directories; StoreError when unusable."""
    parent = os.path.dirname(root.rstrip("/")) or "/"
    if not os.path.isdir(parent):
        msg = "the image store's parent directory {} does not exist".format(parent)
        raise StoreError(msg)
    try:
        _make_dir(root)
        for sub in ("images", "locks", "tmp", "cache"):
            _make_dir(os.path.join(root, sub))
    except OSError as exc:
        msg = "cannot use the image store {}: {}".format(root, exc.strerror or exc)
        raise StoreError(msg) from exc


class _Lock:
    """flock(2) on ``locks/<key>``, polled until ``deadline`` (monotonic); ``held``: got it."""

    def __init__(self, path: str, deadline: float, blocking: bool = True) -> None:
        self.path = path
        self.deadline = deadline
        self.blocking = blocking
        self.fd = -1
        self.held = False

    def __enter__(self) -> "_Lock":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if not self.blocking or time.monotonic() >= self.deadline:
                return self
            time.sleep(_POLL)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # releases the lock


# --- entries, leases ---------------------------------------------------------------------------------


def _read_meta(entry: str) -> "Optional[Dict[str, str]]":
    """The entry's ``meta`` (one ``name value`` per line: no json import on the launch path)."""
    try:
        fd = os.open(os.path.join(entry, "meta"), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError:
        return None
    meta = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        meta[name] = value
    return meta


def _write_meta(path: str, meta: "Dict[str, str]") -> None:
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write("".join("{} {}\n".format(name, value) for name, value in meta.items()))


def _valid_entry(entry: str, canonical: str) -> bool:
    meta = _read_meta(entry)
    if meta is None or meta.get("canonical") != canonical:
        return False
    try:
        return stat.S_ISDIR(os.lstat(os.path.join(entry, "image")).st_mode)
    except OSError:
        return False


def _start_time(pid: int) -> "Optional[str]":
    try:
        with open("/proc/{}/stat".format(pid), encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _lease(entry: str, pid: int) -> None:
    """Record that ``pid`` (the wrapper, which becomes the job's runtime) uses the entry."""
    leases = os.path.join(entry, "leases")
    try:
        os.mkdir(leases, 0o700)
    except FileExistsError:
        pass
    name = "{}.{}".format(pid, _start_time(pid) or "0")
    fd = os.open(os.path.join(leases, name), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.close(fd)
    now = time.time()
    os.utime(entry, (now, now))  # the entry's mtime is its last use (LRU)


def live_leases(entry: str) -> "List[str]":
    """The leases of ``entry`` whose process still runs (stale ones are removed)."""
    live: List[str] = []
    leases = os.path.join(entry, "leases")
    try:
        names = os.listdir(leases)
    except OSError:
        return live
    for name in names:
        pid_text, _, started = name.partition(".")
        alive = pid_text.isdigit() and _start_time(int(pid_text)) == started
        if alive:
            live.append(name)
        else:
            try:
                os.unlink(os.path.join(leases, name))
            except OSError:
                pass
    return live


def _size(path: str) -> int:
    total = 0
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                total += os.lstat(os.path.join(top, name)).st_blocks * 512
            except OSError:
                pass
    return total


def _remove_tree(path: str) -> None:
    import shutil

    def retry(function: "Callable[..., object]", failed: str, _exc: object) -> None:
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            function(failed)
        except OSError:
            pass

    for top, dirs, _files in os.walk(path):  # sandboxes hold read-only directories
        for name in dirs:
            full = os.path.join(top, name)
            try:
                if not os.path.islink(full):
                    os.chmod(full, 0o700)
            except OSError:
                pass
    shutil.rmtree(path, onerror=retry)


def entries(root: str) -> "List[Tuple[str, int, float]]":
    """(key, bytes, last use) of each complete entry, least recently used first."""
    found = []
    images = os.path.join(root, "images")
    for key in os.listdir(images):
        entry = os.path.join(images, key)
        meta = _read_meta(entry)
        if meta is None:
            continue
        size = meta.get("bytes", "")
        try:
            used = os.lstat(entry).st_mtime
        except OSError:
            continue
        found.append((key, int(size) if size.isdigit() else 0, used))
    found.sort(key=lambda item: item[2])
    return found


def evict(root: str, key: str) -> bool:
    """Remove the entry ``key`` unless a live process leases it (or its lock is busy); True if removed."""
    with _Lock(os.path.join(root, "locks", key), 0.0, blocking=False) as lock:
        if not lock.held:
            return False
        entry = os.path.join(root, "images", key)
        if live_leases(entry):
            return False
        trash = os.path.join(root, "tmp", "trash.{}.{}".format(key, os.getpid()))
        try:
            os.rename(entry, trash)
        except OSError:
            return False
    _remove_tree(trash)
    return True


def _make_room(root: str, needed: int, limit: int, keep: str) -> bool:
    """Evict least recently used, unleased entries until ``needed`` more bytes fit in ``limit``."""
    current = entries(root)
    total = sum(size for _key, size, _used in current)
    for key, size, _used in current:
        if total + needed <= limit:
            break
        if key != keep and evict(root, key):
            total -= size
    return total + needed <= limit


# --- fetching ----------------------------------------------------------------------------------------


def _fetch_env(root: str) -> "Dict[str, str]":
    import pwd

    try:
        home = pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        home = root
    return {
        "PATH": _PATH,
        "HOME": home,
        "LANG": "C",
        "APPTAINER_CACHEDIR": os.path.join(root, "cache"),
        "APPTAINER_TMPDIR": os.path.join(root, "tmp"),
        "TMPDIR": os.path.join(root, "tmp"),
    }


def _run(argv: "List[str]", env: "Dict[str, str]", timeout: float) -> "Tuple[int, str]":
    """Run the fetch command in its own process group; kill the group at the time limit."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return -1, "the fetch timed out after {:.0f} s".format(timeout)
    return proc.returncode, out.decode("utf-8", "replace")


def _download(url: str, target: str, max_bytes: int, timeout: float) -> "Optional[Tuple[str, str]]":
    """Fetch an http(s) URL to ``target``; None, or (kind, message) on failure."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy a job could set
    try:
        with opener.open(url, timeout=min(timeout, 60.0)) as response:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                written = 0
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > max_bytes:
                        return "user", "{} is larger than the image store ({} MiB)".format(
                            url, max_bytes >> 20
                        )
                    handle.write(chunk)
    except urllib.error.HTTPError as exc:
        kind = "user" if exc.code in (401, 403, 404, 410) else "outage"
        return kind, "{}: HTTP {} {}".format(url, exc.code, exc.reason)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return "outage", "{}: {}".format(url, reason)
    return None


def _fetch(fetch: "ImageFetch", runtime: str, root: str, staging: str) -> "Optional[Tuple[str, str]]":
    """Build ``staging/image`` from the reference; None, or (kind, message)."""
    env = _fetch_env(root)
    deadline = time.monotonic() + fetch.timeout
    source = fetch.ref
    if fetch.scheme in ("http", "https"):
        source = os.path.join(staging, "download.sif")
        failure = _download(fetch.ref, source, fetch.max_bytes, fetch.timeout)
        if failure is not None:
            return failure
    argv = [runtime, "-s", "build", "--disable-cache", "--sandbox"]
    if fetch.insecure and fetch.scheme in ("docker", "oras"):
        argv.append("--no-https")
    argv.extend([os.path.join(staging, "image"), source])
    code, output = _run(argv, env, deadline - time.monotonic())
    if source != fetch.ref:
        try:
            os.unlink(source)
        except OSError:
            pass
    if code == 0:
        return None
    lines = [line for line in output.splitlines() if line.strip()]
    detail = " ".join(lines[-3:])[-600:] or "exit status {}".format(code)
    kind = "outage" if code == -1 else classify(output)
    return kind, "fetching {} failed: {}".format(fetch.ref, detail)


def acquire(fetch: "ImageFetch", runtime: str, pid: "Optional[int]" = None) -> Outcome:
    """Make ``fetch.image`` present (fetching it at most once) and lease it for ``pid`` (default: us)."""
    started = time.monotonic()
    pid = os.getpid() if pid is None else pid
    root = fetch.store
    try:
        open_store(root)
    except StoreError as exc:
        return Outcome(False, fetch.image, False, "node", str(exc))
    entry = os.path.join(root, "images", fetch.key)
    deadline = started + fetch.timeout + LOCK_MARGIN
    try:
        with _Lock(os.path.join(root, "locks", fetch.key), deadline) as lock:
            if not lock.held:
                msg = "another job has been fetching {} for over {:.0f} s".format(
                    fetch.ref, deadline - started
                )
                return Outcome(False, fetch.image, False, "outage", msg, time.monotonic() - started)
            if _valid_entry(entry, fetch.canonical):
                _lease(entry, pid)
                return Outcome(True, fetch.image, False, seconds=time.monotonic() - started)
            if os.path.lexists(entry):  # incomplete or foreign: never used, replaced
                trash = os.path.join(root, "tmp", "trash.{}.{}".format(fetch.key, pid))
                os.rename(entry, trash)
                _remove_tree(trash)
            import tempfile

            staging = tempfile.mkdtemp(prefix="fetch.{}.".format(fetch.key), dir=os.path.join(root, "tmp"))
            try:
                failure = _fetch(fetch, runtime, root, staging)
                if failure is not None:
                    kind, message = failure
                    return Outcome(False, fetch.image, False, kind, message, time.monotonic() - started)
                size = _size(os.path.join(staging, "image"))
                if size > fetch.max_bytes:
                    msg = "image {} unpacks to {} MiB, more than the glidein's image store holds ({} MiB)"
                    msg = msg.format(fetch.ref, size >> 20, fetch.max_bytes >> 20)
                    return Outcome(False, fetch.image, False, "user", msg, time.monotonic() - started)
                if not _make_room(root, size, fetch.max_bytes, fetch.key):
                    msg = "the image store is full of images running jobs use; {} ({} MiB) must wait".format(
                        fetch.ref, size >> 20
                    )
                    return Outcome(False, fetch.image, False, "outage", msg, time.monotonic() - started)
                meta = {
                    "ref": fetch.ref,
                    "canonical": fetch.canonical,
                    "bytes": str(size),
                    "fetched": "{:.0f}".format(time.time()),
                    "seconds": "{:.3f}".format(time.monotonic() - started),
                }
                _write_meta(os.path.join(staging, "meta"), meta)
                os.chmod(staging, 0o700)
                os.rename(staging, entry)
                staging = ""
                _lease(entry, pid)
            finally:
                if staging:
                    _remove_tree(staging)
    except OSError as exc:
        msg = "image store {}: {}".format(root, exc.strerror or exc)
        return Outcome(False, fetch.image, False, "node", msg, time.monotonic() - started)
    return Outcome(True, fetch.image, True, seconds=time.monotonic() - started)
