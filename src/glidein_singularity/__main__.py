"""``python -m glidein_singularity``: the ``glidein-singularity`` command line."""

import sys

from .cli import main

sys.exit(main())
