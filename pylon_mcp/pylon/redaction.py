"""Finding the API token in text that came back from elsewhere, also when it was altered on the way.

An upstream or a proxy may echo the token changed: upper-cased, cut short, base64-encoded (as in
a Basic header or a JSON blob), or URL-encoded. `TokenRedactor` precomputes those forms once and
then redacts, in one linear pass, any run of at least `MIN_RUN` characters of any form, in any
case. The pass is cheap when there is nothing to find: a C-level regex picks out runs of the
forms' characters that are long enough, and only those are checked, by looking up their aligned
6-character pieces in a set (any run of 12 or more contains one whole aligned piece).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

MIN_RUN = 12  # characters of the token; shorter runs are too common to mean anything
_PIECE = 6  # (MIN_RUN + 1) // 2: every run of MIN_RUN characters holds an aligned piece this long
REPLACEMENT = "[REDACTED]"


def token_forms(token: str) -> list[tuple[str, int]]:
    """Each form the token may come back in, with the shortest run of it that is redacted."""
    forms: list[tuple[str, int]] = [(token, MIN_RUN)]
    encoded = token.encode()
    for alphabet in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            # The token at each offset within 3-byte groups: the base64 of a longer text holding it
            # contains one of these (the characters that depend on neighbours are cut off).
            chunk = alphabet(b"\0" * shift + encoded).decode().rstrip("=")
            skip = (shift * 4 + 2) // 3  # characters that also encode the padding bytes
            forms.append((chunk[skip:-1], MIN_RUN + 4))  # 16 base64 characters carry 12 bytes
    quoted = quote(token, safe="")
    if quoted != token:
        forms.append((quoted, MIN_RUN))
    forms.append(("".join(f"%{byte:02x}" for byte in encoded), MIN_RUN * 3))  # every byte escaped
    return list(dict.fromkeys((form, run) for form, run in forms if len(form) >= run))


class TokenRedactor:
    """Redacts a token of at least MIN_RUN characters in all its forms (see the module docstring)."""

    def __init__(self, token: str) -> None:
        self._forms = [(form.lower(), run) for form, run in token_forms(token)]
        self._pieces: dict[str, list[tuple[int, int]]] = {}
        for index, (form, _) in enumerate(self._forms):
            for offset in range(len(form) - _PIECE + 1):
                self._pieces.setdefault(form[offset : offset + _PIECE], []).append((index, offset))
        alphabet = {c for form, _ in self._forms for c in form + form.upper()}
        shortest = min(run for _, run in self._forms)
        self._candidates = re.compile(f"[{''.join(re.escape(c) for c in sorted(alphabet))}]{{{shortest},}}")

    def redact(self, text: str) -> str:
        parts: list[str] = []
        done = 0
        for candidate in self._candidates.finditer(text):
            for start, end in self._runs(candidate.group().lower()):
                parts.append(text[done : candidate.start() + start])
                parts.append(REPLACEMENT)
                done = candidate.start() + end
        if not parts:
            return text
        parts.append(text[done:])
        return "".join(parts)

    def _runs(self, lowered: str) -> list[tuple[int, int]]:
        """Spans of `lowered` that are runs of a form at least that form's minimum long."""
        found: list[tuple[int, int]] = []
        position = 0
        while position + _PIECE <= len(lowered):
            hits = self._pieces.get(lowered[position : position + _PIECE])
            if hits is None:
                position += _PIECE
                continue
            best = None
            floor = found[-1][1] if found else 0
            for index, offset in hits:
                form, run = self._forms[index]
                start, at = position, offset
                while start > floor and at > 0 and lowered[start - 1] == form[at - 1]:
                    start, at = start - 1, at - 1
                end, at = position + _PIECE, offset + _PIECE
                while end < len(lowered) and at < len(form) and lowered[end] == form[at]:
                    end, at = end + 1, at + 1
                if end - start >= run and (best is None or end - start > best[1] - best[0]):
                    best = (start, end)
            if best is None:
                position += _PIECE
            else:
                found.append(best)
                position = best[1]
        return found


class ShortTokenRedactor:
    """A token shorter than MIN_RUN: only the whole token is redacted (in any case)."""

    def __init__(self, token: str) -> None:
        self._pattern = re.compile(re.escape(token), re.IGNORECASE)

    def redact(self, text: str) -> str:
        return self._pattern.sub(REPLACEMENT, text)


def redactor(token: str) -> TokenRedactor | ShortTokenRedactor:
    return TokenRedactor(token) if len(token) >= MIN_RUN else ShortTokenRedactor(token)
