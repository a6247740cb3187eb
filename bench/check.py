"""`seqc check` cost: all rules vs parsing, on a generated project of 500 sequences.

Generates a project folder (a prospect block, 500 sequences in one file each, a campaign that
routes to all of them), then, in one process, times loading the project (read, parse, build the
IR: `compiler.project.load`) against running every rule on it (`compiler.check.run_rules`).
Every template is distinct, and all template and landing caches are cleared before each
round, so nothing is reused between rounds. With `--prospects N`, N generated prospect
records are loaded first and the data-aware rules run on them too (loading the file is
not counted: it is `--prospects` I/O, measured by bench/prospects.py).

    .venv/bin/python bench/check.py [--sequences 500] [--repeat 5] [--prospects 0] [--profile]

Prints the best time of each, the ratio rules / parse (goal: below 1.0) and the ten most
expensive rules of the best round.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import render, template_analysis, timing  # noqa: E402
from compiler.check import run_rules  # noqa: E402
from compiler.config import RuleConfig  # noqa: E402
from compiler.project import discover, load  # noqa: E402
from compiler.rules import ALL_RULES, CatalogEntry, RuleContext, cadence  # noqa: E402
from compiler.rules import data  # noqa: E402
from compiler.rules.data import load_sample  # noqa: E402

from bench.parse import PROSPECT  # noqa: E402  (the same prospect block as the parse benchmark)


SEQUENCE = '''\
# Track {i}: generated for bench/check.py.
sequence track_{i} "Generated track {i}" {{
  tier {tier}
  timezone prospect else "America/New_York"
  window email    tue-thu 10:00-12:00
  window linkedin mon,fri 11:00-13:00
  window call     tue-thu 14:00-16:00
  holidays prospect

  day 0 email opener {{
    purpose opener
    variant a {{ subject "Ramp time at {{{{ company }}}}, note {i}" }}
    variant b {{ subject "{{{{ first_name }}}}, a thought on {{{{ company }}}} ({i})" }}
    split 50/50
    body """
      Hi {{{{ first_name }}}},

      Teams like {{{{ company }}}} usually take {i} days to ramp a new rep. {{% if title %}}As {{{{ title }}}}, you
      probably own that number.{{% else %}}Someone there owns that number.{{% endif %}} Worth a look?

      {{{{ sender_first_name }}}}

      Opt out: {{{{ unsubscribe_url }}}}
      """
  }}

  day 1 linkedin invite if has(linkedin_url) {{
    action connect
    note "Hi {{{{ first_name }}}}, I sent you note {i} about {{{{ company }}}}."
  }}

  day 7 email value if opened(opener) and not clicked(opener) {{
    purpose value_add
    thread opener
    when funding_days_ago <= 90 {{
      body "Hi {{{{ first_name }}}},\\n\\nCongrats on the round. Guide {i} for growing teams: https://example.com/g/{i}\\n\\nOpt out: {{{{ unsubscribe_url }}}}"
    }}
    else {{
      body "Hi {{{{ first_name }}}},\\n\\nA short onboarding guide, edition {i}: https://example.com/guide/{i}\\n\\nOpt out: {{{{ unsubscribe_url }}}}"
    }}
  }}

  day 9 call first_call if has(phone) {{
    script "Ask about {{{{ company }}}}'s onboarding (track {i}); leave a voicemail if no answer."
  }}

  day 14 email proof {{
    purpose social_proof
    window 09:00-11:00
    subject "How a team like {{{{ company }}}} cut ramp time by {i} days"
    body "Hi {{{{ first_name }}}},\\n\\nCase study {i}: https://example.com/case/{i}\\n\\nOpt out: {{{{ unsubscribe_url }}}}"
  }}

  day 18 linkedin dm if accepted(invite) and has(linkedin_url) {{
    action message
    body "Thanks for connecting, {{{{ first_name }}}}. Happy to share playbook {i}."
  }}

  day 21 email breakup {{
    purpose breakup
    subject "Closing the loop ({i})"
    body "Hi {{{{ first_name }}}},\\n\\nI'll stop here after note {i}; reply any time.\\n\\nOpt out: {{{{ unsubscribe_url }}}}"
  }}

  on clicked(value) within 2 days -> hot

  path hot {{
    day 1 email ask {{
      purpose direct_ask
      thread value
      body "Saw you had a look at guide {i}. Worth 15 minutes on Thursday?\\n\\nOpt out: {{{{ unsubscribe_url }}}}"
    }}
    day 3 call hot_call if has(phone) {{ script "Follow up on guide {i} they opened." }}
  }}
}}
'''

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
    mailboxes 200
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
}}
"""

