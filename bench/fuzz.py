"""A time-boxed, seeded fuzzer for seqc: mutated examples and grammar-generated programs.

Run from the repository root:

    .venv/bin/python bench/fuzz.py --seconds 300 --seed 1
    .venv/bin/python bench/fuzz.py --cases 2000 --seed 7          # a fixed number of cases
    .venv/bin/python bench/fuzz.py --seed 1 --case 4711 --show    # print one case's input
    .venv/bin/python bench/fuzz.py --seed 1 --case 4711           # run one case
    .venv/bin/python bench/fuzz.py --replay tests/regressions/*.seq
    .venv/bin/python bench/fuzz.py --scale                          # the scale figures in the docs

Every case is a pure function of `(seed, case number)` and the seed files, so a finding reported
as `seed 1 case 4711` is reproduced with `--seed 1 --case 4711` as long as the corpus digest
printed at the start is the same (examples and tests/cases change as the project grows). Inputs: the example and test-case `.seq` files
and random derivations of `grammar/sequence.lark`, mutated by token splices and edits, slices and
truncation, hostile characters (RTL overrides, zero-width, NUL, BOM, lone surrogates, `\ud800`
escapes, lone triple quotes), huge literals, conditions 50-1200 levels deep and 5 000-term chains, and
Jinja payloads; about one case in eight becomes raw bytes with flipped, invalid or truncated
UTF-8, loaded from a file the way `seqc check DIR` reads it.

A case runs through what `seqc check`, `plan`, `fmt` and `compile` do, in-process (`exercise`).
A finding is any exception but seqc's own one-line `SeqcError`; a diagnostic without a span, with
a span outside its file, or with a message over one line; output that is not UTF-8 or not JSON;
a case over `--case-seconds` (hang); peak memory over `--max-rss-mb`. The cases run in a worker
process watched by a supervisor, so a long C call, a segfault or an out-of-memory kill is a
finding too (`stall`, `died:N`) instead of the end of the run.

A new finding (by signature: exception type and innermost seqc frame, or the invariant broken)
is shrunk and saved as `tests/regressions/crash-<sha256 prefix>.seq` (`…-bytes.seq` for a bytes
case); a finding whose signature a saved file already shows is counted, not saved again.
`tests/test_robustness.py` replays that folder through `exercise`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from compiler import ir  # noqa: E402
from compiler.check import run_rules  # noqa: E402
from compiler.diagnostics import SeqcError  # noqa: E402
from compiler.project import ProjectSource, load, load_text  # noqa: E402

REGRESSIONS = ROOT / "tests" / "regressions"
TEMPLATE_PROJECT = ROOT / "examples" / "outbound"   # `file "templates/…"` in mutated examples resolve here
TODAY = dt.date(2027, 1, 4)                          # plans never read the clock
CASE_SECONDS = 10.0
MAX_CASE_CHARS = 2_000_000                           # longest input a case may grow to
MAX_SAVED_HANG = 20_000                              # a bigger hanging input stays a (seed, case) pair
CLI_RECURSION_LIMIT = 10_000                         # what compiler/cli.py run() sets: fuzz what users run
SEQC_DIRS = ("compiler", "targets", "grammar")


# ---------------------------------------------------------------- findings


class Finding(Exception):
    """Something the oracle refuses: `signature` groups findings of one bug."""

    def __init__(self, signature: str, stage: str, detail: str) -> None:
        super().__init__(signature, stage, detail)
        self.signature = signature
        self.stage = stage
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.signature} [{self.stage}]: {self.detail}"


class _Timeout(BaseException):
    """Raised by the case timer; a BaseException so `except Exception` in seqc cannot swallow it."""


def _signature(exc: BaseException) -> str:
    """`ExcType@file.py:function` of the innermost frame in seqc's own code (else the innermost)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if any(f"{os.sep}{d}{os.sep}" in f.filename for d in SEQC_DIRS)
            and str(ROOT) in f.filename]
    frame = (ours or frames or [None])[-1]
    where = f"{Path(frame.filename).name}:{frame.name}" if frame is not None else "?"
    return f"{type(exc).__name__}@{where}"


# ---------------------------------------------------------------- the oracle


@dataclass
class Outcome:
    """What one case did: diagnostics by code and the stages it reached."""

    codes: Counter = field(default_factory=Counter)
    stages: list[str] = field(default_factory=list)


def exercise(data: str | bytes, *, root: Path = TEMPLATE_PROJECT, stages: tuple[str, ...] | None = None,
             seconds: float | None = CASE_SECONDS) -> Outcome:
    """Run one input through check, report, IR, plan, fmt and every target; raise `Finding` on a bug.

    `str` input is loaded with `project.load_text` (templates resolve under `root`); `bytes`
    input is written as a file of a temporary copy of `root`'s templates and loaded from disk,
    as `seqc check DIR` does, so decoding and BOM/CRLF/NUL handling run too.
    """
    out = Outcome()
    stage = "load"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, CLI_RECURSION_LIMIT))
    if seconds:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with tempfile.TemporaryDirectory(prefix="seqc-fuzz-") as tmp:
            loaded = _load(data, root, Path(tmp))
            out.stages.append(stage)
            stage = "rules"
            diags = run_rules(loaded)
            out.stages.append(stage)
            out.codes.update(d.code for d in diags)
            stage = "diagnostics"
            _check_diagnostics(diags, loaded, _fallback_sources(data))
            stage = "report"
            _check_reports(diags, loaded)
            stage = "ir"
            _check_json(ir.to_json(loaded.project), "ir.to_json")
            has_errors = any(d.severity.value == "error" for d in diags)
            for stage, run in _STAGES:
                if stages is not None and stage not in stages:
                    continue
                if run(loaded, data, has_errors):
                    out.stages.append(stage)
    except Finding:
        raise
    except _Timeout:
        raise Finding(f"hang@{stage}", stage, f"over {seconds:g} s") from None
    except RecursionError as e:
        raise Finding(_signature(e), stage, "RecursionError") from e
    except Exception as e:  # noqa: BLE001 - every other exception is a finding
        raise Finding(_signature(e), stage, f"{type(e).__name__}: {_short(str(e))}") from e
    finally:
        sys.setrecursionlimit(limit)
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return out


