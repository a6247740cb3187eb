"""Reference data: country names, the GDPR countries, role addresses and IANA time zone names.

Fixed lists read once from `compiler/data/*.txt` (and the `tzdata` package) and cached.
They know nothing about records or files: the field checks (`fields`), the hygiene checks
(`hygiene`) and the rules all look things up here, so this module sits at the bottom of the
package and imports none of it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

# compiler/data, not compiler/prospects/data: the files are shared with compiler.rules.data
# and ship in the wheel with the rest of the `compiler` package.
DATA_DIR = Path(__file__).parent.parent / "data"

# Like the patterns in `fields`, written for both Python `re` and ECMA-262: it is also the
# JSON Schema `pattern` of a `timezone` field. It rules out paths such as `../zoneinfo/UTC`.
TIMEZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}$"
_TIMEZONE_RE = re.compile(TIMEZONE_PATTERN)


def _data_lines(name: str) -> list[list[str]]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name, the officially assigned codes (`data/iso3166_alpha2.txt`)."""
    return {row[0]: row[1] for row in _data_lines("iso3166_alpha2.txt")}


@functools.cache
def gdpr_countries() -> frozenset[str]:
    """Codes of the countries where the GDPR or the UK GDPR applies (`data/gdpr_countries.txt`)."""
    return frozenset(row[0] for row in _data_lines("gdpr_countries.txt"))


@functools.cache
def role_local_parts() -> frozenset[str]:
    """Local parts of role addresses such as `info` or `noreply` (`data/role_addresses.txt`)."""
    return frozenset(row[0] for row in _data_lines("role_addresses.txt"))


@functools.cache
def time_zones() -> frozenset[str]:
    """Valid IANA zone names: the `tzdata` package's list, else what `zoneinfo` finds."""
    try:
        import importlib.resources

        text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
        names = set(text.split())
    except (ImportError, OSError):
        import zoneinfo

        names = set(zoneinfo.available_timezones())
    return frozenset(names - {"Factory", "localtime", "posixrules"})


@functools.cache
def _time_zone_folded() -> dict[str, str]:
    return {name.lower(): name for name in time_zones()}


def is_time_zone(name: object) -> bool:
    """True for an IANA zone name such as `Europe/Berlin` (exact spelling; no paths)."""
    return isinstance(name, str) and name in time_zones() and bool(_TIMEZONE_RE.fullmatch(name))
