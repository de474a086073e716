"""NIKs and API key secrets never reach the logs whole: every log record of the process, ours
and the server's (access lines carry URLs such as /v1/persons/{nik}/coverage, and a client may
put its key in a query by mistake), is masked when it is made."""

import logging
import re
from typing import Any

_GROUP_SEPARATOR = r"([-. +]|%20|%09)"
NIK = re.compile(
    r"(?:(?<![0-9.%])|(?<=%[0-9A-Fa-f]{2}))"
    rf"(?:[0-9]{{15,}}|[0-9]{{4}}{_GROUP_SEPARATOR}[0-9]{{4}}\1[0-9]{{4}}\1[0-9]{{4}}"
    rf"|[0-9]{{6}}{_GROUP_SEPARATOR}[0-9]{{6}}\2[0-9]{{4}})(?![0-9])"
)
"""15 digits or more (a NIK that lost or gained a digit is still a NIK to hide), or 16 typed in
groups with one separator, 4-4-4-4 or as the NIK reads, region-birth date-serial (6-6-4); dates,
amounts and the decimals of a fraction stay readable. A space or tab also as a URL writes it (`+`
in a query, `%20`, `%09`): NIKs typed in groups as a KTP prints them reached the access log whole; and a NIK
may start right after a URL's escape (`%20`, `%22`), whose last character is a digit."""
_NOT_DIGIT = re.compile(r"%(?:20|09)|[^0-9]")
"""What a NIK typed in groups holds besides its digits (a URL's escaped space or tab whole)."""
SECRET = re.compile(r"clk_[A-Za-z0-9_-]+")
"""An API key's secret (auth.service.SECRET_PREFIX and a url-safe token): hidden whole."""


def _masked_match(match: re.Match[str]) -> str:
    found = match[0]
    digits = found if found.isdigit() else _NOT_DIGIT.sub("", found)
    return f"{digits[:4]}********{digits[-4:]}"


def mask_niks(text: str) -> str:
    """`1671014501900001` → `1671********0001`: the district and serial stay, the birth date goes."""
    # a function, not a `\1…\2` template: re expands a template anew for every match, at twice
    # the cost, and every access line of a person lookup carries a NIK
    return NIK.sub(_masked_match, text)


def mask_log_text(text: str) -> str:
    """The text with its NIKs masked and any API key secret replaced by `clk_********`."""
    # the secret first: a NIK-like run of digits inside a token, masked first, would cut the
    # secret's match short and leave its tail in the log
    hidden = SECRET.sub("clk_********", text) if "clk_" in text else text
    return mask_niks(hidden)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_log_text(value)
    if isinstance(value, int | float) or value is None:  # (bools too) kept for %d and %.1f
        return value
    # an exception's message, a dict or list of outcomes (an upload's retracted NIKs), an
    # object: masked as the text it would be logged as, left as it is when it holds no NIK
    text = str(value)
    masked = mask_log_text(text)
    return value if masked == text else masked


_installed = False


def install_nik_masking() -> None:
    """Mask NIKs in the message and arguments of every log record from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.msg = _masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