def _alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Timeout()


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load(data: str | bytes, root: Path, tmp: Path):
    if isinstance(data, str):
        return load_text(data, "fuzz.seq", root=root)
    project = tmp / "project"
    templates = root / "templates"
    if templates.is_dir():
        shutil.copytree(templates, project / "templates")
    project.mkdir(exist_ok=True)
    (project / "fuzz.seq").write_bytes(data)
    return load(ProjectSource(project, "fuzz", ("fuzz.seq",)))


def _fallback_sources(data: str | bytes) -> dict[str, str]:
    """For bytes input, the file as text, to locate a "not UTF-8" diagnostic (seqc keeps no source then)."""
    if isinstance(data, str):
        return {}
    return {"fuzz/fuzz.seq": data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")}


def _check_diagnostics(diags, loaded, fallback: dict[str, str] | None = None) -> None:
    for d in diags:
        if not re.fullmatch(r"SEQ\d{3}", d.code):
            raise Finding("invariant:code", "diagnostics", repr(d))
        if not d.message or "\n" in d.message or "\r" in d.message:
            raise Finding("invariant:message-not-one-line", "diagnostics", repr(d.message))
        if d.span is None:
            raise Finding(f"invariant:no-span:{d.code}", "diagnostics", repr(d))
        source = loaded.sources.get(d.span.file) or (fallback or {}).get(d.span.file)
        if source is None:
            raise Finding(f"invariant:unknown-file:{d.code}", "diagnostics", repr(d))
        problem = span_problem(d.span, source)
        if problem:
            raise Finding(f"invariant:span-{problem}:{d.code}", "diagnostics", repr(d))


def span_problem(s, source: str) -> str | None:
    """Why a span does not lie inside `source` (1-based lines, end column exclusive), or None."""
    lines = source.split("\n")
    if s.end_line is None or s.end_column is None:
        return "open-end"
    if not 1 <= s.line <= len(lines) or s.column < 1:
        return "start-outside"
    if s.column > len(lines[s.line - 1]) + 1:
        return "start-past-line-end"
    if not s.line <= s.end_line <= len(lines):
        return "end-outside"
    if s.end_line == s.line and s.end_column < s.column:
        return "end-before-start"
    if s.end_column > len(lines[s.end_line - 1]) + 2:   # +1 past the last character, +1 for the newline
        return "end-past-line-end"
    return None


def _check_json(value, what: str) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        raise Finding(f"invariant:json-{what}", "ir", _short(str(e))) from None
    _utf8(text, what)
    return text


def _utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise Finding(f"invariant:not-utf8:{what}", what, _short(str(e))) from None


def _check_reports(diags, loaded) -> None:
    from compiler import report

    text = report.render_text(diags, loaded.sources, color=False, files=1)
    _utf8(text, "report-text")
    json.loads(report.render_json(diags, files=1))
    _utf8(report.render_github(diags), "report-github")


def _stage_plan(loaded, data, has_errors: bool) -> bool:
    if has_errors:
        return False
    from compiler import plan as plan_mod

    try:
        plans = plan_mod.plan_project(loaded.project, today=TODAY)
    except SeqcError:
        return True
    for render in (plan_mod.render_json, plan_mod.render_table, plan_mod.render_markdown):
        _utf8(render(plans), f"plan-{render.__name__}")
    json.loads(plan_mod.render_json(plans))
    return True


def _stage_fmt(loaded, data, has_errors: bool) -> bool:
    try:
        from compiler import fmt
    except ImportError:
        return False
    if not isinstance(data, str) or loaded.has_syntax_errors:
        return False
    once = fmt.format_text(data, "fuzz.seq")
    twice = fmt.format_text(once, "fuzz.seq")
    if once != twice:
        raise Finding("invariant:fmt-not-idempotent", "fmt", "formatting the output again changed it")
    return True


def _stage_targets(loaded, data, has_errors: bool) -> bool:
    if has_errors:
        return False
    from compiler.api import validate_artifact
    from targets import REGISTRY, get_target

    for name in sorted(REGISTRY):
        target = get_target(name)
        try:
            artifacts = _emit(loaded, target)
        except SeqcError:
            continue
        if artifacts is None:
            continue
        for art in artifacts:
            _utf8(art.text, f"target-{name}")
            try:
                validate_artifact(art)
            except SeqcError:
                continue
    return True


def _emit(loaded, target):
    """The target's artifacts the way `seqc compile` builds them (None when it reports SEQ601)."""
    try:
        from compiler.build import build
    except ImportError:
        from targets import CompileInput

        return target.emit(CompileInput(loaded))
    from targets import capabilities

    result = build(loaded, target, alternatives=capabilities())
    if result.failed or any(d.severity.value == "error" for d in result.diagnostics):
        return None
    return result.artifacts


_STAGES: tuple[tuple[str, Callable], ...] = (("plan", _stage_plan), ("fmt", _stage_fmt), ("targets", _stage_targets))


# ---------------------------------------------------------------- inputs


# No re.DOTALL: with it `(?:.|\n)` matches a newline two ways and an unclosed `"""` backtracks exponentially.
TOKEN = re.compile(r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|\d[\d:.\-/%]*|\s+|.|\n')
HOSTILE_CHARS = ["\u202e", "\u202d", "\u2066", "\u200b", "\u200d", "\ufeff", "\x00", "\r", "\u2028", "\u2029",
                 "\x85", "\x0c", "\x0b", "\t", "\u0301", "é", "ß", "İ", "ﬁ", "𝔞", "😀", "\ud800", "\udfff",
                 '"""', '"', "\\", "{{", "}}", "{%", "%}", "#", "\n"]
STRING_ESCAPES = ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "\\u202e", "\\u200b", "\\ufeff", "\\uffff",
                  "\\u0085", "\\u2028", "\\n", "\\t", "\\r", "\\\\", '\\"', "\\x41", "\\u12", "\\U0001F600"]
TEMPLATE_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ '{0.__class__}'.format(first_name) }}",
    "{{ first_name|attr('format') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}",
    "{{ 'A' * 10**9 }}",
    "{% set a = 'ab' %}" + "{% set a = a ~ a %}" * 30 + "{{ a|length }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "{{ first_name.upper }}",
    "{% include 'templates/smb/opener.txt.j2' %}",
    "{{ first_name }", "{% if %}", "{{ 7*7 }}", "{% raw %}{{ x }}{% endraw %}",
    "{{ company | default('there') }}", "{% if title %}{{ title }}{% endif %}",
]
NAMES = ["a", "x", "opener", "value", "hot", "end", "main", "day", "email", "if", "file", "none", "prospect",
         "first_name", "company", "title", "employees", "phone", "linkedin_url", "funding_days_ago", "has",
         "opened", "clicked", "replied", "accepted", "connected", "booked", "unsubscribed", "bounced", "smb",
         "mid_market", "enterprise", "_", "a" * 300, "q1_outbound", "mon", "text", "enum", "required"]
