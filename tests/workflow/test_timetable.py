"""Each programme's timetable laid out over a year, and when each cycle is asked for."""

from __future__ import annotations

from datetime import date

from workflow.programme import shipped_programme
from workflow.timetable import cycles_in_year, due_to_propose, suggested_cases


def months(programme_id: str, service: str, kind: str | None = None) -> list[int]:
    return [
        entry.month.month
        for entry in cycles_in_year(shipped_programme(programme_id), 2027)
        if entry.service == service and (kind is None or entry.kind == kind)
    ]


def test_tower_hamlets_early_help_every_two_months_from_february() -> None:
    assert months("th-early-help", "EH") == [2, 4, 6, 8, 10, 12]


def test_a_rolling_timetable_covers_each_service_twice_a_year_in_turn() -> None:
    assert months("th-qaf-csc-yjs", "CSC-MASH") == [1, 7]
    assert months("th-qaf-csc-yjs", "CSC-FSP") == [3, 9]
    assert months("th-qaf-csc-yjs", "CSC-CLA") == [5, 11]
    assert months("th-qaf-csc-yjs", "YJS") == list(range(1, 13))
    assert months("th-qaf-csc-yjs", "YS") == [2, 4, 6, 8, 10, 12]


def test_hillingdons_thematic_months_replace_the_monthly_audit() -> None:
    assert months("hillingdon-csc", "CSC", "thematic") == [3, 7, 11]
    assert months("hillingdon-csc", "CSC", "recurring") == [1, 2, 4, 5, 6, 8, 9, 10, 12]


def test_haringeys_event_audits_run_beside_the_monthly_light_touch_audits() -> None:
    assert months("haringey", "FR", "thematic") == [1, 5, 9]
    assert months("haringey", "FR", "recurring") == list(range(1, 13))
    [january] = [e for e in cycles_in_year(shipped_programme("haringey"), 2027)
                 if e.service == "FR" and e.kind == "recurring" and e.month.month == 1]  # fmt: skip
    assert suggested_cases(january, teams=3, auditors=9) == 8  # 50 shared by six services


def test_a_cycle_is_asked_for_from_its_lead_time_until_its_month_begins() -> None:
    th_eh = shipped_programme("th-early-help")  # two weeks' KLOEs, one week's selection
    assert [e.month for e in due_to_propose(th_eh, date(2027, 1, 10))] == []
    assert [e.month for e in due_to_propose(th_eh, date(2027, 1, 11))] == [date(2027, 2, 1)]
    assert [e.month for e in due_to_propose(th_eh, date(2027, 1, 31))] == [date(2027, 2, 1)]
    assert due_to_propose(th_eh, date(2027, 2, 1)) == []
    hillingdon = shipped_programme("hillingdon-csc")  # no lead time: two weeks' notice
    assert [e.month for e in due_to_propose(hillingdon, date(2026, 12, 18))] == [date(2027, 1, 1)]
    assert due_to_propose(hillingdon, date(2026, 12, 17)) == []


def test_cases_per_auditor_and_per_team() -> None:
    [first, *_] = cycles_in_year(shipped_programme("hillingdon-csc"), 2027)
    assert suggested_cases(first, teams=3, auditors=6) == 6
    [csc, *_] = cycles_in_year(shipped_programme("th-qaf-csc-yjs"), 2027)
    assert suggested_cases(csc, teams=3, auditors=6) == 6  # two per team
