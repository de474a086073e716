"""What a person's name (or phone) may hold: visible text only.

Names are printed in reports, spreadsheets and web pages: a control character (a newline, an
escape sequence) or an invisible formatting one (a right-to-left override, a zero-width space)
would change what the reader sees, so they are refused rather than stored."""

import unicodedata

_REFUSED_CATEGORIES = {"Cc", "Cf"}
"""Unicode control and format characters."""


def hidden_character(text: str) -> str | None:
    """`U+XXXX` of the first control or invisible formatting character in `text`, or None."""
    if text.isprintable():  # C-fast, and true of nearly every name: none of those is printable
        return None
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None
