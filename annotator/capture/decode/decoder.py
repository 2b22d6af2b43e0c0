"""The :class:`Decoder`: RecordBatch in, PacketBatch out, stage after stage.

Stages, each vectorized over the packets still undecided:

1. link layer (:mod:`.link`), then stacked VLAN/MPLS/PPPoE/LLC headers
   (:mod:`.tags`);
2. network dispatch: IPv4, IPv6, or other traffic named from its EtherType
   or other code (:mod:`.nettypes`);
3. IPv4 (:mod:`.ipv4`) or IPv6 (:mod:`.ipv6`), then extension headers;
4. the four transports (:mod:`.transport`); every other IP protocol is other
   traffic named after its protocol number (:mod:`.ipprotos`);
5. later fragments take the ports of their first fragment (:mod:`.fragments`).

Tunnels are not entered: GRE, IP-in-IP (4, 41), ESP and the like are other
traffic under their own name, and VXLAN or any other UDP encapsulation is
simply a UDP flow.  Only the outermost transport counts, as in tshark's
per-frame ``tcp``/``udp`` fields.
"""

from __future__ import annotations

import numpy as np

from ..columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE, PacketBatch, RecordBatch
from .ethertypes import ETH_P_IPV4
from .fragments import DEFAULT_CAPACITY, FragmentTable
from .ipprotos import IPV6_EXTENSION_HEADERS, ip_protocol_name
from .ipv4 import FRAG_FIRST, FRAG_LATER, decode_ipv4
from .ipv6 import decode_ipv6, walk_extensions
from .labels import Vocabulary
from .link import decode_links
from .nettypes import IP_BY_VERSION, IPV4_CODES, IPV6_CODES, MPLS_PAYLOAD, network_name
from .packets import PENDING, Packets, u8
from .tags import walk_tags
from .transport import decode_transport

#: How many later fragments without a first fragment a decoder lists for a
#: merge (``keep_orphans``), as many as the first-fragment table holds.
MAX_LISTED_ORPHANS = DEFAULT_CAPACITY

#: About how many packets are decoded together in one pass of the stages
#: (see :meth:`Decoder.decode`; a slice holds at most 1.5 times this).
SLICE = 8192
TRANSPORTS = np.array([6, 17, 33, 132], dtype=np.int64)
#: Lookup tables over the 256 IP protocol numbers (a gather beats ``np.isin``).
IS_TRANSPORT = np.zeros(256, dtype=bool)
IS_TRANSPORT[TRANSPORTS] = True
FRAGMENT_KEY_PROTOS = IS_TRANSPORT.copy()  # a later fragment of these may belong to a flow
FRAGMENT_KEY_PROTOS[list(IPV6_EXTENSION_HEADERS)] = True


