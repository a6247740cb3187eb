"""The seqc grammar, shipped as package data (`sequence.lark`)."""

from pathlib import Path

GRAMMAR_PATH = Path(__file__).with_name("sequence.lark")

#: Words a `route` line reads as keywords wherever they stand (`a if x`, `a if x and y`,
#: `a if x in (…)`), so a sequence with one of these names could never be routed to.
ROUTE_KEYWORDS = frozenset({"if", "and", "or", "not", "in", "contains"})
