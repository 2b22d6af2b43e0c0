"""Flow aggregation on synthetic packet batches: keys, splits, direction, payload."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.errors import UsageError
from annotator.flows import keys as keys_module
from annotator.flows.aggregate import FlowAggregator
from annotator.flows.finish import finish_flows

from .conftest import FakeRegistry, build_batch


def flows_of(packets, *, batches=None, registry=None, **agg_options):
    """Aggregate packets (optionally cut into batches at the given indices)."""
    agg = FlowAggregator(**agg_options)
    cuts = [0, *(batches or []), len(packets)]
    for lo, hi in itertools.pairwise(cuts):
        if hi > lo:
            agg.add(build_batch(packets[lo:hi], first_frame=lo + 1))
    return finish_flows(agg, ["t.pcap"], registry)


def tcp(src, sport, dst, dport, t, flags="A", **kw):
    return dict(src=src, sport=sport, dst=dst, dport=dport, t=t, flags=flags, **kw)


def udp(src, sport, dst, dport, t, **kw):
    return dict(src=src, sport=sport, dst=dst, dport=dport, t=t, proto="udp", **kw)


C, S = "192.0.2.10", "198.51.100.20"


def test_both_directions_make_one_flow_with_counts_per_side():
    pk = [
        tcp(C, 40000, S, 443, 1.0, "S", wire=74),
        tcp(S, 443, C, 40000, 1.1, "SA", wire=74),
        tcp(C, 40000, S, 443, 1.2, "A", wire=66),
        tcp(C, 40000, S, 443, 1.3, "PA", payload=b"x" * 100),
        tcp(S, 443, C, 40000, 1.5, "FA", wire=66),
    ]
    flows, _, _ = flows_of(pk)
    assert len(flows) == 1
    f = flows.iloc[0]
    assert (f.client_ip, f.client_port, f.server_ip, f.server_port) == (C, 40000, S, 443)
    assert (f.packets, f.packets_c2s, f.packets_s2c) == (5, 3, 2)
    assert (f.bytes_c2s, f.bytes_s2c, f.bytes) == (74 + 66 + 160, 140, 440)
    assert f.tcp_flags == "SYN,ACK,PSH,FIN"
    assert f.direction_basis == "handshake"
    assert f.duration_s == pytest.approx(0.5)
    assert str(f.first_seen) == "1970-01-01 00:00:01+00:00"
    assert f.first_frame == 1


def test_syn_ack_alone_names_its_sender_the_server():
    # Only the SYN+ACK was captured, from the high port: it is still the server.
    flows, _, _ = flows_of([tcp(C, 50000, S, 40001, 1.0, "SA"), tcp(S, 40001, C, 50000, 1.1)])
    f = flows.iloc[0]
    assert (f.server_ip, f.server_port, f.direction_basis) == (C, 50000, "handshake")


def test_registry_rule_picks_the_assigned_port():
    reg = FakeRegistry({(5000, 1)})  # udp/5000 assigned, udp/1000 not
    flows, _, _ = flows_of([udp(C, 5000, S, 1000, 1.0)], registry=reg)
    f = flows.iloc[0]
    assert (f.server_port, f.client_port, f.direction_basis) == (5000, 1000, "registry")
    # Both assigned: the registry does not decide, port class does.
    flows, _, _ = flows_of(
        [udp(C, 5000, S, 1000, 1.0)], registry=FakeRegistry({(5000, 1), (1000, 1)})
    )
    assert (flows.iloc[0].server_port, flows.iloc[0].direction_basis) == (1000, "port-class")


def test_port_class_rule_user_port_beats_dynamic_and_system_beats_user():
    flows, _, _ = flows_of([udp(S, 50000, C, 8080, 1.0), udp(S, 1023, C, 1024, 2.0)])
    assert flows.server_port.tolist() == [8080, 1023]
    assert flows.client_ip.tolist() == [S, C]
    assert set(flows.direction_basis) == {"port-class"}


def test_lower_port_rule_within_one_class():
    flows, _, _ = flows_of([udp(C, 40001, S, 3000, 1.0)])
    f = flows.iloc[0]
    assert (f.server_port, f.client_port, f.direction_basis) == (3000, 40001, "lower-port")


def test_first_packet_rule_when_ports_are_equal():
    flows, _, _ = flows_of([udp(S, 500, C, 500, 1.0), udp(C, 500, S, 500, 1.1)])
    f = flows.iloc[0]
    assert (f.client_ip, f.server_ip, f.direction_basis) == (S, C, "first-packet")
    assert (f.packets_c2s, f.packets_s2c) == (1, 1)


def test_udp_idle_gap_starts_a_new_flow_and_timeout_is_configurable():
    pk = [udp(C, 5353, S, 53, 0.0), udp(S, 53, C, 5353, 100.0), udp(C, 5353, S, 53, 300.0)]
    flows, _, _ = flows_of(pk)
    assert flows.packets.tolist() == [2, 1]
    flows, _, _ = flows_of(pk, idle_timeout={"udp": 500})
    assert flows.packets.tolist() == [3]
    flows, _, _ = flows_of(pk, idle_timeout=50)
    assert flows.packets.tolist() == [1, 1, 1]
    flows, _, _ = flows_of(pk, idle_timeout=float("inf"))
    assert flows.packets.tolist() == [3]
    for bad in (0, -5, float("nan"), "60", True, {"icmp": 10}):
        with pytest.raises(UsageError):
            FlowAggregator(idle_timeout=bad)


def test_new_syn_after_fin_or_rst_starts_a_new_flow_but_retransmitted_syn_does_not():
    pk = [
        tcp(C, 40000, S, 80, 1.0, "S"),
        tcp(S, 80, C, 40000, 1.1, "SA"),
        tcp(C, 40000, S, 80, 1.2, "FA"),
        tcp(S, 80, C, 40000, 1.3, "FA"),
        tcp(C, 40000, S, 80, 2.0, "S"),  # port reuse: a new connection
        tcp(C, 40000, S, 80, 3.0, "S"),  # its retransmission: same connection
        tcp(S, 80, C, 40000, 3.1, "RA"),
        tcp(C, 40000, S, 80, 4.0, "S"),  # after the RST: new again
    ]
    for cuts in ([], [4], [5], [2, 6, 7]):
        flows, _, _ = flows_of(pk, batches=cuts)
        assert flows.packets.tolist() == [4, 3, 1], cuts
        assert flows.first_frame.tolist() == [1, 5, 8]


def test_vlan_separates_flows_and_is_reported():
    pk = [udp(C, 40000, S, 53, 1.0, vlan=10), udp(C, 40000, S, 53, 1.1), udp(S, 53, C, 40000, 1.2)]
    flows, _, _ = flows_of(pk)
    assert flows.packets.tolist() == [1, 2]
    assert flows.vlan_id.tolist()[0] == 10 and flows.vlan_id.isna().tolist() == [False, True]


def test_ipv6_addresses_are_compressed_and_ipv4_dotted():
    flows, _, _ = flows_of(
        [udp("2001:db8:0:0::1", 4000, "2001:db8::ff", 53, 1.0), udp(C, 40000, S, 53, 2)]
    )
    assert flows.client_ip.tolist() == ["2001:db8::1", C]
    assert flows.ip_version.tolist() == [6, 4]


def test_payload_first_bytes_in_order_with_limits_across_batches():
    body = [bytes([65 + i]) * 700 for i in range(5)]
    pk = [tcp(C, 40000, S, 443, 1.0, "S"), tcp(S, 443, C, 40000, 1.1, "SA")]
    pk += [tcp(C, 40000, S, 443, 1.2 + i / 10, "PA", payload=b) for i, b in enumerate(body)]
    pk += [tcp(S, 443, C, 40000, 2.0 + i / 10, "PA", payload=b"s" * 200) for i in range(3)]
    expect_c2s = b"".join(body)[:2048]
    for cuts in ([], [3], [4, 6, 9]):
        _, c2s, s2c = flows_of(pk, batches=cuts)
        assert c2s[0] == expect_c2s
        assert s2c[0] == b"s" * 512
    agg = FlowAggregator(payload_c2s=3000, payload_s2c=256)
    agg.add(build_batch(pk))
    _, c2s, s2c = finish_flows(agg, ["t"], None, payload_c2s=3000, payload_s2c=256)
    assert c2s[0] == b"".join(body)[:3000] and s2c[0] == b"s" * 256


def test_community_id_matches_the_specification_vectors():
    pk = [
        tcp("128.232.110.120", 34855, "66.35.250.204", 80, 1.0, "S"),
        udp("192.168.1.52", 54585, "8.8.8.8", 53, 2.0),
    ]
    flows, _, _ = flows_of(pk)
    assert flows.community_id.tolist() == [
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
        "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
    ]


@pytest.mark.parametrize("batches", [None, [7, 14], [3, 10, 17], list(range(1, 21))])
def test_hash_collisions_never_merge_nor_split_conversations(monkeypatch, batches):
    # Seven conversations on one hash, their packets interleaved and cut into
    # batches: a later batch must find each live flow by its full key.
    monkeypatch.setattr(
        keys_module, "hash_key", lambda a_hi, *rest: np.zeros(len(a_hi), dtype=np.uint64)
    )
    pk = [udp(C, 1000 + i % 7, S, 53, 1.0 + i) for i in range(21)]
    flows, _, _ = flows_of(pk, batches=batches)
    assert sorted(flows.packets.tolist()) == [3] * 7
    assert sorted(flows.client_port.tolist()) == list(range(1000, 1007))


def _hashes(keys: list[tuple[int, int, int, int, int]]) -> list[int]:
    cols = [np.array(c, dtype=np.uint64) for c in zip(*keys, strict=True)]
    return keys_module.hash_key(*cols).tolist()


def test_the_flow_hash_has_no_collisions_that_hold_whatever_the_constants():
    # Summing the columns times odd constants made these keys collide for any
    # constants: the top bits of the two IPv6 interface identifiers flipped
    # (2**63 times an even sum of constants is 0 modulo 2**64), and the like.
    top = 1 << 63
    base = (0x20010DB800000001, 0x0000000000000001, 0x20010DB800000002, 0x0000000000000002,
            (17 << 48) | (40000 << 16) | 53)  # fmt: skip
    a_hi, a_lo, b_hi, b_lo, small = base
    crafted = [
        base,
        (a_hi, a_lo ^ top, b_hi, b_lo ^ top, small),
        (a_hi ^ top, a_lo, b_hi ^ top, b_lo, small),
        (a_hi ^ top, a_lo ^ top, b_hi, b_lo, small),
        (a_hi, a_lo, b_hi, b_lo ^ top, small ^ top),
    ]
    assert len(set(_hashes(crafted))) == len(crafted)


@settings(max_examples=200)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=5, max_size=5),
    st.integers(0, 4),
    st.integers(1, 2**64 - 1),
)
def test_keys_differing_in_one_column_never_share_a_hash(key, column, change):
    other = list(key)
    other[column] ^= change
    first, second = _hashes([tuple(key), tuple(other)])
    assert first != second


def reference_flows(packets, timeout):
    """Per-packet reference implementation of the flow rules (tests only)."""
    live, done = {}, []
    for i, p in enumerate(packets):
        a, b = (p["src"], p["sport"]), (p["dst"], p["dport"])
        key = (p.get("proto", "tcp"), *sorted([a, b]), p.get("vlan", -1))
        flags = p.get("flags", "") if key[0] == "tcp" else ""
        syn = "S" in flags and "A" not in flags
        f = live.get(key)
        if f is not None and (p["t"] - f["last"] > timeout or (syn and f["ended"])):
            done.append(live.pop(key))
            f = None
        if f is None:
            f = live[key] = {"first_frame": i + 1, "packets": 0, "bytes": 0, "ended": False}
        f["last"] = p["t"]
        f["packets"] += 1
        f["bytes"] += p.get("wire", 60 + len(p.get("payload", b"")))
        if syn:
            f["ended"] = False
        elif "F" in flags or "R" in flags:
            f["ended"] = True
    return sorted((f["first_frame"], f["packets"], f["bytes"]) for f in [*done, *live.values()])


@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_a_per_packet_reference_for_any_batching(seed):
    rng = random.Random(seed)
    hosts = ["10.0.0.1", "10.0.0.2", "fe80::1", "fe80::2"]
    pk, t = [], 0.0
    for _ in range(400):
        t += rng.choice([0.01, 0.5, 30.0, 200.0])
        src, dst = rng.sample(hosts[:2] if rng.random() < 0.6 else hosts[2:], 2)
        pk.append(
            dict(
                src=src,
                dst=dst,
                sport=rng.choice([80, 1234]),
                dport=rng.choice([80, 1234]),
                t=t,
                proto=rng.choice(["tcp", "udp"]),
                flags=rng.choice(["S", "SA", "A", "FA", "R"]),
                vlan=rng.choice([-1, 5]),
                wire=rng.randint(60, 1500),
            )
        )
    cuts = sorted(rng.sample(range(1, 400), rng.randint(0, 12)))
    flows, _, _ = flows_of(pk, batches=cuts, idle_timeout=100)
    got = sorted(zip(flows.first_frame, flows.packets, flows.bytes, strict=True))
    assert got == reference_flows(pk, 100)


def test_payload_gather_ways_agree():
    from annotator.flows import payload

    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, 5000, dtype=np.uint8)
    offs = rng.integers(0, 4000, 50)
    lens = rng.integers(1, 1000, 50).clip(max=5000 - offs)
    expected = b"".join(data[o : o + n].tobytes() for o, n in zip(offs, lens, strict=True))
    assert payload._gather(data, offs, lens) == expected  # joined slices
    assert payload._gather(data, offs, np.minimum(lens, 3)) == b"".join(
        data[o : o + min(n, 3)].tobytes() for o, n in zip(offs, lens, strict=True)
    )  # fancy index


def test_payload_without_handshake_is_kept_until_port_rules_decide():
    pk = [udp(S, 53, C, 40000, 1.0 + i / 10, payload=b"s" * 700) for i in range(4)]
    pk += [udp(C, 40000, S, 53, 2.0 + i / 10, payload=b"c" * 700) for i in range(4)]
    for cuts in ([], [2], [5]):
        flows, c2s, s2c = flows_of(pk, batches=cuts)
        assert flows.iloc[0].direction_basis == "port-class"
        assert (c2s[0], s2c[0]) == (b"c" * 2048, b"s" * 512)


def test_a_corrupt_far_future_timestamp_does_not_split_other_flows():
    pk = [udp(C, 40000, S, 53, 1.0 + i) for i in range(10)]
    pk.insert(5, udp(C, 40001, S, 53, 4e9))  # one record with a timestamp in 2096
    for cuts in ([], [3], [8]):
        flows, _, _ = flows_of(pk, batches=cuts)
        assert sorted(flows.packets.tolist()) == [1, 10], cuts


def test_live_table_reuses_slots_and_finds_keys():
    from annotator.flows.flowcols import empty_flows
    from annotator.flows.live import LiveTable

    def rows(hashes):
        r = empty_flows(len(hashes))
        r["h"][:] = hashes
        r["a_lo"][:] = hashes  # a key column that tells rows apart
        r["pk_ab"][:] = hashes
        return r

    def key(hashes):
        h = np.array(hashes, dtype=np.uint64)
        zero = np.zeros(len(h), dtype=np.uint64)
        return h, (zero, h, zero, zero, zero)

    table = LiveTable()
    table.insert(rows([30, 10, 20]))
    gone = table.remove(table.lookup(*key([10]))[0])
    assert gone["pk_ab"].tolist() == [10] and len(table) == 2
    table.insert(rows([5, 40]))  # one of them takes the freed slot
    slot, found = table.lookup(*key([5, 10, 20, 30, 40]))
    assert found.tolist() == [True, False, True, True, True]
    assert table.cols["pk_ab"][slot[found]].tolist() == [5, 20, 30, 40]
    assert sorted(table.rows()["pk_ab"].tolist()) == [5, 20, 30, 40]
    assert len(table.cols["h"]) == 1024  # no growth beyond the first allocation


def test_sctp_init_and_dccp_response_decide_direction():
    from annotator.capture.columns import HS_ACCEPT, HS_OPEN

    pk = [
        dict(src=S, sport=2905, dst=C, dport=3000, t=1.0, proto="sctp", hs=HS_OPEN),  # INIT
        dict(src=C, sport=3000, dst=S, dport=2905, t=1.1, proto="sctp", hs=HS_ACCEPT),
        dict(src=C, sport=5004, dst=S, dport=40000, t=2.0, proto="dccp", hs=HS_ACCEPT),  # Response
    ]
    flows, _, _ = flows_of(pk)
    assert flows.transport.tolist() == ["sctp", "dccp"]
    assert (flows.client_ip.tolist(), flows.server_ip.tolist()) == ([S, S], [C, C])
    assert flows.server_port.tolist() == [3000, 5004]
    assert set(flows.direction_basis) == {"handshake"}
    assert flows.tcp_flags.isna().all()
