"""Same input, same bytes: across runs, hash seeds, time zones and file-system orders.

The matrix is every output a user or CI script diffs, run with the real `seqc` script on a copy
of `examples/`: `check --format json|text|sarif`, `plan --format json|table|markdown`, `graph`,
`compile --target ir` to stdout, and `compile -o` for every registered target (with the example
prospects where the target takes them), plus `preview --format jsonl` once that command exists.
Every command runs in its own working folder with the same relative paths, so the bytes (stdout,
stderr, exit code, every written file) must match exactly.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

SEQC = Path(sys.executable).with_name("seqc")
PROJECT = "examples/outbound"


def _targets() -> list[str]:
    from targets import REGISTRY

    return sorted(REGISTRY)


def _has_command(name: str) -> bool:
    r = subprocess.run([str(SEQC), name, "--help"], capture_output=True, text=True)
    return r.returncode == 0


def matrix(full: bool = True) -> list[tuple[str, list[str], str | None]]:
    """(name, seqc arguments, output folder to read or None)."""
    rows = [
        ("check-json", ["check", "examples", "--format", "json"], None),
        ("plan-json", ["plan", PROJECT, "--format", "json"], None),
        ("compile-ir-stdout", ["compile", PROJECT, "--target", "ir"], None),
    ]
    if not full:
        return rows
    rows += [
        ("check-text", ["check", "examples"], None),
        ("check-sarif", ["check", "examples", "--format", "sarif"], None),
        ("check-prospects", ["check", PROJECT, "--format", "json", "--prospects", f"{PROJECT}/prospects.csv"], None),
        ("plan-table", ["plan", PROJECT], None),
        ("plan-markdown", ["plan", PROJECT, "--format", "markdown"], None),
    ]
    if _has_command("graph"):
        rows += [("graph-mermaid", ["graph", PROJECT], None), ("graph-dot", ["graph", PROJECT, "--format", "dot"], None)]
    for target in _targets():
        args = ["compile", PROJECT, "--target", target, "-o", f"out-{target}"]
        if target != "ir":
            args += ["--prospects", f"{PROJECT}/prospects.csv"]
        rows.append((f"compile-{target}", args, f"out-{target}"))
    if _has_command("preview"):
        rows.append(("preview-jsonl", ["preview", PROJECT, "--prospects", f"{PROJECT}/prospects.csv",
                                       "--format", "jsonl"], None))
        rows.append(("preview-eml", ["preview", PROJECT, "--prospects", f"{PROJECT}/prospects.csv",
                                     "--format", "eml", "-o", "out-eml", "--limit", "5"], "out-eml"))
        rows.append(("preview-html", ["preview", PROJECT, "--prospects", f"{PROJECT}/prospects.csv",
                                      "--format", "html", "-o", "out-html", "--limit", "5"], "out-html"))
    return rows


def run_matrix(workdir: Path, rows, env: dict[str, str]) -> dict[str, bytes]:
    """Every row's exit code, stdout, stderr and written files, run from its own folder."""
    results: dict[str, bytes] = {}
    for name, args, out in rows:
        cwd = workdir / "runs" / f"{name}-{abs(hash(tuple(sorted(env.items())))) % 10**8}-{random.random():.9f}"
        cwd.mkdir(parents=True)
        (cwd / "examples").symlink_to(workdir / "examples", target_is_directory=True)
        r = subprocess.run([str(SEQC), *args], capture_output=True, cwd=cwd, env=env, timeout=600)
        assert b"Traceback" not in r.stderr, (name, r.stderr[-400:])
        # `preview -o out` reports the folder as an absolute path; the run folder differs by design.
        here = str(cwd).encode()
        results[name] = b"exit %d\n--stdout\n%s--stderr\n%s" % (r.returncode, r.stdout.replace(here, b"<cwd>"),
                                                                 r.stderr.replace(here, b"<cwd>"))
        if out is not None and (cwd / out).exists():
            for path in sorted((cwd / out).rglob("*")):
                if path.is_file():
                    results[f"{name}:{path.relative_to(cwd).as_posix()}"] = path.read_bytes()
    return results


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "TZ", "SOURCE_DATE_EPOCH")}
    env.update({"NO_COLOR": "1", "PYTHONHASHSEED": "0", "TZ": "UTC"}, **extra)
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("determinism")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


@pytest.fixture(scope="module")
def baseline(workdir: Path) -> dict[str, bytes]:
    return run_matrix(workdir, matrix(full=False), base_env())