class Decoder:
    """Decodes the record batches of one capture read into packet columns.

    Keep one decoder per read: it holds the label vocabulary (so a label index
    means the same in every batch) and the first-fragment table (so fragments
    split across batches still find their flow).

    With ``hold_orphans``, a later fragment whose first fragment has not been
    seen yet is held back for one batch instead of being labelled at once:
    senders emit fragments in reverse order too, so its first fragment may
    open the next batch.  It comes out at the head of the next batch's
    columns (in its flow, or as other traffic when its first fragment did not
    come), and the caller must call :meth:`flush` after the last batch for
    the ones still held -- else they would be lost to the accounting.
    """

    def __init__(
        self,
        fragment_capacity: int = DEFAULT_CAPACITY,
        *,
        keep_orphans: bool = False,
        hold_orphans: bool = False,
    ) -> None:
        self._vocab = Vocabulary()
        self._fragments = FragmentTable(fragment_capacity)
        #: With ``keep_orphans``, later fragments whose first fragment was not
        #: seen are also listed here (one dict of columns per batch), so that
        #: a merge with the previous file of a capture set can attribute them
        #: (:mod:`annotator.flows.merge`).  They are still labelled other traffic.
        #: At most :data:`MAX_LISTED_ORPHANS` of them, the earliest: those are
        #: the ones near the file's start that the previous file's first
        #: fragments (a table of the same size) can claim, and a capture of
        #: millions of stray fragments must not make the list grow with them.
        self.orphans: list[dict[str, np.ndarray]] | None = [] if keep_orphans else None
        self._listed = 0
        self._hold = hold_orphans
        #: With ``hold_orphans``: the rows still held when :meth:`flush` found
        #: no first fragment for them (orphan columns, as in :attr:`orphans`,
        #: where they are not listed), for a merge to match with the first
        #: fragments that open the next file of a capture set; None when
        #: there were none.
        self.trailing: dict[str, np.ndarray] | None = None
        #: Each key's first first fragment in the first batch (see
        #: :meth:`FragmentTable.earliest`): what a row held at the end of the
        #: previous file would have met in one read.  None before a batch.
        self.leading: dict[bytes, tuple[int, int, int, int]] | None = None
        # The rows held back from the previous batch: its packet columns plus
        # "frag_id" and "frag_nh" (see :meth:`_release`).
        self._held: dict[str, np.ndarray] | None = None
        self._clock: int | None = None  # see _fragments_stage

    def fragment_state(self) -> list[tuple[bytes, tuple[int, int, int, int]]]:
        """The first fragments remembered so far, oldest first.

        Each is (key, (proto, sport, dport, timestamp in ns)).
        """
        return self._fragments.items()

    @property
    def labels(self) -> list[str]:
        """The label vocabulary so far (a copy)."""
        return list(self._vocab.names)

    def decode(self, batch: RecordBatch) -> PacketBatch:
        """Decode every record of ``batch``; each packet gets a kind and, if not a flow, a label."""
        pk = Packets(batch, self._vocab)
        firsts, laters = [], []
        # Slices keep the temporaries small (cache-resident, no page faults).
        # Equal slices of about SLICE packets: a batch a little over SLICE is
        # one slice, not a full one plus a sliver that pays the fixed cost of
        # every stage again.
        count = max(1, round(pk.n / SLICE))
        for k in range(count if pk.n else 0):
            lo, hi = pk.n * k // count, pk.n * (k + 1) // count
            first, later = _decode_slice(pk, np.arange(lo, hi))
            firsts.append(first)
            laters.append(later)
        orphans = np.zeros(0, dtype=np.intp)
        if pk.n:
            orphans = self._fragments_stage(pk, np.concatenate(firsts), np.concatenate(laters))
            if self.leading is None:
                self.leading = self._fragments.earliest()
            stray = np.flatnonzero(pk.cols["kind"] == PENDING)
            pk.finish(stray, KIND_UNDECODABLE, "not decoded")
        released = self._release() if self._held is not None else None
        if self._clock is not None:
            # Only once this batch's fragments and the held ones have met theirs.
            self._fragments.expire(self._clock)
            self._clock = None
        cols = pk.cols
        if self._hold and len(orphans):
            self._held = {c: v[orphans] for c, v in cols.items()}
            self._held["frag_id"] = pk.frag_id[orphans]
            self._held["frag_nh"] = pk.frag_nh[orphans]
            cols = {c: np.delete(v, orphans) for c, v in cols.items()}
        if released is not None:
            cols = {c: np.concatenate([released[c], v]) for c, v in cols.items()}
        return PacketBatch(columns=cols, data=batch.data, labels=list(self._vocab.names))

    def flush(self) -> PacketBatch:
        """The rows still held after the last batch, as other traffic (or an empty batch)."""
        empty = PacketBatch.empty()
        if self._held is not None:
            released = self._release(following=False)
            empty.columns = {c: released[c] for c in empty.columns}
        empty.labels = list(self._vocab.names)
        return empty

    def _release(self, following: bool = True) -> dict[str, np.ndarray]:
        """The held rows, those whose first fragment has come since taking its ports.

        Called after the new batch's fragments were matched (``following``:
        its first fragments are the ones that follow the held rows), or at
        the end with none to come.  The rest keep their other-traffic label
        (and are listed as orphans, or at the end kept as :attr:`trailing`).
        """
        held, self._held = self._held, None
        assert held is not None
        table = self._fragments
        keys = table.keys(held, held["frag_id"], held["frag_nh"], slice(None))
        if following:
            found, values = table.look_up_following(keys, held["ts_ns"])
        else:
            found, values = np.zeros(len(keys), dtype=bool), np.zeros((len(keys), 3), np.int64)
        held["kind"][found] = KIND_FLOW
        held["label"][found] = 0
        for column, value in zip(("proto", "sport", "dport"), values.T, strict=True):
            held[column][found] = value[found]
        held["payload_off"][:] = 0  # into the batch they came from; they carry no payload
        unmatched = np.flatnonzero(~found)
        if following:
            self._list_orphans(held, held["frag_id"], held["frag_nh"], unmatched)
        elif len(unmatched):
            self.trailing = _orphan_rows(held, held["frag_id"], held["frag_nh"], unmatched)
        return held

    def _list_orphans(
        self, cols: dict, frag_id: np.ndarray, frag_nh: np.ndarray, idx: np.ndarray
    ) -> None:
        """With ``keep_orphans``, list rows ``idx`` as later fragments whose first was not seen."""
        room = MAX_LISTED_ORPHANS - self._listed
        if self.orphans is not None and len(idx) and room > 0:
            idx = idx[:room]
            self.orphans.append(_orphan_rows(cols, frag_id, frag_nh, idx))
            self._listed += len(idx)

    def _fragments_stage(self, pk: Packets, first: np.ndarray, later: np.ndarray) -> np.ndarray:
        """Remember first fragments that became flow packets; attribute later ones.

        Returns the later fragments of a transport whose first fragment has
        not been seen (labelled other traffic; held back with ``hold_orphans``).
        """
        cols = pk.cols
        first = first[cols["kind"][first] == KIND_FLOW]
        table = self._fragments
        stamps = cols["ts_ns"][first]
        first_values = list(
            zip(*(cols[c][first].tolist() for c in ("proto", "sport", "dport")), stamps.tolist(),
                strict=True)
        )  # fmt: skip
        found, values = table.match_batch(
            table.keys(cols, pk.frag_id, pk.frag_nh, first), first_values, first,
            table.keys(cols, pk.frag_id, pk.frag_nh, later), cols["ts_ns"][later], later,
        )  # fmt: skip
        if len(first):
            # The table's clock: the median of these first fragments' times,
            # so one corrupt far-future timestamp cannot empty it.
            self._clock = int(np.median(stamps))
        if not len(later):
            return later
        hit = later[found]
        cols["kind"][hit] = KIND_FLOW
        cols["label"][hit] = 0
        for column, value in zip(("proto", "sport", "dport"), values.T, strict=True):
            cols[column][hit] = value[found]
        cols["payload_off"][hit] = pk.base[hit] + pk.pos[hit]
        cols["payload_len"][hit] = 0
        miss = later[~found]
        unseen = FRAGMENT_KEY_PROTOS[pk.frag_nh[miss]]
        orphans = miss[unseen]
        if not self._hold:  # held ones are listed when they are let go (_release)
            self._list_orphans(cols, pk.frag_id, pk.frag_nh, orphans)
        pk.finish_by(orphans, KIND_OTHER, cols["ip_version"][orphans], _unseen_name)
        rest = miss[~unseen]
        pk.finish_by(rest, KIND_OTHER, pk.frag_nh[rest], ip_protocol_name)
        return orphans


