"""First launches of a remote image (inside the bed, as the job user): one sample per round, the cache
emptied before each, the two variants alternating.

``python3 images_first.py SPEC.json`` with ``{"runs", "store", "wrapper": variant, "apptainer": variant,
"cache"}`` (variants as in harness.py). ``store_first``: the store's entries are removed, then the
wrapper launches (fetch + unpack + launch). ``apptainer_first``: plain ``apptainer exec docker://...``
with a new empty ``APPTAINER_CACHEDIR``. Prints ``{"store_first": [...], "apptainer_first": [...]}`` (ms).
"""

import json
import os
import shutil
import subprocess
import sys
import time


def _clear(path):
    for top, dirs, _files in os.walk(path):
        for name in dirs:
            full = os.path.join(top, name)
            if not os.path.islink(full):
                os.chmod(full, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _time(variant):
    started = time.perf_counter()
    proc = subprocess.run(
        variant["argv"], env=variant["env"], cwd=variant["cwd"], stdin=subprocess.DEVNULL, capture_output=True
    )
    elapsed = (time.perf_counter() - started) * 1000.0
    if proc.returncode != 0:
        sys.stderr.write("{} failed: {}\n".format(variant["argv"], proc.stderr.decode(errors="replace")))
        sys.exit(1)
    return elapsed


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    out = {"store_first": [], "apptainer_first": []}
    for _ in range(int(spec["runs"])):
        images = os.path.join(spec["store"], "images")
        for key in os.listdir(images):
            _clear(os.path.join(images, key))
        out["store_first"].append(_time(spec["wrapper"]))
        _clear(spec["cache"])
        os.mkdir(spec["cache"], 0o700)
        variant = dict(spec["apptainer"])
        variant["env"] = dict(variant["env"], APPTAINER_CACHEDIR=spec["cache"])
        out["apptainer_first"].append(_time(variant))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
