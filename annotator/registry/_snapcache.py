"""A compact binary copy of the parsed bundled snapshot, kept in the cache folder.

Parsing the snapshot's CSV (csv module, row checks, markers derived from the
words) and building its slot table cost more than reading a capture of a few
hundred packets, on every run of ``annotate``.  The first run therefore saves
what the parse produced, column by column, plus the (transport, port) table,
in a plain ``.npz`` file (``allow_pickle=False``: numbers and UTF-8 bytes only,
so a tampered file can give wrong data at worst, never run code); later runs
load it in a few milliseconds.

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
from annotator.registry.model import Registry, RegistryMeta

#: Bump when what is stored, or how the parse turns text into columns, changes.
FORMAT = 1
#: Separator of the cells of a text column stored as one UTF-8 string.
_SEP = "\x1f"
_INTS = ("port_lo", "port_hi", "order")
_BOOLS = ("historic", "deassigned", "discouraged", "widely_used")
_OPTIONAL_TEXT = ("deassigned_date",)
_TEXTS = tuple(f for f in FIELDS if f not in _INTS + _BOOLS + _OPTIONAL_TEXT)


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
        columns: dict[str, list] = {}
        for name in _TEXTS:
            columns[name] = _split(arrays[name], n)
        for name in _OPTIONAL_TEXT:
            text, present = _split(arrays[name], n), arrays[f"{name}_present"].tolist()
            columns[name] = [t if p else None for t, p in zip(text, present, strict=True)]
        for name in _INTS:
            if arrays[name].dtype != np.int64:
                return None
            values = arrays[name].tolist()
            columns[name] = values if name == "order" else [v if v >= 0 else None for v in values]
        for name in _BOOLS:
            columns[name] = arrays[name].astype(bool).tolist()
        meta_doc = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        table, members, offsets = arrays["table"], arrays["members"], arrays["offsets"]
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):
        return None
    if any(len(columns[name]) != n for name in FIELDS) or table.shape != (4, 65536):
        return None
    meta = RegistryMeta(format=meta_doc["format"], skipped_rows=meta_doc["skipped_rows"])
    meta.skipped_reasons = list(meta_doc["skipped_reasons"])
    registry = Registry.from_columns(RecordColumns(**columns), meta)
    registry._adopt_table(table.astype(np.int32), members.astype(np.int64), offsets)
    return registry


def store(path: Path, registry: Registry) -> None:
    """Save ``registry`` (column-wise loaded) at ``path``; silently skip when impossible."""
    cols = registry._columns
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix="snapshot-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, **arrays)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        for stale in path.parent.glob("snapshot.*.npz"):  # copies of other snapshots
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        return  # a read-only or unusable cache folder: the next run parses again


def _split(data: np.ndarray, n: int) -> list[str]:
    """The ``n`` cells of a text column stored as one separated UTF-8 string."""
    if data.dtype != np.uint8:
        raise ValueError("text column is not bytes")
    cells = data.tobytes().decode("utf-8").split(_SEP)
    if len(cells) != n:
        raise ValueError("text column has the wrong length")
    return cells
