"""What a flag is made of, and the small vocabulary its rule and sentence are written in.

A :class:`Flag` is one unit: its facts (id, default severity, title,
explanation, ATT&CK technique), its *rule* (which flows it applies to) and
its *detail* (the sentence a finding of it shows).  The flags themselves are
declared in :mod:`annotator.triage.flags`; :mod:`annotator.triage.hits`
evaluates their rules once per flow table.

A rule reads the flow table after the registry join and the evidence
columns, with the ``evidence`` verdict and ``label_basis`` already set (see
:mod:`annotator.triage.evaluate`), and returns one boolean per row: plain
numpy, vectorized, no Python object per flow.  A detail reads
:class:`FindingFacts`, the few facts of one finding, and returns one plain
sentence.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pandas as pd

from annotator.evidence import PROTOCOLS
from annotator.triage.severity import check_severity

ATTACK_URL = "https://attack.mitre.org/techniques/{}/"


class FindingFacts(TypedDict):
    """What a flag's detail sentence may read of a finding (a missing value is None).

    Taken from the first of the finding's flows where each is present, so a
    fact the rule guarantees (the notes of a de-assigned port) is there.
    """

    transport: str
    server_ip: str | None
    server_port: int
    service: str | None
    observed_protocol: str | None
    unauthorized_use: str | None
    registry_notes: str | None
    other_transports: str | None


#: The finding columns a detail sentence reads, in :class:`FindingFacts` order.
FACT_COLUMNS: tuple[str, ...] = tuple(FindingFacts.__annotations__)

#: Which flows a flag applies to: the flow table in, one boolean per row out.
Rule = Callable[[pd.DataFrame], np.ndarray]
#: The sentence a finding of a flag shows.
Detail = Callable[[FindingFacts], str]
#: A severity per hit, for a flag whose urgency depends on the flow: the flow
#: table and the rows its rule holds for in, one severity name per row out.
HitSeverity = Callable[[pd.DataFrame, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Flag:
    """One kind of finding: its facts, its rule and its sentence.

    ``id`` is stable: it appears in JSON, CSV and ``--fail-on`` pipelines.
    ``severity`` is the flag's default severity, the one the glossary shows;
    ``severity_of``, when given, decides the severity of each hit instead
    (a per-finding severity: a finding is as urgent as its most urgent hit).
    """

    id: str
    severity: str
    title: str
    explanation: str
    rule: Rule = field(repr=False)
    detail: Detail = field(repr=False)
    attack: str | None = None
    severity_of: HitSeverity | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_severity(self.severity)

    @property
    def attack_url(self) -> str | None:
        """Link to the ATT&CK technique page, when the flag names one."""
        return ATTACK_URL.format(self.attack.replace(".", "/")) if self.attack else None


def truthy(series: pd.Series) -> np.ndarray:
    """A boolean column as plain booleans (NA as False)."""
    return series.fillna(False).to_numpy(dtype=bool)


def present(series: pd.Series) -> np.ndarray:
    """Where ``series`` has a value."""
    return series.notna().to_numpy()


def equals(series: pd.Series, value: object) -> np.ndarray:
    """``series == value`` as plain booleans (NA compares as False)."""
    return (series == value).fillna(False).to_numpy(dtype=bool)


def where(facts: FindingFacts) -> str:
    """A finding's server port and transport, as ``443/tcp``."""
    return f"{facts['server_port']}/{facts['transport']}"


@functools.cache
def protocol_name(protocol: str | None) -> str:
    """How a finding names an observed protocol (cached: there are few of them)."""
    if protocol is None:
        return "an unrecognised protocol"
    return PROTOCOLS.get(str(protocol), str(protocol))
