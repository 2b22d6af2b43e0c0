"""Running the fingerprint table: one flow (:func:`identify`) or a whole flow
table (:func:`fingerprint_flows`)."""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
import pandas as pd

from annotator.evidence.base import UNKNOWN, Context, Evidence
from annotator.evidence.fingerprints import FINGERPRINTS, Fingerprint

_BY_TRANSPORT: dict[str, tuple[Fingerprint, ...]] = {
    transport: tuple(fp for fp in FINGERPRINTS if transport in fp.transports)
    for transport in ("tcp", "udp")
}
NO_BYTE = 256  # stands for the first byte of an empty direction
MAX_DETAIL = 200  # characters: the detail is one short line in a report

# (transport, first c2s byte, first s2c byte) -> the fingerprints worth calling.
_candidates: dict[tuple[str, int, int], tuple[Fingerprint, ...]] = {}


def _plan(transport: str, first_c2s: int, first_s2c: int) -> tuple[Fingerprint, ...]:
    """The fingerprints whose first-byte sets admit either direction's first byte."""
    key = (transport, first_c2s, first_s2c)
    plan = _candidates.get(key)
    if plan is None:
        plan = tuple(
            fp
            for fp in _BY_TRANSPORT.get(transport, ())
            if fp.first is None or first_c2s in fp.first or first_s2c in fp.first
        )
        _candidates[key] = plan
    return plan


def _run(c2s: bytes, s2c: bytes, ctx: Context) -> tuple[Evidence | None, bool]:
    """The first fingerprint of the plan that matches, and whether its result
    holds for any flow with these bytes (see :class:`Fingerprint`'s ``context``)."""
    plan = _plan(ctx.transport, c2s[0] if c2s else NO_BYTE, s2c[0] if s2c else NO_BYTE)
    for fingerprint in plan:
        try:
            found = fingerprint.check(c2s, s2c, ctx)
        except (IndexError, ValueError, struct.error, UnicodeError):
            # A fingerprint meeting bytes it did not expect has not matched;
            # hostile payloads must never stop the run (tests fuzz each check).
            continue
        if found is not None:
            return found, not fingerprint.context
    return None, True


def _identify(c2s: bytes, s2c: bytes, ctx: Context) -> tuple[Evidence, bool]:
    """:func:`identify` on non-empty bytes, and whether the result holds for
    any flow of this transport with these bytes, whatever its ports."""
    found, portable = _run(c2s, s2c, ctx)
    if found is None and s2c:
        # Matched only with the directions exchanged: the side taken for the
        # server sent what the fingerprint expects from a client.
        swapped = Context(ctx.transport, ctx.server_port, ctx.client_port, ctx.server_ip)
        found, portable = _run(s2c, c2s, swapped)
        if found is not None:
            found = replace(found, roles_reversed=not found.roles_reversed)
    if found is None:
        return UNKNOWN, True
    if found.detail is not None and len(found.detail) > MAX_DETAIL:
        found = replace(found, detail=found.detail[: MAX_DETAIL - 3] + "...")
    return found, portable


def identify(
    c2s: bytes | None,
    s2c: bytes | None,
    *,
    transport: str,
    client_port: int,
    server_port: int,
    server_ip: str | None = None,
) -> Evidence:
    """Name the protocol the first payload bytes of a flow actually speak.

    ``c2s`` and ``s2c`` are the first bytes the client and the server sent.  The
    result's ``protocol`` is None when no fingerprint matched; it is never
    guessed from the port.  When the flow stage may have taken the server for
    the client (a capture that starts mid-conversation), the directions are
    tried the other way round as well.
    """
    c2s = b"" if c2s is None else bytes(c2s)
    s2c = b"" if s2c is None else bytes(s2c)
    if not c2s and not s2c:
        return UNKNOWN
    ctx = Context(transport.lower(), int(client_port), int(server_port), server_ip)
    return _identify(c2s, s2c, ctx)[0]


#: Payload bytes the memo of :func:`fingerprint_payloads` may hold as keys.
MEMO_BYTES = 8 * 1024 * 1024


