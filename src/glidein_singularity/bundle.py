"""The one-file bundle a factory or frontend ships to every glidein: the worker-node code in a zip.

``gs-setup``, ``gs_job_wrapper.py`` and ``gs-health`` look for ``glidein_singularity.zip`` next to
themselves first and put it on ``sys.path``; Python imports straight from it (zipimport). The bundle holds
every module of the package except the admin-side ``frontend`` package (PyYAML, Jinja2, htcondor), so
worker nodes need nothing but python3 >= 3.6. Entries are written in a fixed order with a fixed
timestamp, so the same sources always give the same bytes (a factory can compare checksums).
"""

import os
import zipfile
from typing import List, Tuple

__all__ = ["ADMIN_SIDE", "BUNDLE_NAME", "bundle_members", "write_bundle"]

BUNDLE_NAME = "glidein_singularity.zip"
#: Sub-packages that stay on the admin side (they import PyYAML, Jinja2 or the htcondor bindings), and
#: ``share`` (the snippets and launchers a wheel carries as package data, which install-ep writes).
ADMIN_SIDE = ("frontend", "share")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def bundle_members(package_dir: str) -> List[Tuple[str, str]]:
    """(path on disk, name in the zip) of every worker-node file of the package, sorted by name."""
    root = os.path.dirname(os.path.abspath(package_dir))
    members = []
    for directory, subdirs, files in os.walk(package_dir):
        rel = os.path.relpath(directory, package_dir)
        top = rel.split(os.sep)[0]
        if top in ADMIN_SIDE:
            subdirs[:] = []
            continue
        subdirs[:] = [name for name in subdirs if name != "__pycache__"]
        for name in files:
            if name.endswith(".py") or name == "py.typed":
                path = os.path.join(directory, name)
                members.append((path, os.path.relpath(path, root).replace(os.sep, "/")))
    return sorted(members, key=lambda member: member[1])


def write_bundle(package_dir: str, out: str) -> List[str]:
    """Write the bundle to ``out`` (atomically) and return the names it holds."""
    members = bundle_members(package_dir)
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name in members:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as handle:
                archive.writestr(info, handle.read())
    os.replace(tmp, out)
    return [name for _, name in members]
