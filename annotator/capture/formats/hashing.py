"""The stored bytes of a capture, counted and hashed with SHA-256 as they are read.

While the stored (possibly compressed) bytes are read they are counted and fed
to SHA-256, so the report can name the exact file analysed without a second
pass over it: one pass reads the file once instead of twice.

SHA-256 is still a sizeable share of the work of a whole read, so large reads
are hashed on a helper thread (hashlib releases the GIL) while the main thread
walks and decodes -- when a CPU is free for it.  ``readers`` tells how many
capture readers run at once on this machine (``--jobs`` workers each say how
many there are): the helper thread is used only while the CPUs this process
may run on outnumber the readers.  Confined to one CPU (``taskset``, a
container's CPU set), or with as many readers as CPUs, each read is hashed at
once instead: the bytes are still in cache, and no thread competes for the
core.

The digest is known once the stored bytes have been read to their end
(:meth:`HashingRaw.drain` reads the rest of a regular file when reading
stopped early).  ``hashing=False`` (``--no-hash``) skips the digest for a user
who needs the core more than the provenance; the digest is then None.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: Reads at least this large are hashed on the helper thread (when it is used).
ASYNC_HASH_MIN = 1 << 20
# Hash jobs queued before the reader waits.  Each pending job keeps its read
# buffer alive (no copy), so this bounds how many old buffers the helper
# thread can pin, while still letting hashing overlap the walk.
_MAX_PENDING = 4


class HashingRaw(io.RawIOBase):
    """The stored bytes: counted and hashed as they are read, with a peeked prefix.

    ``prefix`` holds the bytes already read from ``fileobj`` to detect the
    compression; they are delivered (and hashed) first.  ``readers`` is the
    number of capture readers running at once on this machine (see the
    module's docstring).  ``stable`` says the caller never rewrites a buffer
    while a view of it is alive (the capture reader reuses a buffer only when
    nothing refers to it, and a pending hash job holds a view), so large
    reads can be hashed later on the helper thread without a copy; otherwise
    they are copied first.
    """

    def __init__(
        self, fileobj: BinaryIO, prefix: bytes, *, hashing: bool = True, readers: int = 1
    ) -> None:
        super().__init__()
        self._f = fileobj
        self._prefix = prefix
        self.count = 0
        self.eof = False
        self.stable = False
        self.hashing = hashing
        self._helper = hashing and _usable_cpus() > readers  # a CPU is free to hash on
        self._sha = hashlib.sha256()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()

    def _hash(self, data: memoryview) -> None:
        if not self.hashing:
            return
        if self._pool is None and (len(data) < ASYNC_HASH_MIN or not self._helper):
            self._sha.update(data)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        job = data if self.stable else bytes(data)
        self._pending.append(self._pool.submit(self._sha.update, job))
        while len(self._pending) > _MAX_PENDING:
            self._pending.popleft().result()

    def settle(self) -> None:
        """Wait for the pending hash jobs and stop the helper thread."""
        while self._pending:
            self._pending.popleft().result()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            if hasattr(self._f, "readinto"):
                n = self._f.readinto(view) or 0
            else:
                n = _read_into(self._f, view)
            if n == 0:
                self.eof = True
                return 0
        self._hash(view[:n])
        self.count += n
        return n

    def drain(self) -> None:
        """Read (and hash) whatever is left of the stored bytes."""
        self.stable = False  # the drain buffer is reused
        buf = bytearray(1 << 20)
        while not self.eof:
            self.readinto(buf)

    def hexdigest(self) -> str | None:
        """The SHA-256 of the bytes read so far; None when not hashing."""
        self.settle()
        return self._sha.hexdigest() if self.hashing else None

    def close(self) -> None:
        self.settle()
        super().close()


def _usable_cpus() -> int:
    """How many CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read_into(f: BinaryIO, view: memoryview) -> int:
    """``readinto`` for a file object that only has ``read``."""
    data = f.read(len(view))
    view[: len(data)] = data
    return len(data)