def _decode_slice(pk: Packets, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stages 1 to 4 for packets ``idx``; returns their first and later IP fragments."""
    idx = walk_tags(pk, decode_links(pk, idx))
    v4, v6 = _dispatch(pk, idx)
    ip = np.concatenate([decode_ipv4(pk, v4), decode_ipv6(pk, v6)])
    ip = walk_extensions(pk, ip)
    pk.cols["proto"][ip] = pk.nh[ip]
    frag = pk.frag[ip]
    later = frag == FRAG_LATER
    whole = ip[~later]
    transport = IS_TRANSPORT[pk.nh[whole]]
    decode_transport(pk, whole[transport])
    other = whole[~transport]
    pk.finish_by(other, KIND_OTHER, pk.nh[other], ip_protocol_name)
    return ip[frag == FRAG_FIRST], ip[later]


_ORPHAN_COLUMNS = (
    "ip_version",
    "src_hi",
    "src_lo",
    "dst_hi",
    "dst_lo",
    "vlan",
    "ts_ns",
    "wire_len",
    "frame",
)


def _orphan_rows(cols: dict, frag_id: np.ndarray, frag_nh: np.ndarray, idx: np.ndarray) -> dict:
    """Rows ``idx`` of later fragments with no first fragment, as orphan columns."""
    orphan = {c: cols[c][idx] for c in _ORPHAN_COLUMNS}
    orphan["frag_id"], orphan["frag_nh"] = frag_id[idx], frag_nh[idx]
    return orphan


def _unseen_name(version: int) -> str:
    return f"IPv{version} fragment, first fragment not seen"


def _dispatch(pk: Packets, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split packets into IPv4 and IPv6 candidates; name the rest as other traffic.

    Raw IP and the payload below an MPLS stack are told apart by the version
    nibble.  Raw IP with another version goes to the IPv4 decoder, which
    rejects it as "bad IP version N"; below MPLS it is other traffic "MPLS"
    (e.g. a pseudowire).
    """
    net = pk.net[idx]
    is_v4 = net == ETH_P_IPV4
    if is_v4.all():  # the common case, without the tests below
        return idx, idx[:0]
    for code in IPV4_CODES[1:]:
        is_v4 |= net == code
    is_v6 = net == IPV6_CODES[0]
    for code in IPV6_CODES[1:]:
        is_v6 |= net == code
    guess = (net == IP_BY_VERSION) | (net == MPLS_PAYLOAD)
    other = ~(is_v4 | is_v6 | guess)
    pk.finish_by(idx[other], KIND_OTHER, net[other], network_name)
    v4, v6 = idx[is_v4], idx[is_v6]
    if guess.any():
        g = pk.need(idx[guess], 1, "truncated IP header")
        version = u8(pk.data, pk.at(g)) >> 4
        not_ip = (pk.net[g] == MPLS_PAYLOAD) & (version != 4) & (version != 6)
        pk.finish(g[not_ip], KIND_OTHER, "MPLS")
        v6 = np.concatenate([v6, g[~not_ip & (version == 6)]])
        v4 = np.concatenate([v4, g[~not_ip & (version != 6)]])
    return v4, v6
