"""What a registry record's words say about it: status, historic, de-assigned, discouraged.

IANA does not publish these as columns; they live in the description and the
assignment notes.  The phrasings below were read off the 2026 registry:

status
    ``assigned`` when the record carries a service name; otherwise
    ``unassigned`` when the description starts with "Unassigned" (also
    "(unassigned) Possibly assigned", "Unassigned [was netstat]") and
    ``reserved`` for every other nameless record ("Reserved", "De-registered",
    "Removed", "any private mail system", ...).
historic
    the word *historic* on its own: "This entry is an alias to "x-y". This
    entry is now historic, ...", "Historic usage was surfpass.", "Message
    Send Protocol (historic)".  "Historically, this service has been
    referred to as ..." speaks of another name and does not count.
deassigned
    "De-Assigned on 2022-01-10", "De-registered", "De-Commissioned Port",
    "This entry has been removed on 2017-05-18", "This entry is being removed
    on ...", "Removed", "assignment withdrawn", "This service name is no
    longer in use".  Sentences that speak of the past of a port assigned
    again ("port 3001 previously "Removed on ..."", "de-assigned and
    re-assigned") do not count; "De-assigned on 2025-02-13, previously
    compressnet" does.  The date, when the text gives one (ISO or
    "08 June 2001"), is kept as ``deassigned_date``.
discouraged
    "This is a duplicate of the "http" service and should not be used",
    "Use of 585 is not recommended, use 993 instead", "Deprecated".
widely_used
    "This entry records an unassigned but widespread use".
"""

from __future__ import annotations

import re

STATUSES = ("assigned", "reserved", "unassigned")

_UNASSIGNED = re.compile(r"^\W*unassigned\b", re.IGNORECASE)
_HISTORIC = re.compile(r"\bhistoric\b", re.IGNORECASE)
_DEASSIGNED = re.compile(
    r"\bde-?assigned\b|\bde-?registered\b|\bde-?commissioned\b|\bdecomissioned\b"
    r"|\bwithdrawn\b|\bremoved\b|\bno longer in use\b",
    re.IGNORECASE,
)
_EARLIER = re.compile(r"\bpreviously\b|\bformerly\b", re.IGNORECASE)
_REASSIGNED = re.compile(r"\bre-?assigned\b", re.IGNORECASE)
_DISCOURAGED = re.compile(
    r"\bshould not be used\b|\bnot recommended\b|\bdeprecated\b|\bdo not use\b", re.IGNORECASE
)
_WIDELY_USED = re.compile(r"\bunassigned but widespread use\b|\bwidely used\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4}-\d{1,2}(?:-\d{1,2})?)\b")
_WORD_DATE = re.compile(
    r"\b(\d{1,2}) (January|February|March|April|May|June|July|August|September|October|"
    r"November|December) (\d{4})\b",
    re.IGNORECASE,
)
_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Any word that can set a marker: most records have none, and skip the detailed checks.
_ANY_MARKER = re.compile(
    r"histor|de-?assign|de-?regist|de-?comm|decomiss|withdrawn|removed|no longer"
    r"|should not|not recommended|deprecat|do not use|widespread|widely",
    re.IGNORECASE,
)
# The same words on lower-cased ASCII text, where they need no IGNORECASE (which is costly).
_ANY_MARKER_LOWER = re.compile(_ANY_MARKER.pattern)
_PLAIN = {"historic": False, "deassigned": False, "deassigned_date": None}
_PLAIN.update(discouraged=False, widely_used=False)


def derive(service: str, description: str, notes: str) -> dict:
    """All derived fields of a record (status and the markers), as keyword arguments."""
    status = status_of(service, description)
    if not _can_mark(description) and not _can_mark(notes):
        return {"status": status, **_PLAIN}
    deassigned, when = deassignment(description, notes)
    return {
        "status": status,
        "historic": is_historic(description, notes),
        "deassigned": deassigned,
        "deassigned_date": when,
        "discouraged": is_discouraged(description, notes),
        "widely_used": is_widely_used(description, notes),
    }


def _can_mark(text: str) -> bool:
    """True when ``text`` holds a word that can set a marker (most registry text has none)."""
    if text.isascii():  # lower() keeps ASCII text aligned with IGNORECASE matching
        return _ANY_MARKER_LOWER.search(text.lower()) is not None
    return _ANY_MARKER.search(text) is not None


def status_of(service: str, description: str) -> str:
    """``assigned`` for a named record, else ``unassigned`` or ``reserved`` by its wording."""
    if service:
        return "assigned"
    return "unassigned" if _UNASSIGNED.search(description) else "reserved"


def is_historic(description: str, notes: str) -> bool:
    """True when the description or notes call the record historic."""
    return bool(_HISTORIC.search(description) or _HISTORIC.search(notes))


def deassignment(description: str, notes: str) -> tuple[bool, str | None]:
    """(de-assigned?, date) from sentences that say the assignment ended.

    Sentences that only tell a port's past before it was assigned again are
    ignored, so a current assignment is never marked de-assigned.
    """
    for text in (notes, description):
        for sentence in _SENTENCE.split(text):
            hit = _DEASSIGNED.search(sentence)
            if not hit or _REASSIGNED.search(sentence):
                continue
            earlier = _EARLIER.search(sentence)
            if earlier and earlier.start() < hit.start():
                continue  # "port 3001 previously "Removed on ..."": a past before this assignment
            return True, _date_in(sentence[hit.start() :])
    return False, None


def _date_in(text: str) -> str | None:
    """The first date in ``text``: ISO as written, or "08 June 2001" as 2001-06-08."""
    iso = _ISO_DATE.search(text)
    word = _WORD_DATE.search(text)
    if word and (not iso or word.start() < iso.start()):
        day, month, year = word.groups()
        return f"{year}-{_MONTHS[month.lower()]:02d}-{int(day):02d}"
    return iso.group(1) if iso else None


def is_discouraged(description: str, notes: str) -> bool:
    """True when the text tells users not to use this name or port."""
    return bool(_DISCOURAGED.search(notes) or _DISCOURAGED.search(description))


def is_widely_used(description: str, notes: str) -> bool:
    """True for IANA's "unassigned but widespread use" records."""
    return bool(_WIDELY_USED.search(notes) or _WIDELY_USED.search(description))


def derive_columns(services: list[str], descriptions: list[str], notes: list[str]) -> dict:
    """:func:`derive` over whole columns: one list per derived field, row for row.

    Only the rows whose words can set a marker (a small minority) go through
    the detailed checks; the rest are plain.
    """
    n = len(services)
    out: dict[str, list] = {
        "status": [
            status_of(s, d) if not s else "assigned"
            for s, d in zip(services, descriptions, strict=True)
        ],
        **{key: [value] * n for key, value in _PLAIN.items()},
    }
    for i, (description, note) in enumerate(zip(descriptions, notes, strict=True)):
        if _can_mark(description) or (note and _can_mark(note)):
            for key, value in derive(services[i], description, note).items():
                out[key][i] = value
    return out