HUGE = ["9" * 400, "99999999999999999999", "-99999999999999999999", "1" + "0" * 5000, "0." + "0" * 300 + "1",
        "4294967296", "9223372036854775808", "1e309", "-0", "00000000007"]


def _token_pool(rng: random.Random) -> str:
    return rng.choice([
        "{", "}", "(", ")", ",", ":", "->", "-", "==", "<=", "!=", "%", "/", "and", "or", "not", "in", "contains",
        "day", "email", "linkedin", "call", "task", "if", "when", "else", "variant", "path", "on", "within",
        "split 50/50", "window 10:00-12:00", "tue-thu", "2027-02-30", "25:00-26:00", '"s"', '"""', '"', "file",
        "# seqc: ignore SEQ206\n", "required", "enum(a,b)", "0", "-1", "40%", *HUGE[:3], rng.choice(NAMES),
    ])


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _m_token_splice(rng, text, corpus):
    a, b = tokens(text), tokens(rng.choice(corpus))
    if not a or not b:
        return text
    i = rng.randrange(len(a))
    j = rng.randrange(i, min(len(a), i + rng.choice([1, 3, 20, 200])))
    k = rng.randrange(len(b))
    piece = b[k:k + rng.choice([1, 5, 40, 400])]
    return "".join(a[:i] + piece + a[j:])


def _m_token_edit(rng, text, corpus):
    toks = tokens(text)
    if len(toks) < 2:
        return text + _token_pool(rng)
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(toks))
        op = rng.randrange(4)
        if op == 0:
            del toks[i]
        elif op == 1:
            toks.insert(i, toks[i])
        elif op == 2:
            j = rng.randrange(len(toks))
            toks[i], toks[j] = toks[j], toks[i]
        else:
            toks[i] = _token_pool(rng)
        if not toks:
            break
    return "".join(toks)


def _m_unicode(rng, text, corpus):
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(text) + 1)
        # Inside a string, the text of an escape; anywhere, a raw hostile character.
        piece = rng.choice(STRING_ESCAPES) if _inside_string(text, i) and rng.random() < 0.6 else rng.choice(
            HOSTILE_CHARS)
        text = text[:i] + piece + text[i:]
    return text


def _inside_string(text: str, i: int) -> bool:
    line_start = text.rfind("\n", 0, i) + 1
    return text.count('"', line_start, i) % 2 == 1


