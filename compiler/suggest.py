""""Did you mean …?" for names a user mistyped."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to `name`, if any is near enough to be a typo."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A help line like "did you mean `first_name`?", or None."""
    match = closest(name, candidates)
    return f"did you mean `{match}`?" if match else None
