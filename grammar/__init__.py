"""The seqc grammar, shipped as package data (`sequence.lark`)."""

from pathlib import Path

GRAMMAR_PATH = Path(__file__).with_name("sequence.lark")