def assert_same(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert different == [], f"outputs differ: {different}"


def test_full_matrix_is_byte_identical_across_hash_seeds(workdir: Path):
    rows = matrix()
    first = run_matrix(workdir, rows, base_env(PYTHONHASHSEED="0"))
    second = run_matrix(workdir, rows, base_env(PYTHONHASHSEED="12345"))
    assert_same(first, second)
    assert len(first) > len(rows), "the compile rows wrote files"


@pytest.mark.parametrize("env", [{"PYTHONHASHSEED": "1"}, {"PYTHONHASHSEED": "random"},
                                 {"TZ": "Pacific/Kiritimati"}, {"TZ": "America/Los_Angeles"},
                                 {"TZ": "Asia/Kathmandu", "PYTHONHASHSEED": "random"}],
                         ids=["seed-1", "seed-random", "tz-kiritimati", "tz-los-angeles", "tz-kathmandu-seed-random"])
def test_outputs_do_not_depend_on_hash_seed_or_time_zone(workdir: Path, baseline, env: dict[str, str]):
    assert_same(baseline, run_matrix(workdir, matrix(full=False), base_env(**env)))


def _copy_in_order(src: Path, dst: Path, order: list[Path]) -> None:
    for path in order:
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def test_outputs_do_not_depend_on_file_creation_order(tmp_path: Path, baseline):
    src = ROOT / "examples"
    files = sorted(src.rglob("*"))
    for k, order in enumerate((list(reversed(files)), random.Random(7).sample(files, len(files)))):
        work = tmp_path / f"order-{k}"
        _copy_in_order(src, work / "examples", order)
        assert_same(baseline, run_matrix(work, matrix(full=False), base_env()))


def test_outputs_do_not_depend_on_directory_listing_order(monkeypatch):
    """In-process: os.scandir, os.listdir and os.walk hand out entries in a shuffled order."""
    import json

    from compiler import api, ir
    from compiler import plan as plan_mod
    from compiler.report import render_json

    def outputs() -> tuple[str, str, str]:
        checked = api.check_paths(["examples"])
        loaded = checked.projects[0]
        plans = plan_mod.plan_project(loaded.project, today=__import__("datetime").date(2027, 1, 4))
        return (render_json(checked.diagnostics, files=checked.files), plan_mod.render_json(plans),
                json.dumps(ir.to_json(loaded.project), ensure_ascii=False))

    before = outputs()
    rng = random.Random(3)
    real_scandir, real_listdir, real_walk = os.scandir, os.listdir, os.walk

    class Shuffled:
        def __init__(self, entries):
            entries = list(entries)
            rng.shuffle(entries)
            self.entries = iter(entries)

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.entries)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def close(self):
            pass

    def scandir(path="."):
        with real_scandir(path) as it:
            return Shuffled(it)

    def listdir(path="."):
        names = real_listdir(path)
        rng.shuffle(names)
        return names

    def walk(top, *args, **kwargs):
        for dirpath, dirnames, filenames in real_walk(top, *args, **kwargs):
            rng.shuffle(dirnames)
            rng.shuffle(filenames)
            yield dirpath, dirnames, filenames

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os, "walk", walk)
    for _ in range(3):
        assert outputs() == before


def test_renamed_project_folder_changes_only_the_paths(tmp_path: Path, baseline):
    """The same project under another folder name: outputs equal once the folder name is mapped back."""
    work = tmp_path / "renamed"
    shutil.copytree(ROOT / "examples", work / "examples")
    (work / "examples" / "outbound").rename(work / "examples" / "outbound program")
    rows = [(name, [a.replace(PROJECT, "examples/outbound program") for a in args], out)
            for name, args, out in matrix(full=False)]
    renamed = run_matrix(work, rows, base_env())
    mapped = {k: v.replace(b"examples/outbound program", PROJECT.encode()) for k, v in renamed.items()}
    assert_same(baseline, mapped)


@pytest.mark.skipif(not _has_command("preview"), reason="`seqc preview` is not there yet")
def test_preview_does_not_depend_on_the_number_of_workers(workdir: Path):
    rows = [(f"preview-jobs-{jobs}", ["preview", PROJECT, "--prospects", f"{PROJECT}/prospects.csv", "--format", "jsonl",
                                     "--jobs", str(jobs)], None) for jobs in (1, 3)]
    results = run_matrix(workdir, rows, base_env())
    assert results["preview-jobs-1"] == results["preview-jobs-3"]
    assert results["preview-jobs-1"].count(b"\n") > 100