def _m_huge(rng, text, corpus):
    toks = tokens(text)
    numbers = [i for i, t in enumerate(toks) if t[:1].isdigit()]
    strings = [i for i, t in enumerate(toks) if t.startswith('"')]
    choice = rng.randrange(4)
    if choice == 0 and numbers:
        toks[rng.choice(numbers)] = rng.choice(HUGE + ["9999-12-31", "0000-00-00", "23:59-24:00", "0:00-24:00",
                                                       "/".join(["1"] * rng.choice([3, 100, 3000]))])
    elif choice == 1 and strings:
        size = rng.choice([1_000, 100_000, 1_000_000])
        filler = rng.choice(["x", "{{ first_name }} ", "é", "\\n", "\\u00e9"])
        toks[rng.choice(strings)] = '"' + filler * (size // len(filler)) + '"'
    elif choice == 2:
        toks.append("\n" + "# " + "c" * rng.choice([10_000, 1_000_000]) + "\n")
    else:
        toks.append(" " + " ".join([rng.choice(NAMES[:20])] * rng.choice([1_000, 50_000])))
    return "".join(toks)


def deep_condition(rng: random.Random, depth: int) -> str:
    """A condition `depth` levels deep in one of the shapes that stress recursion."""
    atom = rng.choice(["b", "employees > 10", "opened(a)", "has(phone)", 'country in ("DE", "AT")'])
    shape = rng.randrange(6)
    if shape == 0:
        return "(" * depth + atom + ")" * depth
    if shape == 1:
        return "not " * depth + atom
    if shape == 2:
        return "not (" * depth + atom + ")" * depth
    if shape == 3:
        return "(b and " * depth + atom + ")" * depth
    if shape == 4:
        return "(b and (b or " * (depth // 2) + atom + "))" * (depth // 2)
    return " and ".join([atom] * (depth * 8))


def _m_deep(rng, text, corpus):
    depth = rng.choice([50, 200, 600, 1200])
    cond = deep_condition(rng, depth)
    steps = list(re.finditer(r"\bday\s+\d+\s+(email|linkedin|call|task)\s+[a-z_][a-z0-9_]*(\s+\"[^\"\n]*\")?", text))
    if steps:
        m = rng.choice(steps)
        rest = text[m.end():]
        rest = re.sub(r"^\s+if\s+[^{]*", "", rest, count=1)
        return text[:m.end()] + f" if {cond} " + rest
    return text + f'\nsequence deep {{ day 0 email a if {cond} {{ subject "s" body "b" }} }}\n'


def _m_template(rng, text, corpus):
    toks = tokens(text)
    strings = [i for i, t in enumerate(toks) if t.startswith('"') and not t.startswith('"""')]
    if not strings:
        return text
    payload = rng.choice(TEMPLATE_PAYLOADS)
    toks[rng.choice(strings)] = '"""' + payload + '"""'
    return "".join(toks)


def _m_slice(rng, text, corpus):
    if not text:
        return rng.choice(corpus)
    a = rng.randrange(len(text))
    b = rng.randrange(a, min(len(text), a + 400) + 1)
    op = rng.randrange(3)
    if op == 0:
        return text[:a] + text[b:]
    if op == 1:
        return text[:b] + text[a:b] * rng.choice([2, 50]) + text[b:]
    return text[:a]  # truncated file


MUTATORS: tuple[tuple[str, Callable, int], ...] = (
    ("token_splice", _m_token_splice, 4), ("token_edit", _m_token_edit, 6), ("unicode", _m_unicode, 4),
    ("huge", _m_huge, 1), ("deep", _m_deep, 1), ("template", _m_template, 2), ("slice", _m_slice, 3),
)


def _byte_flips(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not buf:
            break
        i = rng.randrange(len(buf))
        op = rng.randrange(4)
        if op == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i] = rng.choice([0x00, 0x80, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xFF, 0xFE, 0x0D])
        elif op == 2:
            buf[i:i] = rng.choice([b"\xef\xbb\xbf", b"\r\n", b"\r", b"\xed\xa0\x80", b"\xc0\xaf", b"\x00"])
        else:
            del buf[i:]
    if rng.random() < 0.2:
        buf[:0] = b"\xef\xbb\xbf"
    return bytes(buf)


# ---------------------------------------------------------------- grammar-generated programs


class GrammarGen:
    """Random derivations of `grammar/sequence.lark`, with literals drawn from hostile pools."""

    def __init__(self) -> None:
        from compiler.parse import parser

        p = parser()
        self.rules: dict[str, list[list]] = {}
        for r in p.rules:
            self.rules.setdefault(r.origin.name, []).append(list(r.expansion))
        self.literals = {t.name: t.pattern.value for t in p.terminals if t.pattern.type == "str"}
        self.cost = self._costs()

    def _costs(self) -> dict[str, int]:
        cost = {name: 10**9 for name in self.rules}
        changed = True
        while changed:
            changed = False
            for name, expansions in self.rules.items():
                best = min(sum(cost.get(s.name, 1) if not s.is_term else 1 for s in exp) for exp in expansions)
                if best < cost[name]:
                    cost[name], changed = best, True
        return cost

    def program(self, rng: random.Random, budget: int = 400) -> str:
        out: list[str] = []
        self._expand(rng, "start", 0, out, [budget])
        seps = [" ", " ", "\n", "\n  ", "\t", " # note\n", "\r\n", ""]
        text = []
        for tok in out:
            text.append(tok)
            text.append(rng.choice(seps) if tok not in ("(",) else "")
        return "".join(text)

    def _expand(self, rng, name: str, depth: int, out: list[str], budget: list[int]) -> None:
        expansions = self.rules[name]
        if depth > 40 or budget[0] <= 0:
            exp = min(expansions, key=lambda e: sum(1 if s.is_term else self.cost[s.name] for s in e))
        else:
            exp = rng.choice(expansions)
        for sym in exp:
            if sym.is_term:
                budget[0] -= 1
                out.append(self.terminal(rng, sym.name))
            else:
                self._expand(rng, sym.name, depth + 1, out, budget)

    def terminal(self, rng: random.Random, name: str) -> str:
        if name in self.literals:
            return self.literals[name]
        pools: dict[str, Callable[[], str]] = {
            "NAME": lambda: rng.choice(NAMES),
            "STRING": lambda: '"' + rng.choice(["s", "Hi {{ first_name }}", "{{ unsubscribe_url }}", "America/New_York",
                                                "", "US", "x" * 200, *STRING_ESCAPES, *TEMPLATE_PAYLOADS[-6:]]) + '"',
            "LONG_STRING": lambda: '"""\n  ' + rng.choice(["Hi {{ first_name }},", "", '"', "{{ unsubscribe_url }}"]) + '\n"""',
            "NUMBER": lambda: rng.choice(["0", "1", "3", "7", "14", "60", "0.5", "-1", "400", *HUGE[:4]]),
            "PERCENT": lambda: rng.choice(["5%", "0.08%", "100%", "0%", "-5%", "999999999999%"]),
            "DATE": lambda: rng.choice(["2027-01-05", "2026-12-01", "2027-02-29", "0001-01-01", "9999-12-31"]),
            "TIME_RANGE": lambda: rng.choice(["10:00-12:00", "09:00 - 11:00", "0:00-24:00", "23:59-24:00", "12:00-12:00",
                                              "14:00-10:00"]),
            "WEEKDAYS": lambda: rng.choice(["tue-thu", "mon-fri", "mon,wed,fri", "sat-sun", "fri-mon", "sun"]),
            "SPLIT": lambda: rng.choice(["50/50", "90/10", "33/33/34", "0/100", "1/1", "/".join(["1"] * 200)]),
            "CHANNEL": lambda: rng.choice(["email", "linkedin", "call", "task"]),
            "COMPARE_OP": lambda: rng.choice(["<", "<=", ">", ">=", "==", "!="]),
            "REQUIRED": lambda: "required", "PROSPECT": lambda: "prospect", "NONE": lambda: "none",
        }
        return pools.get(name, lambda: "x")()


# ---------------------------------------------------------------- cases


def corpus_digest(corpus: list[str]) -> str:
    """A short hash of the seed files: `(seed, case)` reproduces a case only with the same corpus."""
    return hashlib.sha256("\0".join(corpus).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def load_corpus() -> list[str]:
    files = sorted((ROOT / "examples").rglob("*.seq"))
    files += sorted((ROOT / "tests" / "cases").rglob("*.seq"))
    corpus = []
    for f in files:
        try:
            corpus.append(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return corpus or ['sequence a { day 0 email opener { subject "s" body "b" } }\n']


def make_case(seed: int, number: int, corpus: list[str], gen: GrammarGen) -> tuple[str | bytes, str]:
    """Case `number` of run `seed`: the input and a label naming how it was made."""
    rng = random.Random(f"{seed}/{number}")
    if rng.random() < 0.25:
        text, label = gen.program(rng, budget=rng.choice([60, 200, 600])), "grammar"
    else:
        text, label = rng.choice(corpus), "example"
    for _ in range(rng.choice([0, 1, 1, 2, 3]) if label == "grammar" else rng.choice([1, 1, 2, 3, 5])):
        name, fn, _ = rng.choices(MUTATORS, weights=[w for _, _, w in MUTATORS])[0]
        text = fn(rng, text, corpus)[:MAX_CASE_CHARS]  # mutations compound: keep a case cheap to make
        label += "+" + name
    if rng.random() < 0.12:
        return _byte_flips(rng, text.encode("utf-8", "surrogatepass")), label + "+bytes"
    return text, label


# ---------------------------------------------------------------- shrinking and saving


def shrink(data: str | bytes, signature: str, seconds: float = 20.0) -> str | bytes:
    """A smaller input with the same finding signature (delta debugging by lines, then chunks)."""
    deadline = time.monotonic() + seconds

    def same(candidate) -> bool:
        if time.monotonic() > deadline:
            return False
        try:
            exercise(candidate)
        except Finding as f:
            return f.signature == signature
        return False

    nl = b"\n" if isinstance(data, bytes) else "\n"
    for unit in ("lines", "tokens", "chunks"):
        if unit == "lines":
            parts = data.split(nl)
        elif unit == "tokens":
            if isinstance(data, bytes):
                continue
            parts = tokens(data)
        else:
            parts = [data[i:i + 1] for i in range(len(data))]
        if unit != "lines" and len(parts) > 20_000:
            continue
        joiner = nl if unit == "lines" else data[:0]
        n = 2
        while len(parts) >= 2 and time.monotonic() < deadline:
            size = max(1, len(parts) // n)
            reduced = False
            for start in range(0, len(parts), size):
                candidate = parts[:start] + parts[start + size:]
                if candidate and same(joiner.join(candidate)):
                    parts, n, reduced = candidate, max(n - 1, 2), True
                    break
            if not reduced:
                if size == 1:
                    break
                n = min(len(parts), n * 2)
        data = joiner.join(parts)
    return data


def save(data: str | bytes, directory: Path = REGRESSIONS) -> Path:
    """Write a case as `crash-<sha256 prefix>.seq`; a bytes case (read from disk) as `…-bytes.seq`."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-bytes" if isinstance(data, bytes) else ""
    path = directory / f"crash-{hashlib.sha256(raw).hexdigest()[:12]}{suffix}.seq"
    path.write_bytes(raw)
    return path


def read_case(path: Path) -> str | bytes:
    """A saved case as the fuzzer made it: bytes for `…-bytes.seq`, else text.

    Text cases may hold lone surrogates (an editor buffer can; a file cannot), saved with
    "surrogatepass".
    """
    raw = path.read_bytes()
    if path.name.endswith("-bytes.seq"):
        return raw
    return raw.decode("utf-8", "surrogatepass")


def known_signatures(directory: Path = REGRESSIONS, seconds: float = CASE_SECONDS) -> dict[str, str]:
    """Signature → saved file, for every saved case that still fails."""
    found: dict[str, str] = {}
    for path in sorted(directory.glob("crash-*.seq")):
        try:
            exercise(read_case(path), seconds=seconds)
        except Finding as f:
            found.setdefault(f.signature, path.name)
    return found


# ---------------------------------------------------------------- main


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _limit_memory(max_rss_mb: float) -> None:
    limit = int(max_rss_mb * 4) * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # a runaway case fails instead of swapping
    except (ValueError, OSError):
        pass


def worker(args) -> int:
    """Run cases from `--start`, one protocol line each on stdout; the supervisor owns time and saving.

    `CASE n label` before a case, then `OK n {"stages": …, "codes": …}` or `FIND n {finding}`.
    """
    _limit_memory(args.max_rss_mb)
    corpus, gen = load_corpus(), GrammarGen()
    out = sys.stdout
    number, rss = args.start, _rss_mb()
    while args.cases is None or number - args.start < args.cases:
        data, label = make_case(args.seed, number, corpus, gen)
        out.write(f"CASE {number} {label}\n")
        out.flush()
        try:
            outcome = exercise(data, seconds=args.case_seconds)
            if _rss_mb() > args.max_rss_mb and _rss_mb() > rss:
                raise Finding("memory", "rules", f"peak RSS {_rss_mb():.0f} MB")
            out.write(f"OK {number} {json.dumps({'stages': outcome.stages, 'codes': outcome.codes})}\n")
        except Finding as f:
            out.write(f"FIND {number} {json.dumps({'signature': f.signature, 'stage': f.stage, 'detail': f.detail})}\n")
        out.flush()
        rss = max(rss, _rss_mb())
        number += 1
    return 0


class Supervisor:
    """Runs `worker` in a child process and restarts it past a case that stalls or kills it.

    SIGALRM cannot interrupt a long C call (a regex, a huge string operation) or survive a
    segfault or an out-of-memory kill; the supervisor sees those as a silent or dead worker.
    """

    def __init__(self, args) -> None:
        self.args = args
        self.proc: subprocess.Popen | None = None

    def _spawn(self, start: int, cases: int | None) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--seed", str(self.args.seed),
               "--start", str(start), "--case-seconds", str(self.args.case_seconds),
               "--max-rss-mb", str(self.args.max_rss_mb)]
        if cases is not None:
            cmd += ["--cases", str(cases)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def events(self, deadline: float | None):
        """Yield (kind, number, payload) until the cases or the time box run out."""
        import queue
        import threading

        args = self.args
        number, end = args.start, (args.start + args.cases if args.cases is not None else None)
        stall = args.case_seconds * 3 + 30
        while end is None or number < end:
            if deadline is not None and time.monotonic() >= deadline:
                break
            self._spawn(number, None if end is None else end - number)
            lines: queue.Queue = queue.Queue()
            # A reader thread: select() on a buffered pipe misses lines already in Python's buffer.
            threading.Thread(target=lambda out=self.proc.stdout: [lines.put(x) for x in out] + [lines.put(None)],
                             daemon=True).start()
            current, label = number, ""
            while True:
                wait = stall if deadline is None else max(0.0, min(stall, deadline - time.monotonic()))
                try:
                    line = lines.get(timeout=wait)
                except queue.Empty:
                    self.stop()
                    if deadline is not None and time.monotonic() >= deadline:
                        return
                    yield "FIND", current, {"signature": "stall", "stage": "?", "label": label,
                                            "detail": f"no progress for {stall:.0f} s (a long C call?)"}
                    number = current + 1
                    break
                if line is None:
                    code = self.proc.wait()
                    self.proc = None
                    if code == 0 or (end is not None and current >= end):
                        return
                    yield "FIND", current, {"signature": f"died:{code}", "stage": "?", "label": label,
                                            "detail": f"the worker exited with {code} (segfault, OOM kill?)"}
                    number = current + 1
                    break
                kind, n, rest = line.rstrip("\n").split(" ", 2)
                if kind == "CASE":
                    current, label = int(n), rest
                    yield "CASE", current, label
                else:
                    payload = json.loads(rest)
                    payload["label"] = label
                    yield kind, int(n), payload
                    current, label = int(n) + 1, "(while making the case)"
        self.stop()


# ---------------------------------------------------------------- scale figures (docs/reliability.md)


def _timed_child(cmd: list[str], **kwargs) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB) and exit code of one child process, and its stderr tail."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_maxrss / 1024, proc.returncode, err.strip().splitlines()[-1:]


def _long_sequence(steps: int, name: str = "s") -> str:
    channels = ("email", "call", "task")
    lines = [f'sequence {name} "long" {{\n  tier mid_market\n']
    for i in range(steps):
        day, channel = i * 3650 // steps, channels[i % 3]
        if channel == "email":
            lines.append(f'  day {day} email e{i} {{ purpose followup subject "Note {i} for {{{{ company }}}}" '
                         f'body "Hi {{{{ first_name }}}}, point {i}. Opt out: {{{{ unsubscribe_url }}}}" }}\n')
        elif channel == "call":
            lines.append(f'  day {day} call c{i} {{ script "Call {{{{ first_name }}}} about point {i}." }}\n')
        else:
            lines.append(f'  day {day} task t{i} {{ note "Research {{{{ company }}}} ({i})." }}\n')
    lines.append("}\n")
    return "".join(lines)


_SCALE_PROSPECT = ('prospect {\n  email: email required\n  first_name: text required\n  company: text required\n'
                   '  phone: phone required\n  employees: int\n  b: bool\n  country: country\n}\n')
_STREAM = """
import resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from compiler import prospects
from compiler.project import load_text
rows, traced = int(sys.argv[1]), sys.argv[2] == "1"
block = load_text({prospect!r}, "p.seq").project.prospect
if traced:
    tracemalloc.start()
started, n = time.monotonic(), 0
for record in prospects.load_prospects(sys.argv[3], block):
    n += 1
peak = tracemalloc.get_traced_memory()[1] / 1e6 if traced else 0.0
print(n, round(time.monotonic() - started, 1), round(peak, 2),
      round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
"""


def scale(out_json: Path | None) -> int:
    """Print (and optionally save) the scale figures docs/reliability.md quotes."""
    seqc = str(Path(sys.executable).with_name("seqc"))
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="seqc-scale-") as tmp:
        base = Path(tmp)
        long_dir = base / "long"
        long_dir.mkdir()
        (long_dir / "a.seq").write_text(_SCALE_PROSPECT + _long_sequence(4000), encoding="utf-8")
        big = base / "big"
        big.mkdir()
        (big / "prospect.seq").write_text(_SCALE_PROSPECT, encoding="utf-8")
        for f in range(17):
            (big / f"s{f}.seq").write_text(_long_sequence(3000, f"s{f}"), encoding="utf-8")
        size = sum(p.stat().st_size for p in big.iterdir())
        runs = {
            "4000 steps: check": [seqc, "check", str(long_dir)],
            "4000 steps: check --ignore SEQ205,SEQ208": [seqc, "check", str(long_dir), "--ignore", "SEQ205,SEQ208"],
            "4000 steps: plan --format json": [seqc, "plan", str(long_dir), "--format", "json"],
            "4000 steps: compile --target ir": [seqc, "compile", str(long_dir), "--target", "ir"],
            f"{size / 1e6:.1f} MB, 18 files: check --ignore SEQ205,SEQ208": [seqc, "check", str(big), "--ignore",
                                                                           "SEQ205,SEQ208"],
            f"{size / 1e6:.1f} MB, 18 files: check": [seqc, "check", str(big)],
        }
        for label, cmd in runs.items():
            wall, rss, code, err = _timed_child(cmd)
            figures[label] = {"seconds": round(wall, 1), "peak_rss_mb": round(rss, 1), "exit": code}
            print(f"{label:<48} {wall:7.1f} s  {rss:7.1f} MB  exit {code} {err}", flush=True)
        for shape, cond in (("not-and alternating x300", "not (b and " * 300 + "b" + ")" * 300),
                            ("and-or alternating x10", "(b and (b or " * 10 + "b" + "))" * 10),
                            ("and-or alternating x12", "(b and (b or " * 12 + "b" + "))" * 12),
                            ("and chain of 5000", " and ".join(["employees > 1"] * 5000))):
            deep = base / f"deep-{len(figures)}"
            deep.mkdir()
            (deep / "a.seq").write_text(
                _SCALE_PROSPECT + 'sequence s {\n  day 0 email a { subject "s" body "b {{ unsubscribe_url }}" }\n'
                f'  day 3 email c if {cond} {{ subject "t" body "u {{{{ unsubscribe_url }}}}" }}\n}}\n', encoding="utf-8")
            for command in (["check"], ["plan"], ["compile", "--target", "ir"]):
                wall, rss, code, err = _timed_child([seqc, command[0], str(deep), *command[1:]])
                label = f"{shape}: {' '.join(command)}"
                figures[label] = {"seconds": round(wall, 1), "peak_rss_mb": round(rss, 1), "exit": code}
                print(f"{label:<48} {wall:7.1f} s  {rss:7.1f} MB  exit {code} {err}", flush=True)
        for rows, traced in ((100_000, True), (1_000_000, True), (1_000_000, False)):
            path = base / f"p{rows}.csv"
            if not path.exists():
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write("email,first_name,company,phone,employees,b,country\n")
                    for i in range(rows):
                        fh.write(f"p{i}@c{i % 97}.example.com,Ann,Company {i % 97},+1415555{i % 10000:04d},"
                                 f"{10 + i % 5000},true,{('US', 'DE', 'GB')[i % 3]}\n")
            code = _STREAM.format(root=str(ROOT), prospect=_SCALE_PROSPECT)
            r = subprocess.run([sys.executable, "-c", code, str(rows), "1" if traced else "0", str(path)],
                               capture_output=True, text=True)
            n, secs, peak, rss = r.stdout.split()
            label = f"stream {rows:,} prospect rows{' (tracemalloc on)' if traced else ''}"
            figures[label] = {"rows": int(n), "seconds": float(secs), "traced_peak_mb": float(peak),
                              "peak_rss_mb": float(rss), "file_mb": round(path.stat().st_size / 1e6, 1)}
            print(f"{label:<48} {float(secs):7.1f} s  RSS {rss} MB  traced peak {peak} MB", flush=True)
    if out_json:
        out_json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="time box (default 60)")
    ap.add_argument("--cases", type=int, help="run exactly this many cases instead of a time box")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first case number")
    ap.add_argument("--case", type=int, help="run (or --show) only this case")
    ap.add_argument("--show", action="store_true", help="print the case input and exit")
    ap.add_argument("--replay", nargs="+", type=Path, help="run saved inputs and report each")
    ap.add_argument("--no-save", action="store_true", help="do not write tests/regressions/crash-*.seq")
    ap.add_argument("--case-seconds", type=float, default=CASE_SECONDS, help="per-case budget before a hang")
    ap.add_argument("--max-rss-mb", type=float, default=1500.0, help="peak memory that counts as a finding")
    ap.add_argument("--json", type=Path, help="write the run summary here")
    ap.add_argument("--scale", action="store_true", help="measure the scale figures of docs/reliability.md")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.scale:
        return scale(args.json)
    _limit_memory(args.max_rss_mb)

    if args.replay:
        bad = 0
        for path in args.replay:
            try:
                exercise(read_case(path), seconds=args.case_seconds)
                print(f"{path}: ok")
            except Finding as f:
                bad += 1
                print(f"{path}: {f}")
        return 1 if bad else 0

    corpus, gen = load_corpus(), GrammarGen()
    if args.case is not None:
        data, label = make_case(args.seed, args.case, corpus, gen)
        if args.show:
            sys.stdout.buffer.write(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
            return 0
        try:
            outcome = exercise(data, seconds=args.case_seconds)
            print(f"case {args.case} ({label}): ok, stages {outcome.stages}, codes {dict(outcome.codes)}")
            return 0
        except Finding as f:
            print(f"case {args.case} ({label}): {f}")
            return 1

    known = {} if args.no_save else known_signatures()
    print(f"seed {args.seed}, corpus {corpus_digest(corpus)} ({len(corpus)} files)", flush=True)
    started = time.monotonic()
    labels: Counter = Counter()
    stages: Counter = Counter()
    codes: Counter = Counter()
    findings: dict[str, dict] = {}
    ran = 0
    supervisor = Supervisor(args)
    deadline = None if args.cases is not None else started + args.seconds
    try:
        for kind, number, payload in supervisor.events(deadline):
            if kind == "CASE":
                ran += 1
                labels[payload.split("+", 1)[0] + ("+bytes" if payload.endswith("+bytes") else "")] += 1
                continue
            if kind == "OK":
                stages.update(payload["stages"])
                codes.update(payload["codes"])
                continue
            sig, label = payload["signature"], payload["label"]
            entry = findings.setdefault(sig, {"count": 0, "first_case": number, "label": label,
                                              "stage": payload["stage"], "detail": payload["detail"], "saved": None})
            entry["count"] += 1
            if entry["count"] > 1:
                continue
            print(f"[{time.monotonic() - started:7.1f}s] seed {args.seed} case {number} ({label}): "
                  f"{sig} [{payload['stage']}]: {payload['detail']}", flush=True)
            if args.no_save or sig in ("memory",) or sig.startswith(("stall", "died:")):
                entry["saved"] = f"not saved; replay with --seed {args.seed} --case {number}"
            elif sig in known:
                entry["saved"] = f"tests/regressions/{known[sig]} (already)"
            else:
                data, _ = make_case(args.seed, number, corpus, gen)
                small = shrink(data, sig, seconds=60 if sig.startswith("hang@") else 20)
                if sig.startswith("hang@") and len(small) > MAX_SAVED_HANG:
                    entry["saved"] = f"not saved ({len(small)} long); replay with --seed {args.seed} --case {number}"
                else:
                    entry["saved"] = str(save(small).relative_to(ROOT))
                    known[sig] = Path(entry["saved"]).name
                print(f"           {entry['saved']} ({len(small)} of {len(data)} "
                      f"{'bytes' if isinstance(data, bytes) else 'characters'})", flush=True)
    finally:
        supervisor.stop()
    elapsed = time.monotonic() - started
    summary = {
        "seed": args.seed, "corpus": corpus_digest(corpus), "cases": ran, "seconds": round(elapsed, 1),
        "cases_per_second": round(ran / max(elapsed, 1e-9), 1),
        "inputs": dict(labels), "stages_reached": dict(stages), "diagnostic_codes": dict(sorted(codes.items())),
        "findings": findings,
    }
    print(f"\n{ran} cases in {elapsed:.0f} s ({summary['cases_per_second']}/s), seed {args.seed}")
    print("inputs:", dict(labels))
    print("stages reached:", dict(stages))
    if findings:
        print(f"{len(findings)} distinct finding(s):")
        for sig, e in sorted(findings.items(), key=lambda kv: -kv[1]["count"]):
            print(f"  {e['count']:6d}x {sig} [{e['stage']}] first: case {e['first_case']} -> {e['saved']}")
    else:
        print("no findings")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
