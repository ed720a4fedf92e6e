"""Interleaved launch timer; runs inside the test bed as the unprivileged user (python3 of the bed).

``python3 harness.py SPEC.json`` reads ``{"warmup": W, "runs": N, "seed": S, "variants": [{"name",
"argv", "env", "cwd", "report"}]}`` and runs W + N rounds; each round runs every variant once, in a
fresh random order, timing fork+exec+wait with ``time.perf_counter``. Warm-up rounds are not recorded.
A variant with ``"report": true`` prints one JSON object on stdout, which is kept as well.
Prints ``{"samples_ms": {name: [...]}, "reports": {name: [...]}}`` on stdout; exit status 1 (with the
failing variant's stderr) if any launch fails, since a failed launch is not a timing.
"""

import json
import random
import subprocess
import sys
import time


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    variants = spec["variants"]
    rng = random.Random(spec.get("seed", 1))
    samples = {v["name"]: [] for v in variants}
    reports = {v["name"]: [] for v in variants if v.get("report")}
    warmup = int(spec["warmup"])
    for round_no in range(warmup + int(spec["runs"])):
        order = list(variants)
        rng.shuffle(order)
        for variant in order:
            started = time.perf_counter()
            proc = subprocess.run(
                variant["argv"],
                env=variant["env"],
                cwd=variant.get("cwd", "/"),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
            elapsed = (time.perf_counter() - started) * 1000.0
            if proc.returncode != 0:
                sys.stderr.write(
                    "variant {} failed with exit status {}:\n{}\n".format(
                        variant["name"], proc.returncode, proc.stderr.decode(errors="replace")
                    )
                )
                return 1
            if round_no < warmup:
                continue
            samples[variant["name"]].append(elapsed)
            if variant.get("report"):
                reports[variant["name"]].append(json.loads(proc.stdout))
    json.dump({"samples_ms": samples, "reports": reports}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
