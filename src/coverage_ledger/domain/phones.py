"""Indonesian phone numbers as people write them: 08…, 0711 …, +62 8…, 0062 8…, with spaces,
dashes, dots or brackets, including the typographic dashes and no-break spaces that word
processors and web pages put there."""

_PHONE_SEPARATORS = str.maketrans(
    "", "", " -.()\u00a0\u2007\u2009\u202f\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
)

NO_PHONE = frozenset({"", "-", "--", "\u2010", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212"})
"""What a clerk writes for "no phone" (a roster cell, or an API field some systems never leave
empty)."""


def phone_problem(text: str) -> tuple[str, str] | None:
    """(code, message) when a phone, a roster cell's or a registration's, is not an Indonesian
    phone number; the number itself is not repeated (kept errors must not hold personal data)."""
    digits = text.translate(_PHONE_SEPARATORS)
    if digits.startswith("00"):  # the international prefix dialled from Indonesia
        digits = "+" + digits[2:]
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("62"):
            return "invalid_phone", "phone has a country code other than +62"
    if digits.startswith("620"):
        return "invalid_phone", "phone has both +62 and the leading 0: write 08… or +628…"
    if not (digits.isascii() and digits.isdigit()):
        return "invalid_phone", "phone is not a phone number: digits, spaces and dashes, 0… or +62…"
    if digits.startswith("8") and 9 <= len(digits) <= 12:
        return (
            "phone_leading_zero_lost",
            "phone starts with 8: a spreadsheet probably dropped its leading 0; format the column as text",
        )
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    if not digits.startswith("0") or not 9 <= len(digits) <= 14:
        return "invalid_phone", "phone is not a phone number: 0… or +62…, 9 to 14 digits"
    return None
