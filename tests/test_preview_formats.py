"""Preview formats: snapshots of real files (jsonl, text, eml), and every message parsed back with `email`."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import re
from pathlib import Path

import datetime as dt

import pytest
from conftest import snapshot_ext
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_preview_helpers import EXAMPLE, EXAMPLE_PROSPECTS, MINI, MINI_EVENTS, MINI_PROSPECTS, seqc

from compiler.project import load_text

KEYS = ["prospect", "row", "sequence", "track", "step", "channel", "variant", "send_at_local", "send_at_utc",
        "timezone", "guard", "subject", "body"]


@pytest.fixture
def jsonl_snapshot(snapshot):
    return snapshot.use_extension(snapshot_ext("jsonl"))


@pytest.fixture
def eml_snapshot(snapshot):
    return snapshot.use_extension(snapshot_ext("eml"))


def jsonl(*args: str) -> list[dict]:
    r = seqc("preview", *args, "--format", "jsonl")
    assert r.code == 0, r.err
    return [json.loads(line) for line in r.out.splitlines()]


# ---------------------------------------------------------------- jsonl and text


def test_example_jsonl_snapshot(jsonl_snapshot):
    r = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "jsonl")
    assert r.code == 0
    assert r.err_lines[-1] == "prospects: 65 read, 65 valid, 65 routed, 65 rendered, 0 rejected, 0 unrouted"
    assert r.out == jsonl_snapshot


def test_jsonl_keys_are_exactly_the_specs():
    rows = jsonl(EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--limit", "25")
    assert rows and all(list(row) == KEYS for row in rows)
    first = rows[0]
    assert first["row"] == 1 and first["send_at_utc"].endswith("Z")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00[+-]\d\d:\d\d", first["send_at_local"])
    assert {row["sequence"] for row in rows} == {"smb", "mid_market"}
    assert "None" not in json.dumps(rows)  # a missing optional field never renders as "None"


def test_example_text_snapshot(text_snapshot):
    r = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--limit", "5")
    assert r.code == 0
    assert r.out == text_snapshot


def test_mini_text_with_events_snapshot(text_snapshot):
    r = seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--events", MINI_EVENTS)
    assert r.code == 0
    assert "unrouted: row 3 (cleo@nowhere.example)" in r.err_lines
    assert r.out == text_snapshot


def test_jsonl_guards_and_paths_without_events():
    rows = {(r["prospect"], r["step"]): r for r in jsonl(MINI, "--prospects", MINI_PROSPECTS)}
    assert rows[("ana@growth.example", "bump")]["guard"] == "opened(opener) and not clicked(opener)"
    assert rows[("ana@growth.example", "ask")]["track"] == "hot"
    assert rows[("ana@growth.example", "ask")]["guard"] == "clicked(opener) within 3 days"
    assert rows[("ana@growth.example", "invite")]["subject"] is None
    assert rows[("ana@growth.example", "invite")]["body"] == "Hi Ana, glad to connect."
    assert ("dev@growth.example", "ring") not in rows  # guard false on data: skipped, not a line
    assert rows[("ana@growth.example", "last")]["subject"] == "Re: Hello Growth Co"  # thread of a thread


# ---------------------------------------------------------------- eml


@pytest.fixture(scope="module")
def mini_eml(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eml") / "out"
    r = seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "eml", "-o", str(out))
    assert r.code == 0, r.err
    return out


def test_eml_layout(mini_eml: Path):
    names = sorted(p.relative_to(mini_eml).as_posix() for p in mini_eml.rglob("*.eml"))
    assert names == [
        "ana-growth-example-1-39f1b9/01-opener.eml", "ana-growth-example-1-39f1b9/02-bump.eml",
        "ana-growth-example-1-39f1b9/03-last.eml", "ana-growth-example-1-39f1b9/04-ask.eml",
        "ben-tiny-example-2-0dee8e/01-hi.eml",
        "dev-growth-example-4-d03881/01-opener.eml", "dev-growth-example-4-d03881/02-bump.eml",
        "dev-growth-example-4-d03881/03-last.eml", "dev-growth-example-4-d03881/04-ask.eml",
        "eve-growth-example-5-009f23/01-opener.eml", "eve-growth-example-5-009f23/02-bump.eml",
        "eve-growth-example-5-009f23/03-last.eml", "eve-growth-example-5-009f23/04-ask.eml",
    ]
    for folder in mini_eml.iterdir():
        assert re.fullmatch(r"[a-z0-9-]+|\.seqc-preview", folder.name)


@pytest.mark.parametrize("name", ["01-opener", "02-bump", "03-last", "04-ask"])
def test_eml_snapshots(mini_eml: Path, eml_snapshot, name: str):
    data = next(mini_eml.glob(f"ana-*/{name}.eml")).read_bytes()
    assert data.decode("ascii") == eml_snapshot  # pure ASCII on the wire: encoded words and QP


def parse(data: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert not msg.defects
    return msg


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n")


def test_eml_parse_back(mini_eml: Path):
    rows = {(r["prospect"], r["step"]): r for r in jsonl(MINI, "--prospects", MINI_PROSPECTS)}
    ids = {}
    for path in sorted(mini_eml.rglob("*.eml")):
        raw = path.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
        assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
        assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
        msg = parse(raw)
        step = path.stem.split("-", 1)[1]
        prospect = msg["To"].addresses[0].addr_spec
        row = rows[(prospect, step)]
        assert msg["Subject"] == row["subject"]
        assert msg["From"].addresses[0].display_name == "Dána Réyes"
        assert msg["From"].addresses[0].addr_spec == "dana@mail.mini.example"
        assert msg["Reply-To"] == "dana@mini.example"
        assert msg["Date"].datetime.isoformat() == row["send_at_local"]
        assert msg["List-Unsubscribe"] == f"<{row['body'].split()[-1]}>"  # the body ends with the same URL
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg.get_content_type() == "multipart/alternative"
        assert text_of(msg) == row["body"].rstrip("\n")
        html = msg.get_body(("html",)).get_content()
        assert "<p>" in html and "https://unsubscribe.invalid/" in html
        ids[(prospect, step)] = msg["Message-ID"]
        if step in ("bump", "ask"):
            assert msg["In-Reply-To"] == ids[(prospect, "opener")]
            assert msg["References"] == ids[(prospect, "opener")]
            assert msg["Subject"].startswith("Re: ")
        if step == "last":
            assert msg["In-Reply-To"] == ids[(prospect, "bump")]
            assert msg["References"].split() == [ids[(prospect, "opener")], ids[(prospect, "bump")]]
    assert len(set(ids.values())) == len(ids)


def test_eml_encoded_words_for_non_ascii(mini_eml: Path):
    raw = next(mini_eml.glob("dev-*/01-opener.eml")).read_bytes()
    assert b"=?utf-8?b?" in raw.split(b"\r\n\r\n")[0]
    msg = parse(raw)
    assert msg["To"].addresses[0].display_name == "Dev Öztürk"
    assert msg["Subject"] == "Hello Grüne Straße GmbH"


def test_eml_is_deterministic(mini_eml: Path, tmp_path: Path):
    again = tmp_path / "again"
    assert seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "eml", "-o", str(again)).code == 0
    first = {p.relative_to(mini_eml): p.read_bytes() for p in mini_eml.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first == second


# ---------------------------------------------------------------- mbox


def test_mbox_opens_as_a_mailbox(tmp_path: Path):
    r = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "mbox", "-o", str(tmp_path))
    assert r.code == 0
    rows = [row for row in jsonl(EXAMPLE, "--prospects", EXAMPLE_PROSPECTS) if row["channel"] == "email"]
    box = mailbox.mbox(str(tmp_path / "preview.mbox"), create=False)
    messages = list(box)
    assert len(messages) == len(rows)
    for message, row in zip(messages, rows):
        msg = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        assert msg["Subject"] == row["subject"]
        assert msg["To"].addresses[0].addr_spec == row["prospect"]
        assert text_of(msg) == row["body"].rstrip("\n")
    assert (tmp_path / "preview.mbox").read_bytes() == seqc(
        "preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "mbox").raw


def test_jobs_do_not_change_output():
    one = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "jsonl", "--jobs", "1")
    two = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "jsonl", "--jobs", "2")
    assert one.code == two.code == 0
    assert one.raw == two.raw
    assert one.err == two.err


def test_fast_json_lines_equal_json_dumps():
    import datetime as dt

    from compiler.api import single_project
    from compiler.preview.formats.jsonl import touch_lines, touch_objects
    from compiler.preview.touches import Previewer
    from compiler.prospects import Record, load_prospects

    _, loaded, _ = single_project(EXAMPLE)
    previewer = Previewer(loaded.project)
    for hostile in (EXAMPLE_PROSPECTS, "tests/cases/preview/hostile.csv"):
        for record in load_prospects(hostile, loaded.project.prospect):
            if isinstance(record, Record):
                p = previewer.preview(record, dt.date(2027, 1, 5))
                expected = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in touch_objects(p))
                assert touch_lines(p) == expected


ODD_ZONES = ["UTC", "America/New_York", "America/St_Johns", "Asia/Kathmandu", "Asia/Kolkata", "Pacific/Chatham",
             "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin", "America/Sao_Paulo"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ODD_ZONES), st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)),
       st.integers(0, 1439), st.integers(0, 1439), st.text(min_size=1, max_size=12))
@example("Europe/Berlin", dt.date(2024, 3, 30), 180, 180, "0")  # a window just after the spring-forward gap
@example("America/New_York", dt.date(2024, 11, 2), 150, 200, "a")  # the day the clocks go back
@example("Australia/Lord_Howe", dt.date(2024, 4, 6), 120, 300, "b")  # a 30-minute DST change
def test_scheduled_instants_as_text_equal_isoformat(zone, day, a, b, email):
    """jsonl writes the instants from the day plan's precomputed text; it must be what `isoformat` gives."""
    from compiler import timing
    from compiler.preview.schedule import SequenceSchedule, plan_unknown

    start, end = min(a, b), max(a, b) + 1
    end = min(end, 1439)  # "24:00" is not a time the language takes
    if start >= end:
        start = end - 1
    loaded = load_text(f'sequence s {{\n window email mon-sun {start // 60:02d}:{start % 60:02d}-'
                       f'{end // 60:02d}:{end % 60:02d}\n day 0 email x {{ subject "s" body "b" }}\n'
                       f' day 1 email y {{ subject "s" body "b" }}\n}}\n')
    assert not loaded.has_syntax_errors, loaded.diagnostics
    slots = plan_unknown(SequenceSchedule(loaded.project.sequences[0]), {}, email, day, timing.zone(zone),
                         timing.NO_HOLIDAYS)
    assert len(slots) == 2
    if zone == "UTC":  # no DST change ever: the text must come from the day plan
        assert all(slot.stamps is not None for slot in slots)
    for slot in slots:
        if slot.stamps is not None:  # None only when a DST change falls inside the window that day
            local, utc = slot.landing.local, slot.landing.utc
            assert slot.stamps == (local.isoformat(timespec="seconds"), utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
