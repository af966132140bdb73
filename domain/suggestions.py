"""Mapping suggestions: a name may suggest a company, never decide (the seed's rule). A suggestion is offered only when
the customer's name matches exactly one active company, as written or after normalising case, punctuation and legal
suffixes; two companies under one name suggest nothing. Accepting one is an explicit mapping by ID."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

LEGAL_SUFFIXES = frozenset({"bv", "ltd", "limited", "gmbh", "inc", "llc", "nv", "sa", "ag"})
"""Dropped from a name's end (as words, after punctuation: `B.V.`, `BV`, `Ltd.`, `S.A.` …)."""
_JOINED = re.compile(r"[.'’]")
"""Taken out without a space, so `B.V.` reads as `bv` and `O'Neill` as `oneill`."""
_SEPARATORS = re.compile(r"[^\w]+|_")


class Match(StrEnum):
    EXACT = "exact"
    NORMALIZED = "normalized"


def normalized(name: str) -> str:
    """The name compared case-blind, without punctuation and without trailing legal suffixes ("Acme B.V." → "acme").
    A name that is only a suffix keeps it."""
    text = _JOINED.sub("", unicodedata.normalize("NFKC", name).casefold())
    words = _SEPARATORS.sub(" ", text).split()
    kept = list(words)
    while len(kept) > 1 and kept[-1] in LEGAL_SUFFIXES:
        kept.pop()
    return " ".join(kept)


@dataclass(frozen=True, slots=True)
class Candidate:
    company_id: int
    company_name: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    customer_id: str
    customer_name: str
    company_id: int
    company_name: str
    match: Match


class CompanyIndex:
    """Active companies by normalised name, to suggest from."""

    def __init__(self, companies: Iterable[Candidate]) -> None:
        self._by_name: dict[str, list[Candidate]] = defaultdict(list)
        for company in companies:
            key = normalized(company.company_name)
            if key:
                self._by_name[key].append(company)

    def suggest(self, customer_id: str, customer_name: str) -> Suggestion | None:
        """The one company this name matches, or None (no match, or two or more: ambiguous)."""
        found = self._by_name.get(normalized(customer_name), [])
        if len(found) != 1:
            return None
        company = found[0]
        match = Match.EXACT if company.company_name == customer_name else Match.NORMALIZED
        return Suggestion(customer_id, customer_name, company.company_id, company.company_name, match)
