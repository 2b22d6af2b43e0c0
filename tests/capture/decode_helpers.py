"""Small helpers shared by the decoder tests."""

from __future__ import annotations

from collections.abc import Sequence

from annotator.capture.columns import PacketBatch
from annotator.capture.decode import Decoder

from .craft import record_batch


def decode(frames: Sequence[bytes], link_type: int | Sequence[int] = 1) -> PacketBatch:
    """Decode ``frames`` with a fresh decoder."""
    return Decoder().decode(record_batch(frames, link_type))


def row(batch: PacketBatch, i: int = 0) -> dict:
    """Packet ``i`` as a plain dict, with ``text`` the label for kinds 1 and 2."""
    out = {name: int(col[i]) for name, col in batch.columns.items()}
    out["text"] = batch.labels[out["label"]] if out["kind"] != 0 else None
    return out


def label(batch: PacketBatch, i: int = 0) -> str | None:
    """The label text of packet ``i`` (None for flow packets)."""
    return row(batch, i)["text"]
