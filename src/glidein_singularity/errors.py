"""The one exception hierarchy of glidein-singularity.

The library raises; only entry points (``cli``, ``node.*``) print a one-line message and exit with a
documented code. Each class also derives from the builtin that fits, so callers can catch generically.
"""

__all__ = [
    "AdError",
    "ConfigError",
    "GlideinSingularityError",
    "ImageError",
    "RuntimeProbeError",
]


class GlideinSingularityError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(GlideinSingularityError, ValueError):
    """A configuration value (glidein_config, attribute, YAML key) is invalid.

    The message names the attribute, the value seen and what was expected.
    """


class AdError(GlideinSingularityError, ValueError):
    """A ClassAd file or value cannot be read or parsed."""


class ImageError(GlideinSingularityError, ValueError):
    """An image reference is unusable: missing, malformed or not allowed by policy."""


class RuntimeProbeError(GlideinSingularityError, RuntimeError):
    """The container runtime could not be found or failed its validation run."""
