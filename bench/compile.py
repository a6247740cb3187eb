"""Benchmark: `seqc compile` of 200 generated sequences for each target vs building the IR alone.

Run from the repository root:  .venv/bin/python bench/compile.py [--sequences N] [--repeat R]

The project is email-only (so every target, Instantly included, compiles it) and uses what
lowering works on: A/B subjects, a fallback, an `{% if %}` block, content branches, threads
and prospect time zones. "IR build" is `load_text` (parse + IR). "compile" is everything
`seqc compile` does after that except writing: lowering, the SEQ601 check, delay fitting and
replay, emitting and validating every file against its schema. Both run in this process,
best of R, garbage collector off while timing; lowering's memo tables are cleared before each
compile run, so it starts as cold as the CLI does.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compiler.api import validate_artifact  # noqa: E402
from compiler.build import build  # noqa: E402
from compiler.project import load_text  # noqa: E402
from targets import REGISTRY, capabilities, get_target  # noqa: E402

PROSPECT = """prospect {
  email: email required
  first_name: text required
  company: text required
  title: text
  timezone: timezone
  employees: int required
  funding_days_ago: int
}
"""

ZONES = ("America/New_York", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "America/Chicago")


def sequence(i: int) -> str:
    zone = ZONES[i % len(ZONES)]
    value, proof, breakup = 7 + i % 5, 14 + i % 4, 21 + i % 6  # 120 distinct timing shapes
    return f'''
sequence s{i} "Generated {i}" {{
  tier mid_market
  timezone prospect else "{zone}"
  window email tue-thu 10:00-12:00
  day 0 email opener {{
    purpose opener
    variant a {{ subject "Quick question, {{{{ first_name }}}}" }}
    variant b {{ subject "Ramp time at {{{{ company }}}}" }}
    body """
      Hi {{{{ first_name }}}},

      Teams like {{{{ company }}}} lose a quarter to ramp.
      {{% if title %}}As {{{{ title }}}}, you see it first.{{% endif %}}

      {{{{ sender_first_name }}}}
      Opt out: {{{{ unsubscribe_url }}}}
      """
  }}
  day {value} email value {{
    purpose value_add
    thread opener
    when funding_days_ago <= 90 {{
      body """
        Hi {{{{ first_name }}}},

        Congrats on the round.

        {{{{ sender_first_name }}}}
        Opt out: {{{{ unsubscribe_url }}}}
        """
    }}
    else {{
      body """
        Hi {{{{ first_name }}}},

        A plan for {{{{ title | default("your team") }}}}.

        {{{{ sender_first_name }}}}
        Opt out: {{{{ unsubscribe_url }}}}
        """
    }}
  }}
  day {proof} email proof {{
    purpose social_proof
    subject "How others did it"
    body "Hi {{{{ first_name }}}}, a story. {{{{ sender_first_name }}}}. Opt out: {{{{ unsubscribe_url }}}}"
  }}
  day {breakup} email breakup {{
    purpose breakup
    subject "Closing the loop"
    body "Last note, {{{{ first_name }}}}. {{{{ sender_first_name }}}}. Opt out: {{{{ unsubscribe_url }}}}"
  }}
}}
'''


def project_text(n: int) -> str:
    routes = "\n".join(f"    s{i} if employees < {(i + 1) * 10}" for i in range(n - 1)) + f"\n    s{n - 1}"
    campaign = f"""
campaign bench {{
  start 2027-01-05
  route {{
{routes}
  }}
}}
"""
    return PROSPECT + "".join(sequence(i) for i in range(n)) + campaign


def ir_build(text: str):
    loaded = load_text(text, "bench.seq", Path("."))
    assert not [d for d in loaded.diagnostics if d.severity.value == "error"], loaded.diagnostics[:3]
    return loaded


def cold() -> None:
    """Forget what lowering memoises (template cuts, tag shapes, delay fits, zone maps): a CLI run
    starts cold. The render module's template analysis stays warm, as `seqc check` runs first."""
    from compiler.lower import delays, templates, zones

    for fn in (templates.atoms, templates._shape, delays._fit, zones._best):
        fn.cache_clear()


def compile_once(loaded, name: str, alternatives) -> int:
    cold()
    result = build(loaded, get_target(name), alternatives=alternatives)
    assert not result.diagnostics, result.diagnostics[:3]
    for art in result.artifacts:
        validate_artifact(art)
    return len(result.artifacts)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        gc.enable()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = project_text(args.sequences)
    loaded = ir_build(text)
    alternatives = capabilities()
    targets = [n for n in sorted(REGISTRY) if n != "ir"]
    files = {n: compile_once(loaded, n, alternatives) for n in ["ir", *targets]}  # warm caches (zones, templates)
    ir_time = best(lambda: ir_build(text), args.repeat)
    print(f"python {platform.python_version()} on {platform.machine()}, {args.sequences} sequences, "
          f"{text.count(chr(10))} lines, best of {args.repeat}")
    print(f"{'step':<26}{'time':>10}{'files':>8}{'× IR build':>12}")
    print(f"{'IR build (parse + IR)':<26}{ir_time * 1000:>8.1f}ms{'':>8}{1.0:>11.2f}×")
    for name in ["ir", *targets]:
        t = best(lambda: compile_once(loaded, name, alternatives), args.repeat)
        print(f"{'compile --target ' + name:<26}{t * 1000:>8.1f}ms{files[name]:>8}{t / ir_time:>11.2f}×")


if __name__ == "__main__":
    main()
