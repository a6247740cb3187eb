"""compiler.skeleton and `seqc new`: every tier and channel mix is a project `seqc check` passes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import api, ir, plan, render, skeleton, timing
from compiler.cli_authoring import new as new_cmd
from compiler.diagnostics import SeqcError, Severity
from compiler.fmt import format_text
from compiler.project import discover, load

MIXES = ("email", "email,linkedin", "email,call", "email,linkedin,call")
CASES = list(itertools.product(skeleton.TIERS, MIXES))
MIN_SPACING = {"smb": 2, "mid_market": 2, "enterprise": 5}
CYCLE = {"smb": 21, "mid_market": 42}
COUNTED = ("email", "call", "task")


def _project(tmp_path: Path, tier: str, mix: str) -> tuple[Path, ir.Project]:
    folder = tmp_path / "acme"
    skeleton.write(folder, skeleton.skeleton("acme", tier, mix))
    return folder, load(discover([str(folder)])[0]).project


@pytest.mark.parametrize("tier, mix", CASES)
def test_skeleton_passes_check(tmp_path, tier, mix):
    folder = tmp_path / "acme"
    skeleton.write(folder, skeleton.skeleton("acme", tier, mix))
    result = api.check_paths([str(folder)])
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert not errors, "\n".join(f"{d.code} {d.span}: {d.message}" for d in errors)
    assert not result.failed
    # No warnings either; the infos are the documented choices: windows past tue-thu where the
    # guide's offsets need them (SEQ207) and an email-only mix (SEQ209).
    assert not [d for d in result.diagnostics if d.severity is Severity.WARNING]
    infos = {d.code for d in result.diagnostics if d.severity is Severity.INFO}
    assert infos <= {"SEQ207", "SEQ209"}
    assert ("SEQ209" in infos) == (mix == "email")
    assert ("SEQ207" in infos) == (tier == "mid_market" or (tier == "enterprise" and "linkedin" in mix))


@pytest.mark.parametrize("tier, mix", CASES)
def test_step_count_and_email_types(tmp_path, tier, mix):
    _, project = _project(tmp_path, tier, mix)
    (seq,) = project.sequences
    assert seq.tier == tier and seq.name == tier
    counted = [s for s in seq.steps if s.channel in COUNTED]
    expected = skeleton.TIER_FACTS[tier]["steps"]
    if tier == "smb" and "call" in mix:
        assert len(counted) == expected + 1      # documented: SMB's call is a fourth touch (SEQ201 allows one)
    else:
        assert len(counted) == expected
    purposes = [s.purpose for s in seq.steps if s.channel == "email"]
    assert purposes[0] == "opener" and purposes[-1] == "breakup"
    order = ["opener", "value_add", "social_proof", "breakup"]
    firsts = [purposes.index(p) for p in order if p in purposes]     # the guide's types, in its order
    assert firsts == sorted(firsts)
    assert "value_add" in purposes
    assert ("social_proof" in purposes) == (tier != "smb")
    channels = {s.channel for s in seq.all_steps()}
    assert channels == set(mix.split(","))


def test_mid_market_follows_the_guides_timing_table(tmp_path):
    _, project = _project(tmp_path, "mid_market", "email,linkedin,call")
    (seq,) = project.sequences
    assert [(s.day, s.channel) for s in seq.steps] == [
        (0, "email"), (1, "linkedin"), (3, "email"), (5, "call"), (7, "email"), (10, "linkedin"), (14, "email")]
    windows = {w.channel: w.window.hours for w in seq.windows}
    assert windows == {"email": "10:00-12:00", "linkedin": "11:00-13:00", "call": "14:00-16:00"}


def test_mid_market_without_a_call_uses_the_five_step_cadence(tmp_path):
    _, project = _project(tmp_path, "mid_market", "email")
    assert [s.day for s in project.sequences[0].steps] == [0, 3, 7, 14, 21]


@pytest.mark.parametrize("tier, mix", CASES)
def test_landed_schedule_keeps_touches_apart(tmp_path, tier, mix):
    """For an enrollment on every weekday: the tier's email spacing (SEQ205), no email and LinkedIn
    touch on one day (SEQ206), the opener first, each channel in written order, the tier's cycle."""
    _, project = _project(tmp_path, tier, mix)
    (seq,) = project.sequences
    touches = [(s.name, s.day, plan.step_window(seq, s)[0]) for s in seq.steps]
    channel = {s.name: s.channel for s in seq.steps}
    landings = timing.enrollment_landings(touches)
    emails = [s.name for s in seq.steps if s.channel == "email"]
    gap = timing.closest_gap(landings, emails)
    assert gap.days >= MIN_SPACING[tier], gap
    for week in landings:
        dates = {}
        for t in week.touches:
            dates.setdefault(channel[t.step], []).append(t.date)
        for kind, days in dates.items():
            assert days == sorted(days) and len(set(days)) == len(days), (week.weekday, kind)
        assert not set(dates["email"]) & set(dates.get("linkedin", [])), week.weekday
        opener = week.touches[0]
        assert opener.step == "opener" and all(t.date > opener.date for t in week.touches[1:]), week.weekday
        if tier in CYCLE:
            assert max(t.date for t in week.touches) - week.enrolled <= timing.timedelta(days=CYCLE[tier])


