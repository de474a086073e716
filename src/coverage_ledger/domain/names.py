"""What a person's name (or phone) may hold: visible text only.

Names are printed in reports, spreadsheets and web pages: a control character (a newline, an
escape sequence) or an invisible formatting one (a right-to-left override, a zero-width space)
would change what the reader sees, so they are refused rather than stored."""

import unicodedata

TEXT_MAX_CHARS = 500
"""The longest free text an event holds (a committee, a reason, a name), in characters."""

_REFUSED_CATEGORIES = {"Cc", "Cf"}
"""Unicode control and format characters."""


_DESCRIBED = {
    "\n": "a line break",
    "\r": "a line break",
    "\t": "a tab",
    "\u00ad": "a soft hyphen",
    "\u200b": "a zero-width space",
    "\u200e": "a left-to-right mark",
    "\u200f": "a right-to-left mark",
    "\u202e": "a right-to-left override",
    "\ufeff": "a zero-width no-break space",
}
"""What the hidden characters people meet are, in the words of the messages that name them."""


def hidden_character(text: str) -> str | None:
    """`U+XXXX` of the first control or invisible formatting character in `text` (with what it
    is, when it is a common one: `U+000A (a line break)`), or None."""
    if text.isprintable():  # C-fast, and true of nearly every name: none of those is printable
        return None
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            described = _DESCRIBED.get(char)
            return f"U+{ord(char):04X}" + (f" ({described})" if described else "")
    return None


LAYOUT = frozenset("\t\n\r")
"""Control characters a free text (a reason, a source) may hold: it is laid out, not disguised."""


def hidden_character_in_text(text: str) -> str | None:
    """As `hidden_character`, for a free text: tabs and line breaks pass."""
    return hidden_character("".join(char for char in text if char not in LAYOUT))


def shown_safely(text: str) -> str:
    """`text` with every control or invisible formatting character replaced by U+FFFD."""
    if text.isprintable():
        return text
    return "".join("\ufffd" if unicodedata.category(char) in _REFUSED_CATEGORIES else char for char in text)


def garbled_reading(text: str) -> str | None:
    """What `text` said before UTF-8 was read as Windows-1252 (`DÃ©sirÃ©` for `Désiré`, as Excel
    shows a UTF-8 CSV it opened as ANSI and saves that way), or None when it is not so garbled.
    Precise: the round trip succeeds only for such text, never for a name written right."""
    if text.isascii():
        return None
    try:
        meant = text.encode("cp1252").decode("utf-8")
    except UnicodeError:  # a character outside Windows-1252, or bytes that are not UTF-8
        return None
    return meant if meant != text else None
