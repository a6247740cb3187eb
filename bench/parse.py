"""Parse throughput: seqc's parser (LALR + IR built while parsing) vs a bare lark LALR parse.

Generates a ~5,000-line project text (sequences with windows, guarded steps, content branches,
A/B variants, events and paths, plus a prospect block and a campaign), then, in one process,
times `compiler.parse.parse_text` (the real front end: lexing, parsing, IR nodes, literal
checks) against `lark.Lark(grammar, parser="lalr").parse` on the same text with the same grammar
(a plain parse tree, no transformer). Both parsers are built before timing starts.

    .venv/bin/python bench/parse.py [--lines 5000] [--repeat 15]

Prints lines/second for each (best of --repeat runs) and the ratio seqc / bare lark; the goal
is a ratio of at least 0.5.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROSPECT = """\
prospect {
  email:            email     required
  first_name:       text      required
  company:          text      required
  title:            text
  timezone:         timezone
  country:          country
  linkedin_url:     url
  phone:            phone
  employees:        int       required
  funding_days_ago: int
  email_status:     enum(verified, risky, invalid, unknown)
}
"""

SEQUENCE = """\
# Sequence {i}: generated for the parse benchmark.
sequence track_{i} "Generated track {i}" {{
  tier mid_market
  timezone prospect else "America/New_York"
  window email    tue-thu 10:00-12:00
  window linkedin mon,wed,fri 11:00-13:00
  window call     mon-fri 14:00-16:00
  holidays prospect
  exit on replied, bounced, unsubscribed

  day 0 email opener_{i} {{
    purpose opener
    variant a {{ subject "Quick question about {{{{ company }}}}" }}
    variant b {{ subject "{{{{ first_name }}}}, a thought on {{{{ company }}}}" }}
    split 50/50
    body \"\"\"
      Hi {{{{ first_name }}}},

      Teams like {{{{ company }}}} usually ramp new reps in 90 days. Worth a look?

      {{{{ sender_first_name }}}}
      \"\"\"
  }}

  day 1 linkedin invite_{i} if has(linkedin_url) {{
    action connect
    note "Hi {{{{ first_name }}}}, I sent you a short note about {{{{ company }}}}."
  }}

  day 3 email value_{i} if opened(opener_{i}) and not clicked(opener_{i}) {{
    purpose value_add
    thread opener_{i}
    when funding_days_ago <= 90 and employees > 50 {{
      body "Congrats on the round. Here is how growing teams onboard: https://example.com/g"
    }}
    when country in ("DE", "AT", "CH") or title contains "VP" {{
      body "A short guide for your region: https://example.com/dach"
    }}
    else {{
      body "A short guide: https://example.com/guide"
    }}
  }}

  day 5 call call_{i} if has(phone) {{
    script "Ask about {{{{ company }}}}'s onboarding; leave a voicemail if no answer."
  }}

  day 7 email proof_{i} {{
    purpose social_proof
    window 09:00-11:00
    subject "How a team like {{{{ company }}}} cut ramp time"
    body "Case study: https://example.com/case"
  }}

  day 10 linkedin dm_{i} if accepted(invite_{i}) and has(linkedin_url) {{
    action message
    body "Thanks for connecting, {{{{ first_name }}}}."
  }}

  day 14 email breakup_{i} {{
    purpose breakup
    subject "Closing the loop"
    body "I'll stop here. {{{{ unsubscribe_url }}}}"
  }}

  on clicked(value_{i}) within 2 days -> hot_{i}

  path hot_{i} {{
    day 1 email ask_{i} {{
      purpose direct_ask
      thread value_{i}
      body "Saw you had a look. Worth 15 minutes on Thursday?"
    }}
    day 3 call hot_call_{i} if has(phone) {{ script "Follow up on the guide they opened." }}
  }}
}}

"""

CAMPAIGN = """\
campaign bench {{
  start 2027-01-05
  enroll 60 per day
  route {{
{routes}
  }}
  sender {{
    from "Dana Reyes <dana@mail.example.com>"
    reply_to "dana@example.com"
    mailboxes 36
    daily_limit 40
    warmup since 2026-10-01
    auth spf dkim dmarc
  }}
  compliance {{
    unsubscribe "{{{{ unsubscribe_url }}}}"
    postal_address "Example Inc., 100 Example Way, Springfield, IL 62701, USA"
    lawful_basis legitimate_interest
  }}
  crm hubspot
  goals {{ reply_rate 5% positive_reply_rate 40% booked_rate 1.5% unsubscribe_rate < 0.3% spam_rate < 0.08% }}
}}
"""


def generate(target_lines: int) -> str:
    """A valid project text of about `target_lines` lines."""
    seq_lines = SEQUENCE.format(i=0).count("\n")
    count = max(1, (target_lines - PROSPECT.count("\n") - 30) // seq_lines)
    sequences = "".join(SEQUENCE.format(i=i) for i in range(count))
    routes = "\n".join(f"    track_{i} if employees < {(i + 1) * 10}" for i in range(count - 1))
    routes += f"\n    track_{count - 1}"
    return PROSPECT + "\n" + sequences + CAMPAIGN.format(routes=routes)


def best_of_interleaved(repeat: int, *fns) -> list[float]:
    """Best wall time of each function; runs alternate so machine noise hits both alike.

    The garbage collector is off while a run is timed (as `timeit` does).
    """
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
            finally:
                gc.enable()
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    import lark

    from compiler.parse import parse_text, parser
    from grammar import GRAMMAR_PATH

    text = generate(args.lines)
    lines = text.count("\n")

    result = parse_text(text, "bench.seq")  # builds (or loads) the cached parser; checks the text
    errors = [d for d in result.diagnostics if d.code == "SEQ001"]
    if errors:
        raise SystemExit(f"generated text does not parse: {errors[0]}")
    parser()

    bare = lark.Lark(GRAMMAR_PATH.read_text(encoding="utf-8"), parser="lalr")
    tree = bare.parse(text)
    assert tree.data == "start"

    t_seqc, t_lark = best_of_interleaved(args.repeat, lambda: parse_text(text, "bench.seq"), lambda: bare.parse(text))

    seqc_lps, lark_lps = lines / t_seqc, lines / t_lark
    print(f"python {platform.python_version()} on {platform.system()} {platform.machine()}, lark {lark.__version__}")
    print(f"input: {lines} lines, {len(text):,} characters, {len(result.nodes)} top-level blocks")
    print(f"seqc parse_text (LALR + IR): {t_seqc * 1000:8.1f} ms  {seqc_lps:10,.0f} lines/s")
    print(f"bare lark LALR parse (tree): {t_lark * 1000:8.1f} ms  {lark_lps:10,.0f} lines/s")
    ratio = seqc_lps / lark_lps
    print(f"ratio seqc / bare lark: {ratio:.2f}x (goal >= 0.5x: {'met' if ratio >= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
