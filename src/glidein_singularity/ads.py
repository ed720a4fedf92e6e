"""Read ``.job.ad``/``.machine.ad`` files (adapter, stdlib only).

``load_ad`` parses the file with the exact literal parser of ``classad``. Values that are not
literals stay ``Expr`` unless the HTCondor ClassAd bindings (``classad2``, or the older ``classad``)
are importable: then, and only when such a value is read, the bindings are imported and evaluate it
in the context of the whole ad. Ads whose needed values are all literals never import them.
"""

from .classad import ERROR, UNDEFINED, Ad, Expr, parse_ad
from .errors import AdError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, Optional

    from .classad import Value

__all__ = ["MAX_AD_BYTES", "classad_evaluator", "load_ad", "read_ad_text"]

#: Larger ad files are refused (a real job ad is a few tens of kB).
MAX_AD_BYTES = 16 * 1024 * 1024


def read_ad_text(path: str, what: str = "ad") -> str:
    """Return the text of an ad file; AdError naming ``what`` and the path when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_AD_BYTES + 1)
    except OSError as exc:
        msg = "cannot read the {} {}: {}".format(what, path, exc.strerror or exc)
        raise AdError(msg) from exc
    if len(data) > MAX_AD_BYTES:
        msg = "the {} {} is larger than {} bytes".format(what, path, MAX_AD_BYTES)
        raise AdError(msg)
    return data.decode("utf-8", "surrogateescape")


def _convert(value: "Any", module: "Any") -> "Value":
    value_type = getattr(module, "Value", None)
    if value is None or (value_type is not None and isinstance(value, value_type)):
        # checked first: the bindings' Value is an int enum (Undefined == 2)
        return ERROR if value is not None and value == getattr(value_type, "Error", None) else UNDEFINED
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return tuple(_convert(item, module) for item in value)
    return Expr(str(value))


def _import_bindings() -> "Optional[Any]":
    for name in ("classad2", "classad"):
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


def classad_evaluator() -> "Callable[[Ad, str, Expr], Value]":
    """Return an evaluator that uses the ClassAd bindings lazily (values stay Expr without them)."""
    state: Dict[str, Any] = {}

    def evaluate(ad: Ad, name: str, expr: Expr) -> "Value":
        if "module" not in state:
            state["module"] = _import_bindings()
        module = state["module"]
        if module is None:
            return expr
        try:
            if "ad" not in state:
                state["ad"] = _build(ad, module)
            return _convert(state["ad"].eval(name), module)
        except Exception:  # the bindings raise many types; unknown stays unknown
            return expr

    return evaluate


def _build(ad: Ad, module: "Any") -> "Any":
    parser = getattr(module, "ParserType", None) or module.Parser
    old = parser.Old
    result = module.ClassAd()
    for name in ad:
        try:
            single = module.parseOne("{} = {}\n".format(name, ad.raw(name) or ""), old)
            result[name] = single.lookup(name)
        except Exception:  # a bad line is simply left out of the evaluation context
            continue
    return result


def load_ad(path: str, what: str = "ad", bindings: bool = True) -> Ad:
    """Read and parse an ad file; non-literal values are evaluated lazily with the bindings if present
    (``bindings=False``: they stay ``Expr``, as in the job wrapper, whose python runs with ``-S``)."""
    return parse_ad(read_ad_text(path, what), classad_evaluator() if bindings else None)
