"""How a capture is read into flows: one frozen, checked set of options.

:class:`ReadOptions` is built once from the keywords of the public entry
points (:func:`annotator.annotate`, :func:`annotator.read_flows`,
:func:`annotator.dask.read_many`) and travels unchanged to every reader: the
files read in this process, in worker processes (``jobs``) and on Dask
workers.  It is checked when it is built, so a bad option is a one-line
:class:`~annotator.errors.UsageError` before any file is opened, and it
pickles, so it can go where the reading happens.

The registry (large, and sent to Dask workers once, not with every file)
and the progress callback (a closure, which does not pickle) travel beside
it, not in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from annotator.errors import UsageError
from annotator.flows.early import Fingerprinter
from annotator.flows.timeouts import timeout_table

#: Default first-payload limits (bytes).  2,048 client-to-server holds a whole
#: TLS ClientHello with its SNI, even with a post-quantum key share; 512
#: server-to-client holds a ServerHello's start, banners and status lines.
DEFAULT_PAYLOAD_C2S = 2048
DEFAULT_PAYLOAD_S2C = 512

#: The smallest limits allowed: below them the fingerprints that read the
#: first bytes (a ClientHello's SNI, a server's banner) would see too little.
MIN_PAYLOAD_C2S = 2048
MIN_PAYLOAD_S2C = 256

#: Seconds of silence after which a key starts a new flow: one number, a
#: mapping by transport, or None for the defaults.
IdleTimeout = float | Mapping[str, float] | None

#: ``progress(packets, stored_bytes)``: called as reading goes on with what was
#: read so far.  It travels beside the options, not in them: it does not pickle.
Progress = Callable[[int, int], None]


def _check_payload_limit(name: str, value: int, minimum: int) -> int:
    """A payload limit: an integer of at least ``minimum`` bytes, else a UsageError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer of at least {minimum} bytes")
    return value


def _check_positive_count(name: str, value: int) -> int:
    """A count of processes or readers: a positive integer, else a UsageError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer")
    return value


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """What shapes the reading of a capture or a capture set into flows.

    ``idle_timeout`` is seconds of silence after which a key starts a new
    flow: one number, a mapping by transport (``{"udp": 60}``), or None for
    :data:`annotator.flows.timeouts.DEFAULT_IDLE_TIMEOUT`.  ``payload_c2s``
    and ``payload_s2c`` bound the first payload bytes kept per flow (at least
    2,048 and 256).  ``bomb_guard=False`` lifts the decompression limits for
    compressed input.  ``sha256`` computes each file's SHA-256 as stored
    (``CaptureInfo.sha256``; None without it).  ``fingerprint`` (see
    :data:`annotator.flows.early.Fingerprinter`) turns each flow's first
    payload bytes into evidence as soon as they are complete, so they are not
    held to the end.  ``jobs`` is how many files of a set are read at once in
    separate processes; the result is the same for any number.  ``readers``
    is how many capture readers run at once on this machine (set by the
    process pool to its number of workers), so a reader knows whether a CPU
    is free for helper work such as hashing.

    Every check runs when the options are built; the messages are those of
    the keyword API (``payload_c2s must be an integer of at least 2048
    bytes``, ``jobs must be a positive integer``, ``idle_timeout for udp must
    be a positive number of seconds``).
    """

    idle_timeout: IdleTimeout = None
    payload_c2s: int = DEFAULT_PAYLOAD_C2S
    payload_s2c: int = DEFAULT_PAYLOAD_S2C
    bomb_guard: bool = True
    sha256: bool = True
    fingerprint: Fingerprinter | None = None
    jobs: int = 1
    readers: int = 1

    def __post_init__(self) -> None:
        _check_payload_limit("payload_c2s", self.payload_c2s, MIN_PAYLOAD_C2S)
        _check_payload_limit("payload_s2c", self.payload_s2c, MIN_PAYLOAD_S2C)
        _check_positive_count("jobs", self.jobs)
        _check_positive_count("readers", self.readers)
        timeout_table(self.idle_timeout)  # raises the UsageError naming the transport
        if isinstance(self.idle_timeout, Mapping):
            # A copy, so a caller changing its dict later changes nothing here.
            object.__setattr__(self, "idle_timeout", dict(self.idle_timeout))
        object.__setattr__(self, "bomb_guard", bool(self.bomb_guard))
        object.__setattr__(self, "sha256", bool(self.sha256))

    @property
    def payload_limits(self) -> tuple[int, int]:
        """``(payload_c2s, payload_s2c)``: the first bytes kept from the client and the server."""
        return (self.payload_c2s, self.payload_s2c)