@pytest.mark.parametrize("tier, mix", CASES)
def test_guards_and_fields_follow_the_channels(tmp_path, tier, mix):
    _, project = _project(tmp_path, tier, mix)
    fields = {f.name: f for f in project.prospect.fields}
    assert ("phone" in fields) == ("call" in mix)
    assert ("linkedin_url" in fields) == ("linkedin" in mix)
    assert {"email", "first_name", "company", "timezone", "country", "email_status"} <= set(fields)
    for step in project.sequences[0].all_steps():
        guard = plan.cond_to_text(step.guard) if step.guard else None
        if step.channel == "call":
            assert guard == "has(phone)"
        elif step.action == "message":
            assert guard == "accepted(invite) and has(linkedin_url)"
        elif step.channel == "linkedin":
            assert guard == "has(linkedin_url)"
        else:
            assert guard is None


@pytest.mark.parametrize("tier, mix", CASES)
def test_templates_are_starter_copy_the_rules_accept(tmp_path, tier, mix):
    _, project = _project(tmp_path, tier, mix)
    seq = project.sequences[0]
    for step in seq.all_steps():
        if step.channel != "email":
            continue
        for content in step.all_contents():
            info = render.analyze(content.body.source)
            assert info.uses("unsubscribe_url"), step.name
            assert "[" in content.body.source, step.name        # placeholders left to fill in
            if step.name == "opener":
                assert "first_name" in info.first_line_variables
                assert info.links == 0 and info.word_count <= 120
            if step.name == "value":
                assert info.links == 1                          # `clicked(value)` needs a link
    camp = project.campaign
    assert camp.compliance.postal_address and camp.compliance.lawful_basis == "legitimate_interest"
    assert camp.compliance.unsubscribe.source == "{{ unsubscribe_url }}"
    assert camp.sender.auth == ("spf", "dkim", "dmarc") and camp.crm
    assert [r.sequence for r in camp.routes] == [tier]


@pytest.mark.parametrize("tier, mix", CASES)
def test_skeleton_is_deterministic_and_formatted(tier, mix):
    files = skeleton.skeleton("acme", tier, mix)
    assert files == skeleton.skeleton("acme", tier, mix)
    for name, text in files.items():
        if name.endswith(".seq"):
            assert format_text(text, name) == text, name      # `seqc fmt --check` passes
        assert text.endswith("\n") and "\r" not in text


def test_files_and_layout():
    files = skeleton.skeleton("acme", "enterprise", "email,linkedin,call")
    assert list(files) == ["prospect.seq", "sequence.seq", "campaign.seq", "templates/opener.txt.j2",
                           "templates/value.txt.j2", "templates/proof.txt.j2", "templates/stakeholder.txt.j2",
                           "templates/breakup.txt.j2", "templates/direct_ask.txt.j2"]
    assert "campaign acme {" in files["campaign.seq"]


# ---------------------------------------------------------------- arguments and refusals


@pytest.mark.parametrize("name, message", [
    ("Acme-Co", r"not an identifier .*try `acme_co`"),
    ("1st", r"not an identifier .*try `_1st`"),
    ("", "not an identifier"),
    ("and", "reserved word"),
])
def test_bad_names(name, message):
    with pytest.raises(SeqcError, match=message):
        skeleton.skeleton(name, "smb")


@pytest.mark.parametrize("channels, message", [
    ("email,sms", r"unknown channel 'sms'"),
    ("email,linkdin", r"did you mean `linkedin`\?"),
    ("linkedin,call", "must include email"),
    ("task", "unknown channel"),
])
def test_bad_channels(channels, message):
    with pytest.raises(SeqcError, match=message):
        skeleton.skeleton("acme", "smb", channels)


def test_channels_are_normalised():
    assert skeleton.parse_channels(" Call , email,email ") == ("email", "call")
    assert skeleton.parse_channels(None) == ("email", "linkedin", "call")


def test_bad_tier():
    with pytest.raises(SeqcError, match=r"did you mean `mid_market`\?"):
        skeleton.skeleton("acme", "midmarket")


def test_write_refuses_to_overwrite_and_writes_nothing(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "campaign.seq").write_text("# mine\n")
    with pytest.raises(SeqcError, match=r"acme/campaign.seq: already exists; seqc new never overwrites files"):
        skeleton.write(folder, skeleton.skeleton("acme", "smb"))
    assert sorted(p.name for p in folder.iterdir()) == ["campaign.seq"]
    assert (folder / "campaign.seq").read_text() == "# mine\n"


