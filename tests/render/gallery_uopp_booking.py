"""Gallery entries for booking the UoPP meeting: the organiser's options (open, chosen,
nothing left to offer) and the Audit Team's extension (open, with an error, granted), the
fullest with every clash named and every free text at its limit."""

from __future__ import annotations

from cards.uopp_booking import (
    REASON_LIMIT,
    ExtensionView,
    OptionsView,
    OptionView,
    extension_card,
    options_card,
)
from tests.render.examples import LONGEST, Example, example

NAMES = ("Peter Walsh", "Hannah Cohen", "Megan Bowen", "Olivia Brennan", "Zoë Åkesson-Ńguyen")
OPTIONS = OptionsView(
    meeting_id=17,
    offer=1,
    case_ref="CSC-26-0142",
    deadline="Tue 1 Dec 2026",
    options=(
        OptionView("Fri 27 Nov 2026, 14:00 to 15:00 (GMT)", ("Peter Walsh",)),
        OptionView("Wed 25 Nov 2026, 09:00 to 10:00 (GMT)", ("Peter Walsh", "Hannah Cohen")),
        OptionView("Wed 25 Nov 2026, 09:30 to 10:30 (GMT)", ("Peter Walsh", "Hannah Cohen")),
    ),
)
OPTIONS_MOST = OptionsView(
    **{
        **OPTIONS.__dict__,
        "case_ref": "CSC/26/0142-ÄÖÜ",
        "options": tuple(OptionView(o.when, NAMES * 2) for o in OPTIONS.options),
    }
)
OPTIONS_CHOSEN = OptionsView(
    **{
        **OPTIONS.__dict__,
        "status": "Booking Fri 27 Nov 2026, 14:00 to 15:00 (GMT). Everyone will be told in a "
        "moment.",
    }
)
NOTHING_LEFT = OptionsView(
    **{
        **OPTIONS.__dict__,
        "options": (),
        "why": "The calendar could not be reached: Graph answered 503 (serviceNotAvailable).",
    }
)
EXTENSION = ExtensionView(
    meeting_id=17,
    offer=1,
    case_ref="CSC-26-0142",
    asked_by="Megan Bowen",
    reason="The team manager is on leave until Thursday.",
    deadline="Tue 1 Dec 2026",
    earliest="2026-12-02",
)
EXTENSION_MOST = ExtensionView(
    **{
        **EXTENSION.__dict__,
        "reason": LONGEST[:REASON_LIMIT],
        "error": "the new date must be after the current deadline.",
    }
)
EXTENSION_GRANTED = ExtensionView(
    **{
        **EXTENSION.__dict__,
        "status": "Extended to Fri 4 Dec 2026. The team manager is on leave until Thursday. "
        "(granted by Alex Wilber: Fine, but no later)",
    }
)

UOPP_BOOKING_GALLERY: tuple[Example, ...] = (
    example("uopp-options", options_card, OPTIONS),
    example("uopp-options-most", options_card, OPTIONS_MOST),
    example("uopp-options-chosen", options_card, OPTIONS_CHOSEN),
    example("uopp-options-none", options_card, NOTHING_LEFT),
    example("uopp-extension", extension_card, EXTENSION),
    example("uopp-extension-most", extension_card, EXTENSION_MOST),
    example("uopp-extension-granted", extension_card, EXTENSION_GRANTED),
)
