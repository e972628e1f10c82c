"""A council's programme file: every shipped one passes, and a broken one is refused
with each problem on its line, in words that say what is expected."""

from __future__ import annotations

import re

import pytest

from workflow.programme import (
    Programme,
    ProgrammeInvalid,
    check_programme,
    shipped_programme,
    shipped_programmes,
)
from workflow.rules import ProgrammeRules

TH_EH = shipped_programmes()["th-early-help"]


def problems_of(text: str) -> list[str]:
    with pytest.raises(ProgrammeInvalid) as refused:
        check_programme(text)
    return [str(problem) for problem in refused.value.problems]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of `text` on which `needle` first appears."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the text")


def replace_table(text: str, name: str, body: str) -> str:
    """`text` with the table `[name]` (up to the next table) replaced by `body`."""
    pattern = re.compile(rf"^\[{re.escape(name)}\]\n(?:(?!^\[).*\n)*", re.MULTILINE)
    assert pattern.search(text), name
    return pattern.sub(lambda _: body, text, count=1)


@pytest.mark.parametrize("programme_id", sorted(shipped_programmes()))
def test_every_shipped_programme_passes_its_check(programme_id: str) -> None:
    programme = shipped_programme(programme_id)
    assert isinstance(programme, Programme)
    assert programme.programme.id == programme_id


def test_tower_hamlets_early_help_is_the_programme_auditbot_was_built_for() -> None:
    programme = shipped_programme("th-early-help")
    eh = programme.service("EH")
    assert eh.tools[0] == "th_understanding_our_practice"
    assert programme.moderation_for("EH").mode == "every_audit"
    assert programme.follow_up_for("EH").meeting == "every_audit"
    assert programme.inadequate.fast_path
    assert [role.value for role in programme.kloes.approval] == [
        "head_of_service",
        "coordinator",
        "divisional_director",
    ]


def test_an_unknown_stage_option_is_refused_on_its_line_naming_the_options() -> None:
    text = TH_EH.replace('mode = "every_audit"', 'mode = "everyone"')
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'mode = ')}: moderation.mode:")
    assert "'everyone'" in problem and "'sample'" in problem and "'panel'" in problem


def test_a_misspelt_setting_is_refused_naming_what_is_expected_there() -> None:
    text = TH_EH.replace("every_months = 2", "every_month = 2")
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'every_month = 2')}: ")
    assert "every_month is not a setting here" in problem and "every_months" in problem


def test_a_moderation_sample_over_a_hundred_percent_is_refused() -> None:
    text = replace_table(
        TH_EH,
        "moderation",
        '[moderation]\nmode = "sample"\nby = ["qa_officer"]\nsample = { percent = 120 }\n\n',
    )
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'percent = 120')}: moderation.sample.percent")
    assert "100" in problem


def test_a_sample_needs_exactly_one_size() -> None:
    text = replace_table(
        TH_EH,
        "moderation",
        '[moderation]\nmode = "sample"\nby = ["qa_officer"]\n'
        "sample = { percent = 20, per_cycle = 3 }\n\n",
    )
    assert problems_of(text) == [
        f"line {line_of(text, 'per_cycle = 3')}: moderation.sample: "
        "give exactly one of percent or per_cycle."
    ]


def test_a_panel_with_no_chair_is_refused_on_the_panel_line() -> None:
    text = replace_table(
        TH_EH,
        "moderation",
        '[moderation]\nmode = "panel"\ntier_one_by = ["head_of_safeguarding_qa"]\n\n'
        '[moderation.panel]\nmembers = ["executive_director", "assistant_director"]\n\n',
    )
    [problem] = problems_of(text)
    assert problem == (
        f"line {line_of(text, '[moderation.panel]')}: moderation.panel.chair: "
        "is required here but missing."
    )


def test_disputes_for_the_panels_chair_need_a_panel() -> None:
    text = TH_EH.replace('route = "moderator_then_hos_and_audit_team"', 'route = "panel_chair"')
    [problem] = problems_of(text)
    route_line = line_of(text, 'route = "panel_chair"')
    assert problem == (
        f"line {route_line}: disputes.route: disputes go to the "
        "panel's chair, but moderation has no panel (mode = 'every_audit'): use "
        'mode = "panel" or another route.'
    )


def test_a_tool_that_does_not_exist_is_refused_on_its_line() -> None:
    text = TH_EH.replace('"th_understanding_our_practice_short"', '"th_no_such_tool"')
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'th_no_such_tool')}: services[1].tools[2]:")
    assert "no audit tool 'th_no_such_tool'" in problem


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = (
        TH_EH.replace("uopp_working_days = 5", "uopp_working_days = -1")
        .replace('kind = "early_help"', 'kind = "early help"')
        .replace('"head_of_service", "coordinator", "divisional_director"]', '"boss"]')
    )
    found = problems_of(text)
    assert len(found) == 3
    lines = [int(problem.split(":")[0].removeprefix("line ")) for problem in found]
    assert lines == sorted(lines)
    assert any("rules.uopp_working_days: must be a whole number" in p for p in found)
    assert any("'early help'" in p and "'early_help'" in p for p in found)
    assert any("kloes.approval[1]: is 'boss'" in p for p in found)


def test_rules_a_service_overrides_are_checked_with_the_programmes_beneath() -> None:
    text = TH_EH.replace(
        "closure_days = []",
        'closure_days = []\nrules = { working_day_start = "18:00" }',
    )
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'working_day_start')}: services[1].rules")
    assert "earlier than working_day_end" in problem


