"""Free text keeps no bidirectional controls, wherever it comes in.

An invisible U+202E (RIGHT-TO-LEFT OVERRIDE) makes what follows it display
reversed, so a card or the tracking sheet could show something other than
what was typed. Card inputs, chat messages and CSV cells all lose them.
"""

from __future__ import annotations

import pytest

from storage import repositories as repo
from storage.imports import import_staff, import_teams
from tests.bot.test_wizard_http import allocated, audit_now, click, staff, today
from tests.bot.test_wizard_http import allocation_card as allocation_card_of
from tests.conftest import Database
from tests.dialogs.test_wizard_cards import fill_step, inputs_of, texts
from tests.harness import RunningBot
from workflow.grades import Grade
from workflow.text import BIDI_CONTROLS, clean_text

RLO, PDF = "\u202e", "\u202c"


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_every_bidirectional_control_is_removed(control: str):
    assert clean_text(f"  Visit {control}on time{control}\x00 ") == "Visit on time"


def test_right_to_left_writing_itself_is_kept():
    assert clean_text("زيارة في الوقت") == "زيارة في الوقت"


async def test_a_wizard_answer_is_saved_and_shown_without_them(db: Database, teams_bot: RunningBot):
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card_of(db, audit), "Start audit")
    typed = fill_step(card, Grade.GOOD, today=today(), outcomes_met=True)
    text_inputs = [i for i, node in inputs_of(card).items() if node["type"] == "Input.Text"]
    assert text_inputs
    typed[text_inputs[0]] = f"Seen with {RLO}drawkcab{PDF} mother"

    card = await click(teams_bot, auditor, card, "Save and continue", **typed)
    card = await click(teams_bot, auditor, card, "Back")

    saved = (await audit_now(db, audit.id)).draft
    assert RLO not in repr(saved) and PDF not in repr(saved)
    assert "Seen with drawkcab mother" in repr(saved)
    assert RLO not in texts(card) + repr(inputs_of(card))


async def test_a_chat_command_with_them_is_understood(db: Database, teams_bot: RunningBot):
    await allocated(db, "CSC")
    async with db.sessions() as session:
        alex = await repo.get_staff_by_upn(session, "alex.wilber@demo-council.gov.uk")
    assert alex is not None

    sent = await teams_bot.say(alex.aad_object_id, f"cycle{RLO} status")
    shown = repr(sent.activity)
    assert "Cycle" in shown and "didn't recognise" not in shown


async def test_csv_cells_are_stored_without_them(db: Database):
    async with db.sessions.begin() as session:
        await import_teams(
            session,
            "service_code,service_name,service_kind,team_code,team_name\n"
            f"EH,Early {RLO}Help,early_help,EH-N,North{RLO}\n",
        )
        report = await import_staff(
            session,
            "aad_object_id,upn,display_name,email,roles,auditor_trained,line_manager_upn\n"
            "0f8fad5b-d9cb-469f-a165-70867728950e,ann@council.gov.uk,"
            f"Ann {RLO}nhoJ,ann@council.gov.uk,practitioner@EH-N,no,\n",
        )
    assert report.rejected == []
    async with db.sessions() as session:
        ann = await repo.get_staff_by_upn(session, "ann@council.gov.uk")
        service = await repo.get_service_by_code(session, "EH")
    assert ann is not None and ann.display_name == "Ann nhoJ"
    assert service is not None and service.name == "Early Help"
