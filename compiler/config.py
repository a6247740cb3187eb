"""`seqc.toml` at a project root: which rules run and at what severity."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from compiler.diagnostics import SeqcError, Severity

_SEVERITIES = {s.value: s for s in Severity}


@dataclass(frozen=True)
class RuleConfig:
    """Selection and severity overrides; codes may be prefixes (`SEQ2` = all cadence rules)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)

    def merged(self, select: tuple[str, ...], ignore: tuple[str, ...]) -> RuleConfig:
        """Command-line `--select` replaces the file's; `--ignore` adds to it."""
        return RuleConfig(select or self.select, self.ignore + ignore, self.severity)

    def enabled(self, code: str) -> bool:
        if self.select and not any(code.startswith(p) for p in self.select):
            return False
        return not any(code.startswith(p) for p in self.ignore)

    def severity_for(self, code: str, default: Severity) -> Severity:
        best = ""
        for prefix in self.severity:
            if code.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.severity[best] if best else default


def parse_codes(text: str | None) -> tuple[str, ...]:
    """`SEQ2,SEQ401` → ("SEQ2", "SEQ401"); rejects anything that is not a code prefix."""
    if not text:
        return ()
    out = []
    for part in text.replace(" ", ",").split(","):
        part = part.strip().upper()
        if not part:
            continue
        if not (part.startswith("SEQ") and part[3:].isdigit() or part == "SEQ"):
            raise SeqcError(f"`{part}` is not a rule code or prefix (like SEQ206 or SEQ2)")
        out.append(part)
    return tuple(out)


def load_config(root: Path) -> RuleConfig:
    """The project's `seqc.toml`, or defaults when there is none."""
    path = root / "seqc.toml"
    if not path.is_file():
        return RuleConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise SeqcError(f"{path}: cannot be read ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise SeqcError(f"{path}: {e}") from None
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise SeqcError(f"{path}: [rules] must be a table")
    try:
        select = parse_codes(",".join(rules.get("select", [])))
        ignore = parse_codes(",".join(rules.get("ignore", [])))
        severity = {}
        for code, level in dict(rules.get("severity", {})).items():
            (prefix,) = parse_codes(code)
            if level not in _SEVERITIES:
                raise SeqcError(f"severity for {code} must be error, warning or info, not `{level}`")
            severity[prefix] = _SEVERITIES[level]
    except (TypeError, ValueError) as e:
        raise SeqcError(f"{path}: [rules] select/ignore are lists of codes, severity a table ({e})") from None
    except SeqcError as e:
        raise SeqcError(f"{path}: {e}") from None
    return RuleConfig(select, ignore, severity)