def test_a_service_a_cycle_names_must_be_one_of_the_programmes() -> None:
    text = TH_EH.replace('services = ["EH"]', 'services = ["CSC"]')
    [problem] = problems_of(text)
    assert "timetable.cycles[1].services: 'CSC' is not one of this programme's services (EH)" in (
        problem
    )


def test_a_missing_stage_asks_for_its_table() -> None:
    text = replace_table(TH_EH, "disputes", "")
    assert problems_of(text) == [
        "the file: disputes: is required but missing: add a [disputes] table."
    ]


def test_a_file_that_is_not_toml_says_where() -> None:
    text = TH_EH.replace("[kloes]", "[kloes")
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, '[kloes')}: not valid TOML:")


def test_the_five_source_programmes_are_shipped() -> None:
    assert set(shipped_programmes()) == {
        "th-early-help",
        "th-qaf-csc-yjs",
        "hillingdon-csc",
        "city-of-london",
        "haringey",
    }


def test_each_programme_reads_its_seeds_shape() -> None:
    th_qaf = shipped_programme("th-qaf-csc-yjs")
    assert th_qaf.moderation_for("CSC-FSP").mode == "group"
    assert th_qaf.moderation_for("YJS").mode == "external"
    assert th_qaf.follow_up_for("EH").meeting == "below_good"
    assert [cycle.kind for cycle in th_qaf.timetable.cycles] == [
        "rolling",
        "recurring",
        "recurring",
    ]

    hillingdon = shipped_programme("hillingdon-csc")
    moderation = hillingdon.moderation_for("CSC")
    assert moderation.mode == "sample" and moderation.sample.percent == 10
    assert hillingdon.follow_up_for("CSC").meeting == "part_b"
    assert hillingdon.selection.lookback.or_since_latest_referral
    assert [role.value for role in hillingdon.timetable.proposed_to] == ["principal_social_worker"]

    city = shipped_programme("city-of-london")
    panel = city.moderation_for("CSC")
    assert panel.mode == "panel" and panel.panel.chair.value == "panel_chair"
    assert panel.panel.members_stand_aside_on_own_reviews
    assert city.disputes.route == "panel_chair" and city.follow_up.meeting == "none"

    haringey = shipped_programme("haringey")
    assert haringey.timetable.cycles[0].cases.per_cycle == 50
    assert haringey.moderation.mode == "none" and not haringey.kloes.approval


def test_part_b_needs_a_tool_that_has_one() -> None:
    text = replace_table(TH_EH, "follow_up", '[follow_up]\nmeeting = "part_b"\n\n')
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'tools = ')}: services[1].tools[1]:")
    assert "has no part_b" in problem


def test_numbers_that_became_stages_say_where_they_live_now() -> None:
    text = TH_EH.replace("[rules]\n", "[rules]\nkloe_lead_weeks = 3\naudit_lookback_months = 4\n")
    found = problems_of(text)
    assert found == [
        f"line {line_of(text, 'kloe_lead_weeks')}: rules.kloe_lead_weeks: is a stage of the "
        "programme now: set lead_weeks under [kloes].",
        f"line {line_of(text, 'audit_lookback_months')}: rules.audit_lookback_months: is a "
        "stage of the programme now: set lookback = { months = N } under [selection].",
    ]
    with pytest.raises(ValueError, match="kloe_lead_weeks: not a programme setting"):
        ProgrammeRules().with_overrides({"kloe_lead_weeks": 2})


def test_a_desktop_cycle_needs_a_desktop_tool() -> None:
    hillingdon = shipped_programmes()["hillingdon-csc"]
    text = hillingdon.replace(
        'tool = "hillingdon_ad_hoc_desktop"', 'tool = "hillingdon_monthly_audit"'
    )
    [problem] = problems_of(text)
    assert problem.startswith(f"line {line_of(text, 'desktop = true') + 1}: timetable.cycles[")
    assert "a desktop cycle needs a desktop audit tool" in problem


def test_desktop_only_audits_need_every_tool_to_be_desktop() -> None:
    text = TH_EH.replace("with_practitioner = true", "with_practitioner = false")
    found = problems_of(text)
    assert found and all("asks for a conversation with the practitioner" in p for p in found)


def test_an_external_check_falls_a_whole_number_of_months_apart() -> None:
    text = shipped_programmes()["th-qaf-csc-yjs"]
    group = shipped_programme("th-qaf-csc-yjs").moderation_for("CSC")
    assert group.mode == "group" and group.external_check_months() == (1, 7)
    broken = text.replace("external_check_times_a_year = 2", "external_check_times_a_year = 5")
    [problem] = problems_of(broken)
    assert problem == (
        f"line {line_of(broken, 'external_check_times_a_year')}: "
        "moderation.external_check_times_a_year: is 5; expected 0, 1, 2, 3, 4, 6 or 12."
    )


def test_the_audits_shape_must_match_its_tools() -> None:
    """`practitioner_section` and `family_feedback` say what each audit has; a tool that
    has otherwise is refused on its line (a desktop tool has neither, and is not asked)."""
    text = TH_EH.replace("practitioner_section = true", "practitioner_section = false")
    problems = problems_of(text)
    line = line_of(text, '"th_understanding_our_practice"')
    assert problems[0] == (
        f"line {line}: services[1].tools[1]: the tool 'th_understanding_our_practice' has a "
        "section the practitioner writes, but [audit] practitioner_section = false."
    )
    assert all("practitioner_section = false" in problem for problem in problems)
    shipped_programme("hillingdon-csc")  # its desktop tool has neither, and passes
