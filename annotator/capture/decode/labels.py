"""The label vocabulary: other-traffic names and undecodable reasons.

A :class:`~annotator.capture.columns.PacketBatch` stores a small integer per
packet in its ``label`` column; this vocabulary maps it to text.  One
:class:`Vocabulary` lives as long as one read of a capture, so an index means
the same thing in every batch, and it only ever grows.
"""

from __future__ import annotations

#: The ``label`` column is uint16; hostile input (random EtherTypes, address
#: families) could otherwise mint a new label per packet.  Past this size new
#: names fold into :data:`OVERFLOW_LABEL`.
MAX_LABELS = 60_000
OVERFLOW_LABEL = "other (too many distinct protocol names)"


class Vocabulary:
    """An append-only list of label strings with a reverse index."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def intern(self, name: str) -> int:
        """The index of ``name``, appending it the first time it is seen."""
        found = self._index.get(name)
        if found is not None:
            return found
        if len(self.names) >= MAX_LABELS and name != OVERFLOW_LABEL:
            return self.intern(OVERFLOW_LABEL)
        self._index[name] = len(self.names)
        self.names.append(name)
        return self._index[name]

    def __len__(self) -> int:
        return len(self.names)