class _Memo:
    """Results of payload pairs already fingerprinted in this process.

    A flood or a scan sends the same first bytes in flow after flow (a flood
    tool's fixed datagram, one probe sent to every address): each distinct
    pair is fingerprinted once.  Only results that hold whatever the ports are kept.
    The keys hold at most ``budget`` payload bytes; past it the memo starts
    again empty, so hostile input can make it miss, never grow.  Keys hash
    with Python's keyed string hash.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.table: dict[tuple[str, bytes, bytes], Evidence | None] = {}
        self.held = 0

    def put(self, key: tuple[str, bytes, bytes], result: Evidence | None) -> None:
        size = len(key[1]) + len(key[2])
        if self.held + size > self.budget:
            self.table.clear()
            self.held = 0
        if size <= self.budget:
            self.table[key] = result
            self.held += size


_MEMO = _Memo(MEMO_BYTES)
#: What the memo answers for a pair it does not hold (compared by identity).
_MISS = Evidence(None, detail="not in the memo")


def fingerprint_payloads(
    transport: np.ndarray,
    client_port: np.ndarray,
    server_port: np.ndarray,
    server_ip: np.ndarray,
    c2s: np.ndarray,
    s2c: np.ndarray,
) -> list[Evidence | None]:
    """Fingerprint aligned rows of first payload bytes; None where nothing matched.

    This is the fingerprinter the flow stage calls as each flow's payload
    completes (:mod:`annotator.flows.early`), so the bytes need not be held
    until the end of the read.  Results are plain picklable values, without
    the parsed ``fields`` (see :data:`_NO_FIELDS`).  A pair of payloads seen
    before with the same transport takes the result it had then (see
    :class:`_Memo`): rows may share one result object, which is frozen.
    """
    out: list[Evidence | None] = []
    memo = _MEMO
    for t, cp, sp, ip, a, b in zip(
        transport.tolist(), client_port.tolist(), server_port.tolist(), server_ip.tolist(),
        c2s, s2c, strict=True,
    ):  # fmt: skip
        if not a and not b:
            out.append(None)
            continue
        key = (str(t).lower(), b"" if a is None else bytes(a), b"" if b is None else bytes(b))
        result = memo.table.get(key, _MISS)
        if result is _MISS:
            ctx = Context(key[0], cp, sp, ip if isinstance(ip, str) else None)
            found, portable = _identify(key[1], key[2], ctx)
            if found.protocol is None:
                result = None
            elif found.fields:
                # Built directly: dataclasses.replace costs five times as much.
                result = Evidence(found.protocol, found.server_name, found.detail, _NO_FIELDS,
                                  found.credentials, found.roles_reversed)  # fmt: skip
            else:
                result = found
            if portable:
                memo.put(key, result)
        out.append(result)
    return out


#: The flow table keeps protocol, server name, detail and the credentials flag;
#: the parsed ``fields`` (method, path, user agent...) of each flow cost about
#: 400 bytes a flow held until the read ends, so results here carry none.
#: :func:`identify` still returns them for callers who want them.
_NO_FIELDS: dict = {}


def evidence_frame(results: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """The evidence columns from per-row results (an Evidence or None each).

    Columns: observed_protocol, server_name, evidence_detail (str or None),
    cleartext_credentials and roles_reversed (bool), on ``index``.
    """
    n = len(results)
    protocol = np.full(n, None, dtype=object)
    server_name = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)
    credentials = np.zeros(n, dtype=bool)
    reversed_roles = np.zeros(n, dtype=bool)
    for i, found in enumerate(results):
        if found is not None and found.protocol is not None:
            protocol[i] = found.protocol
            server_name[i] = found.server_name
            detail[i] = found.detail
            credentials[i] = found.credentials
            reversed_roles[i] = found.roles_reversed
    return pd.DataFrame(
        {
            "observed_protocol": pd.Series(protocol, index=index, dtype=object),
            "server_name": pd.Series(server_name, index=index, dtype=object),
            "evidence_detail": pd.Series(detail, index=index, dtype=object),
            "cleartext_credentials": pd.Series(credentials, index=index, dtype=bool),
            "roles_reversed": pd.Series(reversed_roles, index=index, dtype=bool),
        },
        index=index,
    )


def fingerprint_flows(
    flows: pd.DataFrame, payload_c2s: np.ndarray, payload_s2c: np.ndarray
) -> pd.DataFrame:
    """Fingerprint every flow of a flow table.

    ``payload_c2s`` and ``payload_s2c`` are object arrays aligned with the rows
    of ``flows`` (which needs the columns transport, client_port, server_port
    and server_ip).  Returns a DataFrame on ``flows.index`` with the columns
    of :func:`evidence_frame`.  Flows without payload are skipped.
    """
    n = len(flows)
    results = np.full(n, None, dtype=object)
    if n:
        c2s = np.array([b"" if p is None else bytes(p) for p in payload_c2s] or [], dtype=object)
        s2c = np.array([b"" if p is None else bytes(p) for p in payload_s2c] or [], dtype=object)
        found = fingerprint_payloads(
            flows["transport"].to_numpy(dtype=object),
            flows["client_port"].to_numpy(dtype=np.int64),
            flows["server_port"].to_numpy(dtype=np.int64),
            flows["server_ip"].to_numpy(dtype=object),
            c2s,
            s2c,
        )
        results[:] = found
    return evidence_frame(results, flows.index)
