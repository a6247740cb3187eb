"""Start-up time: `seqc --version` and `seqc check` on a small file vs `python -c "import click"`.

Each command runs as a fresh subprocess (best of --repeat, after one warm-up run so the OS file
cache and lark's grammar cache are warm), with the same Python as the installed `seqc`:

    .venv/bin/python bench/startup.py [--repeat 20]

Prints the times and the ratios to the `import click` baseline; the goal is at most 1.3x for
`seqc --version`. `seqc check` does real work (lark, the rules); its ratio is reported as well.
With --importtime, also prints which imports cost most in each command.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SMALL = """\
prospect {
  email: email required
  first_name: text required
  company: text required
}

sequence smb "Three emails" {
  tier smb
  window email tue-thu 10:00-12:00
  day 0 email opener {
    purpose opener
    subject "Quick question about {{ company }}"
    body "Hi {{ first_name }}, worth a chat? {{ unsubscribe_url }}"
  }
  day 7 email value {
    purpose value_add
    thread opener
    body "A short guide: https://example.com/guide {{ unsubscribe_url }}"
  }
  day 14 email breakup {
    purpose breakup
    subject "Closing the loop"
    body "I'll stop here, {{ first_name }}. {{ unsubscribe_url }}"
  }
}
"""


def seqc_script() -> Path:
    return Path(sys.executable).with_name("seqc")


def best_of_interleaved(repeat: int, commands: list[list[str]], env: dict[str, str]) -> list[float]:
    """Best wall time of each command; the commands take turns so machine noise hits all alike."""
    for argv in commands:
        subprocess.run(argv, capture_output=True, env=env, check=False)  # warm-up
    best = [float("inf")] * len(commands)
    for _ in range(repeat):
        for i, argv in enumerate(commands):
            t0 = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, env=env, check=False)
            elapsed = time.perf_counter() - t0
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-300:]}")
            best[i] = min(best[i], elapsed)
    return best


def import_times(argv: list[str], env: dict[str, str], top: int = 10) -> tuple[float, list[tuple[float, str]]]:
    """Total import ms, and (ms, package) for the packages whose imports cost most in `seqc ARGV`.

    Sums `python -X importtime` self times by top-level package, except that `compiler.*`
    modules are listed one by one (they are ours to make lazier).
    """
    code = f"import sys; sys.argv = {['seqc', *argv]!r}; from compiler.cli import run; run()"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env)
    totals: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if m:
            module = m.group(3)
            key = module if module.startswith("compiler.") else module.split(".")[0]
            totals[key] = totals.get(key, 0) + int(m.group(1))
    rows = sorted(((micros / 1000, name) for name, micros in totals.items()), reverse=True)
    return sum(totals.values()) / 1000, rows[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    args = ap.parse_args()

    seqc = seqc_script()
    if not seqc.exists():
        raise SystemExit(f"{seqc} not found: install the package into this environment first")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.seq"
        small.write_text(SMALL, encoding="utf-8")
        t_python, t_click, t_version, t_check = best_of_interleaved(args.repeat, [
            [sys.executable, "-c", "pass"],
            [sys.executable, "-c", "import click"],
            [str(seqc), "--version"],
            [str(seqc), "check", str(small)],
        ], env)

    print(f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs; best of {args.repeat}")
    print(f"python -c pass            {t_python * 1000:7.1f} ms")
    print(f"python -c 'import click'  {t_click * 1000:7.1f} ms  (baseline)")
    for label, t in (("seqc --version", t_version), ("seqc check small.seq", t_check)):
        ratio = t / t_click
        verdict = "met" if ratio <= 1.3 else "MISSED"
        print(f"{label:<25} {t * 1000:7.1f} ms  {ratio:5.2f}x baseline (goal <= 1.3x: {verdict})")

    if args.importtime:
        with tempfile.TemporaryDirectory() as tmp:
            small = Path(tmp) / "small.seq"
            small.write_text(SMALL, encoding="utf-8")
            for title, argv in (("seqc --version", ["--version"]), ("seqc check small.seq", ["check", str(small)])):
                total, rows = import_times(argv, env)
                print(f"\nimports in `{title}`: {total:.1f} ms in all; the costliest (self time per package, ms):")
                for ms, name in rows:
                    print(f"  {ms:7.1f}  {name}")

if __name__ == "__main__":
    main()
