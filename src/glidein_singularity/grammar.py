"""The small grammars of setting values, each written once (pure, stdlib only).

- ``bool_setting``: a strict true/false setting (an unknown word is a configuration error);
- ``truth``: GlideinWMS ``get_prop_bool`` (a boolean, a non-zero number, the text true/yes/1);
- ``seconds``: a bounded number of seconds (the failure sleeps);
- ``split_list``: a comma list (blanks around items dropped, empty items skipped);
- ``has_control``: whether a text holds a control character (never in a path or an option we build);
- ``env_policy``: the ``GLIDEIN_CONTAINER_ENV`` words;
- ``SINGULARITY_BIN_KEYWORDS``: the ``SINGULARITY_BIN`` keywords.
"""

from .errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import FrozenSet, List, Mapping, Optional, Tuple

__all__ = [
    "ENV_POLICY_WORDS",
    "FALSE_WORDS",
    "SINGULARITY_BIN_KEYWORDS",
    "TRUE_WORDS",
    "bool_setting",
    "clears_environment",
    "env_policy",
    "has_control",
    "seconds",
    "split_list",
    "truth",
]

#: The texts that mean true and false (compared lower-cased, blanks stripped; "" is false).
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0", "")


def truth(value: object) -> "Optional[bool]":
    """GlideinWMS ``get_prop_bool``: True, False, or None when ``value`` is neither (an expression,
    undefined, another word)."""
    if value is True or value is False:
        return bool(value)
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def seconds(text: str, default: float, maximum: float) -> float:
    """A number of seconds: ``default`` when ``text`` is not a number, 0 for a negative one or NaN, at
    most ``maximum``."""
    try:
        value = float(text)
    except ValueError:
        return float(default)
    if value != value or value < 0:
        return 0.0
    return min(value, float(maximum))


def bool_setting(config: "Mapping[str, str]", key: str, default: bool) -> bool:
    """A true/false setting of the startup script: ``default`` when unset or blank, else one of
    ``TRUE_WORDS``/``FALSE_WORDS`` (any case); ConfigError naming the setting otherwise."""
    text = (config.get(key) or "").strip().lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    msg = "{}={!r} is not valid; expected true or false".format(key, config.get(key))
    raise ConfigError(msg)


def split_list(text: str) -> "Tuple[str, ...]":
    """The items of a comma list, stripped; empty items are skipped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (below space, or DEL)."""
    return any(char < " " or char == "\x7f" for char in text)


#: ``SINGULARITY_BIN`` keywords (anything else names a directory; ``NONE`` is a legacy value).
SINGULARITY_BIN_KEYWORDS = ("OSG", "CONDOR", "PATH", "PASS")

#: ``GLIDEIN_CONTAINER_ENV`` words (GlideinWMS ``singularity_lib.sh``).
ENV_POLICY_WORDS = ("clearpaths", "clearall", "keepall", "osgset", "condorset", "gwmsset", "clear")


def env_policy(text: str) -> "Tuple[FrozenSet[str], Tuple[str, ...]]":
    """Return the ``GLIDEIN_CONTAINER_ENV`` words (``clearpaths`` when none) and the unknown ones.

    Unknown words are ignored, as GlideinWMS ignores them: a typo must not refuse every job on the
    node. The setup script warns about them once, at glidein start.
    """
    words = set()
    unknown: List[str] = []
    for item in text.split(","):
        word = item.strip().lower()
        if not word:
            continue
        if word in ENV_POLICY_WORDS:
            words.add(word)
        elif item.strip() not in unknown:
            unknown.append(item.strip())
    return frozenset(words or ("clearpaths",)), tuple(unknown)


def clears_environment(policy: "FrozenSet[str]") -> bool:
    """Whether the policy asks for ``--cleanenv`` (``clearall`` or ``clear``)."""
    return bool(policy & {"clearall", "clear"})
