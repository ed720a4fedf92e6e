"""Sub-commands of the ``glidein-singularity`` command line (one module each)."""
