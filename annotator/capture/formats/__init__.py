"""Capture file formats: pcap and pcapng, plain or compressed, read into record batches.

The one entry point is :func:`open_capture`; everything else here is the
machinery behind it: :mod:`.reader` for the streaming design; :mod:`.stream`
for the byte stream under it, made of :mod:`.hashing` (the stored bytes and
their SHA-256) and :mod:`.compression` (decompression and its bomb guard);
:mod:`.pcap` and :mod:`.pcapng` for the formats; :mod:`.pywalk` for the
record walk and its compiled twins, ``_cwalk.c`` in C and :mod:`.numbawalk`
with numba, and :mod:`.engines` for which of them a read uses.
"""

from annotator.capture.formats.compression import (
    DEFAULT_MAX_DECOMPRESSED,
    DEFAULT_MAX_RATIO,
)
from annotator.capture.formats.reader import CaptureReader, open_capture
from annotator.capture.linktypes import link_type_name

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED",
    "DEFAULT_MAX_RATIO",
    "CaptureReader",
    "link_type_name",
    "open_capture",
]
