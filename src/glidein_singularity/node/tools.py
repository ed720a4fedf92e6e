"""What the job wrapper puts in the job directory for use inside the container: ``condor_chirp``
(stdlib only, python >= 3.6).

The plan names the directory (``LaunchPlan.tools_dir``, the job directory's ``.gs_bin``) when the job's
starter runs its I/O proxy; the wrapper, in both launch modes, copies our one-file client
(``node/chirp.py``) there as ``condor_chirp`` just before the exec. The job directory belongs to the job's
user, who may have planted anything at that name (a symlink to the glidein's files, say), so every step
works relative to directory descriptors opened without following links, and the file is written under a
fresh name and renamed into place: nothing outside the job directory is ever written.
"""

import os

__all__ = ["CHIRP_NAME", "install_chirp"]

CHIRP_NAME = "condor_chirp"


def _client_source() -> bytes:
    import pkgutil

    data = pkgutil.get_data("glidein_singularity", "node/chirp.py")  # a directory or the bundle (zip)
    if not data:
        raise OSError("glidein_singularity/node/chirp.py cannot be read")
    return data


def install_chirp(tools_dir: str) -> None:
    """Write the client to ``<tools_dir>/condor_chirp`` (mode 0755). Raises OSError when it cannot."""
    parent, name = os.path.split(tools_dir.rstrip("/"))
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    parent_fd = os.open(parent, flags)
    try:
        try:
            os.mkdir(name, 0o755, dir_fd=parent_fd)
        except FileExistsError:
            pass
        dir_fd = os.open(name, flags | os.O_NOFOLLOW, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)
    try:
        tmp = ".{}.{}".format(CHIRP_NAME, os.getpid())
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o700, dir_fd=dir_fd)
        try:
            data = _client_source()
            while data:
                data = data[os.write(fd, data) :]
            os.fchmod(fd, 0o755)
        finally:
            os.close(fd)
        os.replace(tmp, CHIRP_NAME, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
