"""The text checks every entry point shares."""

from __future__ import annotations

import pytest

from services.shared.errors import InvalidInput
from services.shared.validation import check_id, clean_text


@pytest.mark.parametrize("control", ["\x00", "\x09", "\x1b", "\x1f", "\x7f"])
def test_control_characters_are_refused_wherever_they_are(control: str) -> None:
    # (At either end, whitespace controls such as a tab are trimmed away first.)
    for value in (f"sk{control}u", f"sku{control}x", f"{control}s{control}x"):
        with pytest.raises(InvalidInput, match="must not contain control characters"):
            clean_text(value, field="sku", label="SKU", max_length=50)


def test_printable_and_non_ascii_text_is_kept_trimmed() -> None:
    assert clean_text("  Tee, Ünïcode \x80 ₹499 ", field="t", label="T", max_length=50) == (
        "Tee, Ünïcode \x80 ₹499"
    )


def test_an_id_is_trimmed_and_refused_when_empty_or_too_long() -> None:
    assert check_id("  om_01 ") == "om_01"
    with pytest.raises(InvalidInput, match="must not be empty"):
        check_id("   ")
    with pytest.raises(InvalidInput, match="at most 255"):
        check_id("x" * 256)
