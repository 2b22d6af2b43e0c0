"""A compact binary copy of the parsed bundled snapshot, kept in the cache folder.

Parsing the snapshot's CSV (csv module, row checks, markers derived from the
words) and building its slot table would otherwise be done on every run of
``annotate``, and can cost more than reading a small capture.  The first run
therefore saves what the parse produced, column by column, plus the
(transport, port) table, in a plain ``.npz`` file (``allow_pickle=False``:
numbers and UTF-8 bytes only, so a tampered file can give wrong data at
worst, never run code); later runs load arrays instead of parsing text.

The copy also holds each slot's "has a current assignment" mask, so a load
gives the port test that deciding flow direction needs without the text
cells: each text column is decoded and checked at load (a damaged copy still
falls back to the parse) but cut into one Python string per cell only when
the join columns or the records are first asked for.  ``read_flows`` never
asks, and so never holds those strings in memory.

Invalidation is by content: the file name carries a hash of the snapshot's
bytes, its metadata and :data:`FORMAT`, so a new package version or a changed
snapshot never reads an old copy.  Any problem reading or writing the copy
(a read-only cache folder, a truncated file) falls back to the parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from annotator.registry._columns import FIELDS, RecordColumns
from annotator.registry._registry import Registry
from annotator.registry.model import RegistryMeta

#: Bump when what is stored, or how the parse turns text into columns, changes.
FORMAT = 2
#: Separator of the cells of a text column stored as one UTF-8 string.
_SEP = "\x1f"
_INTS = ("port_lo", "port_hi", "order")
_BOOLS = ("historic", "deassigned", "discouraged", "widely_used")
_OPTIONAL_TEXT = ("deassigned_date",)
_TEXTS = tuple(f for f in FIELDS if f not in _INTS + _BOOLS + _OPTIONAL_TEXT)
#: The dtype each number column is saved with (a copy with others is not used).
_STORED = {**dict.fromkeys(_INTS, np.dtype(np.int64)), **dict.fromkeys(_BOOLS, np.dtype(bool))}


def cache_file(folder: Path, snapshot: bytes, info: bytes) -> Path:
    """Where the binary copy of this exact snapshot lives in ``folder``."""
    digest = hashlib.sha256(b"%d\0" % FORMAT + snapshot + b"\0" + info).hexdigest()
    return folder / f"snapshot.{digest[:20]}.npz"


def load(path: Path) -> Registry | None:
    """The registry stored at ``path`` (table already built), or None if unusable."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        n = int(arrays["n"][0])
        texts = {name: _text(arrays[name], n) for name in _TEXTS + _OPTIONAL_TEXT}
        present = {name: arrays[f"{name}_present"] for name in _OPTIONAL_TEXT}
        for name in _INTS + _BOOLS:
            if len(arrays[name]) != n or arrays[name].dtype != _STORED[name]:
                return None
        meta_doc = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        table, members, offsets = arrays["table"], arrays["members"], arrays["offsets"]
        current = arrays["current"]
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):
        return None
    if table.shape != (4, 65536) or any(len(p) != n for p in present.values()):
        return None
    if len(current) != len(offsets):
        return None
    if current.dtype != bool or current[-1]:
        return None

    def columns() -> RecordColumns:
        cells: dict[str, list] = {name: texts[name].split(_SEP) for name in _TEXTS}
        for name in _OPTIONAL_TEXT:
            split, kept = texts[name].split(_SEP), present[name].tolist()
            cells[name] = [t if p else None for t, p in zip(split, kept, strict=True)]
        for name in _INTS:
            values = arrays[name].tolist()
            cells[name] = values if name == "order" else [v if v >= 0 else None for v in values]
        for name in _BOOLS:
            cells[name] = arrays[name].tolist()
        return RecordColumns(**cells)

    meta = RegistryMeta(format=meta_doc["format"], skipped_rows=meta_doc["skipped_rows"])
    meta.skipped_reasons = list(meta_doc["skipped_reasons"])
    registry = Registry.from_column_loader(n, columns, meta)
    registry._adopt_table(table.astype(np.int32), members.astype(np.int64), offsets, current)
    return registry


def store(path: Path, registry: Registry) -> None:
    """Save ``registry`` (column-wise loaded) at ``path``; silently skip when impossible."""
    cols = registry._column_data()
    if cols is None:
        return
    arrays: dict[str, np.ndarray] = {"n": np.array([len(cols)], dtype=np.int64)}
    for name in _TEXTS + _OPTIONAL_TEXT:
        values = getattr(cols, name)
        if name in _OPTIONAL_TEXT:
            arrays[f"{name}_present"] = np.array([v is not None for v in values], dtype=bool)
            values = ["" if v is None else v for v in values]
        if not all(isinstance(v, str) and _SEP not in v for v in values):
            return  # not representable: keep parsing every time rather than store it wrong
        arrays[name] = np.frombuffer(_SEP.join(values).encode("utf-8"), dtype=np.uint8)
    for name in _INTS:
        arrays[name] = np.array([-1 if v is None else v for v in getattr(cols, name)], np.int64)
    for name in _BOOLS:
        arrays[name] = np.array(getattr(cols, name), dtype=bool)
    meta = registry.meta
    doc = {
        "format": meta.format,
        "skipped_rows": meta.skipped_rows,
        "skipped_reasons": meta.skipped_reasons,
    }
    arrays["meta"] = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    arrays["table"] = registry.table
    assert registry._slot_members is not None and registry._slot_offsets is not None
    arrays["members"] = registry._slot_members
    arrays["offsets"] = registry._slot_offsets
    assert registry._current is not None  # set with the table, built above
    arrays["current"] = registry._current
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix="snapshot-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, allow_pickle=False, **arrays)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        for stale in path.parent.glob("snapshot.*.npz"):  # copies of other snapshots
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        return  # a read-only or unusable cache folder: the next run parses again


def _text(data: np.ndarray, n: int) -> str:
    """A text column stored as one separated UTF-8 string, checked to hold ``n`` cells."""
    if data.dtype != np.uint8:
        raise ValueError("text column is not bytes")
    text = data.tobytes().decode("utf-8")
    if text.count(_SEP) != n - 1:
        raise ValueError("text column has the wrong length")
    return text