def test_write_into_an_existing_folder_without_conflicts(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "README.md").write_text("notes\n")
    written = skeleton.write(folder, skeleton.skeleton("acme", "smb", "email"))
    assert len(written) == 7 and (folder / "README.md").read_text() == "notes\n"


def test_write_refuses_a_file_where_the_folder_goes(tmp_path):
    (tmp_path / "acme").write_text("x")
    with pytest.raises(SeqcError, match="not a folder"):
        skeleton.write(tmp_path / "acme", skeleton.skeleton("acme", "smb"))


# ---------------------------------------------------------------- command


def test_new_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(new_cmd, ["acme", "--tier", "mid_market", "--channels", "email,call"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("created acme/ (8 files): campaign.seq, prospect.seq, sequence.seq, templates/")
    assert result.stdout == ""
    assert not api.check_paths(["acme"]).failed
    again = runner.invoke(new_cmd, ["acme", "--tier", "mid_market"])
    assert isinstance(again.exception, SeqcError)     # the main wrapper prints one line, exit 2
    assert str(again.exception) == "acme/prospect.seq: already exists; seqc new never overwrites files"


def test_new_command_needs_a_known_tier(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(new_cmd, ["acme", "--tier", "huge"])
    assert result.exit_code == 2 and not (tmp_path / "acme").exists()


# ---------------------------------------------------------------- --target: a skeleton each tool takes

def _sending_targets():
    from targets import REGISTRY

    return sorted(name for name, cls in REGISTRY.items() if cls.capabilities is not None)


def _fit(target: str) -> skeleton.Fit:
    from targets import get_target

    tool = get_target(target)
    return skeleton.Fit.for_target(tool.name, tool.capabilities)


@pytest.mark.parametrize("target", _sending_targets())
@pytest.mark.parametrize("tier, mix", [(t, m) for t, m in CASES if m in ("email", "email,linkedin,call")])
def test_skeleton_for_a_target_compiles_to_it(tmp_path, target, tier, mix):
    from compiler.build import build
    from targets import capabilities, get_target

    fit = _fit(target)
    chosen = ",".join(c for c in mix.split(",") if c in fit.channels)
    folder = tmp_path / "acme"
    skeleton.write(folder, skeleton.skeleton("acme", tier, chosen, fit))
    result = api.check_paths([str(folder)])
    assert not result.failed, [(d.code, d.message) for d in result.diagnostics if d.severity is Severity.ERROR]
    loaded = load(discover([str(folder)])[0])
    built = build(loaded, get_target(target), prospects_file=None, strict=False, alternatives=capabilities())
    assert not built.diagnostics, [(d.code, d.message) for d in built.diagnostics]
    assert built.artifacts and not built.failed


@pytest.mark.parametrize(("target", "absent", "present"), [
    # what each tool cannot take is left out, and only that
    ("instantly", ["path hot", "unsubscribed, booked", "window linkedin", "day 1 linkedin"], ["variant a", "unsubscribe_url"]),
    ("salesloft", ["path hot", "variant a", "unsubscribe_url"], ["exit on replied, bounced, unsubscribed, booked",
                                                                 'Reply \\"stop\\"']),
    ("hubspot", ["path hot", "variant a", "timezone prospect", "tue-thu"], ['timezone "America/New_York"',
                                                                           "window email    mon-fri"]),
    ("lemlist", ["window linkedin tue-fri"], ["path hot", "variant a", "timezone prospect", "window linkedin"]),
])
def test_fit_leaves_out_only_what_the_target_cannot_take(target, absent, present):
    files = skeleton.skeleton("acme", "mid_market", None, _fit(target))
    text = files["sequence.seq"] + files["campaign.seq"]
    for needle in absent:
        assert needle not in text, needle
    for needle in present:
        assert needle in text, needle
    if "unsubscribe_url" not in text:  # the opt-out moved to a reply line in every template
        assert all('Reply "stop"' in t for name, t in files.items() if name.startswith("templates/"))
        assert not any(name.endswith("direct_ask.txt.j2") for name in files) or "path hot" in text


def test_default_channels_are_those_the_target_carries():
    files = skeleton.skeleton("acme", "smb", None, _fit("instantly"))
    assert "linkedin" not in files["sequence.seq"].split("sequence smb", 1)[1]
    assert "day 0 email opener" in files["sequence.seq"]


def test_a_channel_the_target_cannot_carry_is_a_one_line_error():
    with pytest.raises(SeqcError, match=r"instantly cannot carry linkedin touches, not even as tasks; "
                                        r"use --channels email"):
        skeleton.skeleton("acme", "smb", "email,linkedin", _fit("instantly"))


def test_new_command_with_a_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(new_cmd, ["acme", "--tier", "smb", "--target", "salesloft"])
    assert result.exit_code == 0, result.output
    assert "`seqc compile acme --target salesloft`" in result.stderr
    bad = CliRunner().invoke(new_cmd, ["other", "--tier", "smb", "--target", "instantlee"])
    assert isinstance(bad.exception, SeqcError) and "did you mean `instantly`" in str(bad.exception)
