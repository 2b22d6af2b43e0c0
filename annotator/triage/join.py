"""The registry join: each flow's (server port, transport) against the loaded registry.

Vectorized over the flow table: the registry resolves every (transport, port)
pair to a *slot* (the records that apply there, already ordered and with the
current name picked out), and the join is a ``take`` on the per-slot table.

Columns added to the flow table:

``port_class``
    RFC 6335 range of the server port: ``system`` (0-1023), ``user``
    (1024-49151) or ``dynamic`` (49152-65535).
``service`` / ``services``
    The current primary service name (never a historic alias) and every name
    registered there, in registry order.
``description``, ``registry_notes``, ``unauthorized_use``
    The registry's words for that port and transport, as categoricals (a
    text repeats on every flow of its port; null where the registry is
    silent).
``registry_status``
    ``assigned``, ``reserved``, ``unassigned``, ``historic`` (only de-assigned
    or historic records remain, and the port is not marked reserved) or
    ``dynamic`` (nothing is assigned in the dynamic range, so it is not
    "unassigned").
``registry_historic``
    True when records exist for the port and transport but every one is
    de-assigned or historic (a reserved port can be this too: 5030/tcp).
``other_transports``
    Transports for which this port does have a current assignment when this
    flow's transport has none (drives the ``transport-not-registered`` flag).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annotator._arrays import distinct
from annotator.registry import TRANSPORTS, Registry

TRANSPORT_CODE = {name: code for code, name in enumerate(TRANSPORTS)}
PORT_CLASSES = ("system", "user", "dynamic")
REGISTRY_STATUSES = ("assigned", "reserved", "unassigned", "historic", "dynamic")
#: The registry's texts joined to each flow (flow column -> slot table column).
TEXT_COLUMNS = {"description": "description", "registry_notes": "notes",
                "unauthorized_use": "unauthorized_use"}  # fmt: skip


def port_classes(ports: np.ndarray) -> np.ndarray:
    """RFC 6335 class of each port as an index into :data:`PORT_CLASSES`."""
    ports = np.asarray(ports, dtype=np.int64)
    return np.where(ports < 1024, 0, np.where(ports < 49152, 1, 2)).astype(np.int8)


def _blank(column: pd.Series) -> np.ndarray:
    """Where a slot table column is empty ("" or NA): reports want null there."""
    return pd.isna(column).to_numpy() | (column.astype(object) == "").to_numpy()


def _take(column: pd.Series, slots: np.ndarray, default: object = None) -> np.ndarray:
    """``column[slots]`` as an object array, with ``default`` where the slot is -1.

    Blank registry text ("" or NA) becomes ``default`` too: reports want null.
    The cleaning runs over the (small) slot table, never per flow.
    """
    values = column.to_numpy(dtype=object).copy()
    blank = _blank(column)
    values[blank] = default
    out = np.full(len(slots), default, dtype=object)
    hit = slots >= 0
    out[hit] = values[slots[hit]]
    return out


def _take_categorical(column: pd.Series, slots: np.ndarray) -> pd.Categorical:
    """``column[slots]`` as a categorical of strings, null where the slot is -1 or blank.

    The categories are the distinct texts of the slots the flows use, in
    sorted order, so a text is stored once whatever the number of flows and
    ``value_counts`` lists no text the capture does not show; codes are
    taken per flow, never the strings.  The categories are strings even when
    there are none, so the dtype (and a Parquet round trip) does not depend
    on the capture.
    """
    values = column.to_numpy(dtype=object)
    blank = _blank(column)
    used = distinct(slots[slots >= 0])
    used = used[~blank[used]]
    categories = pd.Index(sorted(set(values[used].tolist())), dtype="str")
    slot_codes = np.full(len(values), -1, dtype=np.int32)
    slot_codes[used] = categories.get_indexer(values[used])
    codes = np.full(len(slots), -1, dtype=np.int32)
    hit = slots >= 0
    codes[hit] = slot_codes[slots[hit]]
    return pd.Categorical.from_codes(codes, categories=categories)


def join_registry(flows: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Return ``flows`` with the registry columns described in the module docstring."""
    out = flows.copy(deep=False)  # copy-on-write: new columns leave the caller's frame alone
    n = len(out)
    ports = out["server_port"].to_numpy(dtype=np.int64, na_value=0)
    codes = out["transport"].astype(str).map(TRANSPORT_CODE).to_numpy(dtype=np.int64)
    slots = registry.slot_ids(ports, codes)
    table = registry.slots

    klass = port_classes(ports)
    out["port_class"] = pd.Categorical.from_codes(klass, categories=list(PORT_CLASSES))

    service = _take(table["service"], slots)
    services = _take(table["services"], slots)
    out["service"] = pd.array(service, dtype="string")
    # An object Series even with no flows (a bare empty list would be float64).
    out["services"] = pd.Series([list(s) if s else [] for s in services], index=out.index,
                                dtype=object)  # fmt: skip
    # The registry's long texts repeat on every flow of a port: as categories
    # each text is held once, not once a flow (http's notes are 1.5 kB).
    for column, source in TEXT_COLUMNS.items():
        out[column] = _take_categorical(table[source], slots)

    slot_status = _take(table["status"], slots, default="unassigned")
    historic_only = _take(table["historic_only"], slots, default=False).astype(bool)
    has_current = pd.notna(out["service"]).to_numpy()
    status = np.where(
        has_current,
        "assigned",
        np.where(
            slot_status == "reserved",
            "reserved",
            np.where(historic_only, "historic", "unassigned"),
        ),
    ).astype(object)
    status[(klass == 2) & ~has_current & (slots < 0)] = "dynamic"
    out["registry_status"] = pd.Categorical(status, categories=list(REGISTRY_STATUSES))
    out["registry_historic"] = historic_only & ~has_current

    # Where this transport has no current assignment, which others do?
    other = np.full(n, "", dtype=object)
    if n:
        for code, name in enumerate(TRANSPORTS):
            elsewhere = registry.assigned_mask(ports, np.full(n, code, dtype=np.int64))
            mark = elsewhere & ~has_current & (codes != code)
            other[mark] = np.where(other[mark] == "", name, other[mark] + "," + name)
    out["other_transports"] = pd.array([o or None for o in other], dtype="string")
    return out
