"""The fast paths of the cadence rules agree with the obvious quadratic versions.

SEQ205 sweeps emails in landing order and SEQ208 compares only the pairs a prefix filter
lets through; both are checked here against brute force on random inputs (fixed seeds).
"""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from compiler.project import load_text
from compiler.rules import RuleContext
from compiler.rules.cadence import SIMILAR_BODY, EmailSpacing, _candidate_pairs, similarity
from compiler.rules.schedule import exclusive, landed_tracks

WORDS = ("ramp", "reps", "team", "quota", "guide", "call", "week", "hi", "the", "a", "of", "to")


def _text(rng: random.Random, base: list[str]) -> str:
    words = list(base)
    for _ in range(rng.randrange(0, 3)):
        op = rng.randrange(3)
        if op == 0 and words:
            words.pop(rng.randrange(len(words)))
        elif op == 1:
            words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS))
        elif words:
            words[rng.randrange(len(words))] = rng.choice(WORDS)
    return "Hi {{ first_name }}, " + " ".join(words)


@pytest.mark.parametrize("seed", range(30))
def test_prefix_filter_keeps_every_similar_pair(seed: int):
    rng = random.Random(seed)
    bases = [[rng.choice(WORDS) for _ in range(rng.randrange(1, 25))] for _ in range(4)]
    sources = [_text(rng, rng.choice(bases)) for _ in range(40)]  # past the all-pairs size
    candidates = _candidate_pairs(sources)
    for a, b in combinations(range(len(sources)), 2):
        if sources[a] == sources[b] or similarity(sources[a], sources[b]) >= SIMILAR_BODY:
            assert (a, b) in candidates, (sources[a], sources[b])


def _random_sequence(rng: random.Random) -> str:
    days = sorted(rng.randrange(0, 20) for _ in range(rng.randrange(2, 9)))
    window = rng.choice(["mon-fri", "tue-thu", "mon,wed,fri", "wed", "tue,fri"])
    steps = []
    for n, day in enumerate(days):
        guard = rng.choice(["", "", " if opened(e0)", " if not opened(e0)"]) if n else ""
        steps.append(f'  day {day} email e{n}{guard} {{ subject "S{n}" body "B{n}" }}\n')
    tier = rng.choice(["", "  tier enterprise\n"])
    return f"sequence s {{\n{tier}  window email {window} 10:00-12:00\n{''.join(steps)}}}\n"


def _brute_force(ctx: RuleContext, seq, minimum: int) -> list[tuple[int, int, int, int]]:
    out = []
    for track in landed_tracks(ctx, seq):
        emails = [i for i, s in enumerate(track.steps) if s.channel == "email"]
        for n, j in enumerate(emails):
            worst = None
            for i in emails[:n]:
                if exclusive(track.steps[i], track.steps[j]):
                    continue
                for w, week in enumerate(track.weeks):
                    gap = abs((week.touches[j].date - week.touches[i].date).days)
                    if gap < minimum and (worst is None or gap < worst[0]):
                        worst = (gap, i, w)
            if worst is not None:
                out.append((j, *worst))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_spacing_sweep_matches_brute_force(seed: int):
    rng = random.Random(seed)
    loaded = load_text(_random_sequence(rng), "s.seq")
    ctx = RuleContext(loaded.project)
    (seq,) = loaded.project.sequences
    minimum = 5 if seq.tier == "enterprise" else 2
    rule = EmailSpacing()
    fast = [d.message for d in rule.check(ctx)]
    (track,) = landed_tracks(ctx, seq)
    slow = [rule._diag(seq, track, minimum, j, gap, track.weeks[w], i).message
            for j, gap, i, w in _brute_force(ctx, seq, minimum)]
    assert fast == slow
