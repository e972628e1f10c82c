import pytest

from workflow.words import agreeing, as_sentence, counted


@pytest.mark.parametrize(
    ("typed", "quoted"),
    [
        ("Family feedback missing", "Family feedback missing."),
        ("Family feedback missing.", "Family feedback missing."),
        ("  Is the plan current?  ", "Is the plan current?"),
        ("Now!", "Now!"),
        ("", ""),
    ],
)
def test_typed_text_is_quoted_with_one_full_stop(typed, quoted):
    assert as_sentence(typed) == quoted


def test_counts_agree_in_number():
    assert f"{counted(1, 'answer')} {agreeing(1, 'needs', 'need')}" == "1 answer needs"
    assert f"{counted(2, 'answer')} {agreeing(2, 'needs', 'need')}" == "2 answers need"
    assert counted(3, "family", "families") == "3 families"
