"""Personal data in free text: hiding it from logs (:func:`mask_pii`) and erasing one person
from stored text (:func:`redact`).

:func:`mask_pii` finds what looks like an email address, a phone number (E.164, an Indian
mobile in any of its usual spellings, a WhatsApp ``wa_id``), a PAN or an Aadhaar number and
hides it; the identifiers the service itself logs (UUIDs, digests, timestamps, SEBI and AMFI
registration numbers, WhatsApp message ids) are left alone so a masked log is still useful.

Every pattern here is linear: no repeated group can match the same characters in two ways,
and lookbehinds let a match start only where a number, code or address token starts, so a
hostile log line cannot make masking slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from projectone.domain.advisor import MASK, mask_email

__all__ = ["contains_pii", "mask_pii", "redact"]

# A digit run glued to letters is part of an identifier (a hash, a base64 blob, a PAN-like
# code), not a number on its own. MASK counts too: the four digits a masked phone keeps must
# never start a new match, or masking twice would hide more than masking once.
_NOT_AFTER_WORD = rf"(?<![0-9A-Za-z_{MASK}])"
_NOT_BEFORE_WORD = r"(?![0-9A-Za-z_])"
# Not the fraction of a decimal number (a latency, an amount) nor part of a dotted number.
_NOT_AFTER_DECIMAL = r"(?<![0-9]\.)"
_NOT_BEFORE_DECIMAL = r"(?!\.[0-9])"
_START = _NOT_AFTER_WORD + _NOT_AFTER_DECIMAL
_END = _NOT_BEFORE_WORD + _NOT_BEFORE_DECIMAL

# What the service logs about itself, matched before any number so no part of it is mistaken
# for personal data (the last group of a UUID may be twelve digits: an Aadhaar number).
_PROTECTED = "|".join(
    (
        r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
        # ISO 8601 dates and timestamps, with ``,`` for logging's own ``asctime``. A real
        # year, month and day, so a mobile written 9160-10-10-… is not taken for one.
        r"(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
        r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
        r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
        # WhatsApp message ids: base64 that may hold ``+`` and long digit runs.
        r"wamid\.[A-Za-z0-9+/=_-]+",
        r"INA[0-9]{9}",
        r"ARN-[0-9]{1,7}",
        _NOT_AFTER_WORD + r"[0-9A-Fa-f]{32,}" + _NOT_BEFORE_WORD,
    )
)
# An email address is looked for in a whole token of address characters that holds an ``@``;
# :func:`_local_part_end` takes it apart, so no regex has to guess where a local part ends.
# The token starts only where a run of such characters starts (not after a MASK either, so
# what masking leaves is never taken up again), so a long run is scanned once.
_ADDRESS_CHARS = "A-Za-z0-9._%+'-"
_EMAIL = rf"(?<![@{MASK}{_ADDRESS_CHARS}])[{_ADDRESS_CHARS}]*@[@{_ADDRESS_CHARS}]*"
_PAN = _NOT_AFTER_WORD + r"[A-Z]{5}[0-9]{4}[A-Z]" + _NOT_BEFORE_WORD
# ``%2B`` is ``+`` in a URL (an access log's query string).
_PLUS = r"(?:\+|%2[Bb])"
# An Indian mobile: ten digits from 6 to 9, after an optional +91, 91 (a WhatsApp wa_id) or 0
# (a trunk prefix), with at most one space or hyphen between any two digits, which covers
# 98765 43210, 98765-43210, 987 654 3210 and +91 98765 43210. Each repetition must take a
# digit, so the optional separators cannot be split two ways.
_INDIAN_MOBILE = _START + rf"(?:{_PLUS}?91[ -]?|0[ -]?)?[6-9](?:[ -]?[0-9]){{9}}" + _END
_E164 = _START + _PLUS + r"[1-9][0-9]{7,14}" + _END
_AADHAAR = _START + r"[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}" + _END


def _alternatives(*, emails: bool) -> re.Pattern[str]:
    # One pass, leftmost match first; at one position the alternatives are tried in this
    # order, so an email address wins over the digits in its local part and a wa_id (91 and a
    # mobile) is masked as a phone rather than as an Aadhaar number.
    return re.compile(
        (f"(?P<email>{_EMAIL})|" if emails else "")
        + f"(?P<protected>{_PROTECTED})"
        + f"|(?P<pan>{_PAN})"
        + f"|(?P<phone>{_INDIAN_MOBILE}|{_E164})"
        + f"|(?P<aadhaar>{_AADHAAR})"
    )


_PII = _alternatives(emails=True)
# Where an @ turned out not to be part of an address: anything else starting there.
_PII_BUT_EMAIL = _alternatives(emails=False)
_HOST_CHARS = re.compile(r"[A-Za-z0-9.-]*")
# The end of a host name: a dot and an alphabetic top-level domain.
_TLD = re.compile(r"\.[A-Za-z]{2,}(?![A-Za-z0-9])")
_DIGITS = re.compile(r"[0-9]")
_PLUS_PREFIX = re.compile(_PLUS)


def _host(domain: str) -> str:
    """The host name ``domain`` starts with (``example.in`` of ``example.in.``), or ``""``."""
    run = _HOST_CHARS.match(domain)
    chars = run.group() if run else ""
    end = 0
    for tld in _TLD.finditer(chars):
        end = tld.end()
    host = chars[:end]
    return host if host and host[0] != "." else ""


def _local_part_end(token: str) -> int:
    """Where the ``@`` after the local part of the address in ``token`` is, or -1.

    The last ``@`` followed by a host name: in ``foo@x@y.in`` the whole of ``foo@x`` is hidden.
    """
    at = len(token)
    while (at := token.rfind("@", 0, at)) > 0:
        if _host(token[at + 1 :]):
            return at
    return -1


def _phone(number: str) -> str:
    # Unlike ``mask_phone`` the country code is hidden too: in free text a wa_id's 91 cannot
    # be told from the number. A leading + (or %2B) stays.
    plus = _PLUS_PREFIX.match(number)
    prefix = plus.group() if plus else ""
    digits = _DIGITS.findall(number[len(prefix) :])
    return prefix + MASK * (len(digits) - 4) + "".join(digits[-4:])


def _mask(match: re.Match[str]) -> str:
    found = match.group()
    kind = match.lastgroup
    if kind == "phone":
        return _phone(found)
    if kind in ("pan", "aadhaar"):
        return MASK * len(found)
    return found  # protected


def mask_pii(text: str) -> str:
    """``text`` with email addresses, phone numbers, PANs and Aadhaar numbers hidden:
    ``"sent to +919876543210"`` → ``"sent to +••••••••3210"``.

    Idempotent, and never raises on a ``str``. Only ASCII digits make a phone or Aadhaar
    number; UUIDs, hex digests, ISO timestamps, ``INA…``/``ARN-…`` registrations and
    ``wamid.…`` ids are left as they are. Data glued to letters or digits (``abc9876543210``)
    or right after a MASK character is not found."""
    pieces: list[str] = []
    done = 0
    at = 0
    while (match := _PII.search(text, at)) is not None:
        start = match.start()
        if match.lastgroup == "email":
            local_end = _local_part_end(match.group())
            if local_end >= 0:
                # Only the local part is replaced; the host and what follows it are scanned
                # like any text (a host may hold a number, and a number may follow it), so
                # masking again finds exactly what it found the first time.
                pieces += (text[done:start], mask_email(match.group()[: local_end + 1]))
                done = at = start + local_end + 1
                continue
            # An @ but no address: whatever else starts here, as if it had not been looked at.
            match = _PII_BUT_EMAIL.match(text, start)
            if match is None:
                at = start + 1
                continue
        pieces += (text[done:start], _mask(match))
        done = at = match.end()
    pieces.append(text[done:])
    return "".join(pieces)


def contains_pii(text: str) -> bool:
    """Whether :func:`mask_pii` would change ``text``."""
    return mask_pii(text) != text


# --- redaction --------------------------------------------------------------------------

# Letters that continue a word, after casefolding: a name is only erased as a whole word, so
# "Asha" goes from "Asha's" but not from "Ashaben". Devanagari vowel signs and the virama are
# in its block, so "राम" is not found in "रामा".
_WORD = "0-9a-z_\u00c0-\u024f\u1e00-\u1eff\u0900-\u097f\ua8e0-\ua8ff"
_NAME_START = f"(?<![{_WORD}])"
_NAME_END = f"(?![{_WORD}])"
_PHONE_IDENTIFIER = re.compile(r"\+?[0-9][0-9 ().-]*")
_SEPARATOR = "[ -]?"


def _name_pattern(folded: str) -> str:
    # Any run of whitespace between the words of a name matches any other.
    body = r"\s+".join(re.escape(word) for word in folded.split())
    return _NAME_START + body + _NAME_END


def _phone_pattern(identifier: str) -> str:
    digits = re.sub(r"[^0-9]", "", identifier)
    national, country = digits[-10:], digits[:-10]
    # The national number with or without separators between its digits, after the country
    # code (with or without ``+``), a trunk ``0``, or nothing.
    body = _SEPARATOR.join(national)
    prefixes = [f"{_PLUS}?{country}{_SEPARATOR}"] if country else []
    prefixes.append(f"0{_SEPARATOR}")
    return rf"(?<![0-9])(?:{'|'.join(prefixes)})?{body}(?![0-9])"


def _pattern(identifier: str) -> str:
    folded = identifier.casefold()
    if _PHONE_IDENTIFIER.fullmatch(identifier) and len(re.sub(r"[^0-9]", "", identifier)) >= 7:
        return _phone_pattern(identifier)
    return _name_pattern(folded)


def redact(text: str, identifiers: Iterable[str], replacement: str = "[erased]") -> str:
    """``text`` with every occurrence of each identifier (a name, an email address, a phone
    number) replaced by ``replacement``, ignoring case.

    Names and addresses are only matched as whole words; a phone number also matches without
    its ``+`` or country code and with spaces or hyphens between its digits. Identifiers
    without a letter or digit (blank ones) are ignored; longer identifiers are tried first,
    so "Asha Devi" is erased whole before "Asha" is looked for."""
    wanted = sorted(
        {i.strip() for i in identifiers if any(c.isalnum() for c in i)},
        key=lambda i: (-len(i.casefold()), i),
    )
    if not wanted:
        return text
    pattern = re.compile("|".join(f"(?:{_pattern(i)})" for i in wanted))
    # Matching runs over the casefolded text (full folding: "STRASSE" finds "Straße"), which
    # can be longer than the text; origin maps each folded character back to its source.
    folded_parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded_char = char.casefold()
        folded_parts.append(folded_char)
        origin.extend([index] * len(folded_char))
    folded = "".join(folded_parts)
    pieces: list[str] = []
    done = 0
    for match in pattern.finditer(folded):
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        if start < done:
            continue  # inside a character an earlier match already erased
        pieces.append(text[done:start])
        pieces.append(replacement)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)
