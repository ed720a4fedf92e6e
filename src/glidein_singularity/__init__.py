"""glidein-singularity: run every glidein job in an unprivileged Apptainer/Singularity container.

Worker-node modules (``policy``, ``images``, ``classad``, ``plan``, ``node``...) use only the
standard library and run on python3 >= 3.6; admin-side modules (``frontend``) may use PyYAML,
Jinja2 and the ``htcondor`` bindings.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