NEW = ("SEQ2", "SEQ303", "SEQ4")  # the codes of the cadence/deliverability issue
ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney", "America/Los_Angeles")
COUNTRIES = ("US", "DE", "IN", "AU", "US")
STATUSES = ("verified", "verified", "verified", "risky", "unknown")


def generate(folder: Path, sequences: int, prospects: int) -> Path | None:
    tiers = ("smb", "mid_market", "enterprise")
    (folder / "prospect.seq").write_text(PROSPECT, encoding="utf-8")
    for i in range(sequences):
        (folder / f"track_{i:04d}.seq").write_text(SEQUENCE.format(i=i, tier=tiers[i % 3]), encoding="utf-8")
    routes = "\n".join(f"    track_{i} if employees < {10 * (i + 1)}" for i in range(sequences - 1))
    routes += f"\n    track_{sequences - 1}"
    (folder / "campaign.seq").write_text(CAMPAIGN.format(routes=routes), encoding="utf-8")
    if not prospects:
        return None
    rows = ["email,first_name,company,title,timezone,country,employees,funding_days_ago,email_status"]
    for n in range(prospects):
        k = n % 5
        rows.append(f"p{n}@company{n % 997}.example.com,Alex{n},Company {n} Holdings,VP Sales,{ZONES[k]},"
                    f"{COUNTRIES[k]},{(n * 37) % (10 * sequences)},{n % 200},{STATUSES[k]}")
    path = folder / "prospects.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def clear_caches() -> None:
    template_analysis.analyze.cache_clear()
    render._compiled.cache_clear()
    cadence._words.cache_clear()
    data.static_text.cache_clear()
    timing.clear_caches()


def timed(fn):
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        value = fn()
        return time.perf_counter() - start, value
    finally:
        gc.enable()


def per_rule(loaded, sample) -> list[tuple[float, str]]:
    """Each rule's time in ALL_RULES order on one context (shared memo, as in a real run)."""
    clear_caches()
    ctx = RuleContext(loaded.project, sample)
    out = []
    for rule in ALL_RULES:
        if issubclass(rule, CatalogEntry) or (rule.needs_prospects and sample is None):
            continue
        seconds, _ = timed(lambda: list(rule().check(ctx)))
        out.append((seconds, rule.code))
    return sorted(out, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prospects", type=int, default=0, help="generate and check with this many records")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one rules run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench_project"
        folder.mkdir()
        csv = generate(folder, args.sequences, args.prospects)
        (source,) = discover([folder.as_posix()])
        load(source)  # builds the parser (cached) and warms the file cache
        loaded = load(source)
        sample = load_sample(csv.as_posix(), loaded.project) if csv else None
        lines = sum(len(text.splitlines()) for text in loaded.sources.values())
        configs = {"all rules": RuleConfig(), "cadence + deliverability (SEQ2xx, SEQ303, SEQ4xx)":
                   RuleConfig(select=NEW), "the others (SEQ1xx, SEQ301/302/304/305)": RuleConfig(ignore=NEW)}
        times: dict[str, list[float]] = {"parse": [], **{name: [] for name in configs}}
        found = 0
        for _ in range(args.repeat):  # alternate the contenders so machine noise hits all alike
            clear_caches()
            seconds, loaded = timed(lambda: load(source))
            times["parse"].append(seconds)
            for name, config in configs.items():
                clear_caches()
                seconds, diags = timed(lambda: run_rules(loaded, config, prospects=sample))
                times[name].append(seconds)
                found = len(diags) if name == "all rules" else found
        best = {name: min(values) for name, values in times.items()}
        parse = best["parse"]
        print(f"python {platform.python_version()}, {platform.machine()}, {args.sequences} sequences, "
              f"{lines:,} lines, {args.prospects} prospects, best of {args.repeat}, cold caches")
        print(f"  {'parse (load: read + parse + IR)':<52} {parse * 1000:8.1f} ms")
        for name in configs:
            print(f"  {name:<52} {best[name] * 1000:8.1f} ms  {best[name] / parse:5.2f}x parse")
        print(f"  ({found} findings; goal: all rules < 1.0x parse)")
        print("  most expensive rules (one run, cold caches):")
        for seconds, code in per_rule(loaded, sample)[:10]:
            print(f"    {code}  {seconds * 1000:8.1f} ms")
        if args.profile:
            clear_caches()
            profile = cProfile.Profile()
            profile.runcall(run_rules, loaded, RuleConfig(), prospects=sample)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
