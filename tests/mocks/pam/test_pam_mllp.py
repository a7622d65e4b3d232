"""MLLP framing and bad input on the wire: each broken stream gets the answer MLLP allows (an AR when the
peer waits for one, nothing when it cannot), is journalled, and the listener keeps serving."""

from __future__ import annotations

import socket
import threading

import pytest
from pam_helpers import adt, err_rules, msa1

from segur.mocks.pam import mllp
from segur.mocks.pam.testing import read_reply, running_pam

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def _framed(control: str = "MSG0001") -> bytes:
    return mllp.frame(adt(control=control).encode("utf-8"))


def _still_serving(pam) -> None:
    assert msa1(pam.send(adt(control="AFTER"))) == "AA"


# --- the reader alone -----------------------------------------------------------------------------

def test_the_reader_cuts_blocks_split_across_packets():
    reader = mllp.FrameReader()
    data = _framed("A") + _framed("B")
    events = [e for i in range(0, len(data), 7) for e in reader.feed(data[i:i + 7])]
    assert [e.kind for e in events] == [mllp.FRAME, mllp.FRAME]
    assert b"|A|" in events[0].data and b"|B|" in events[1].data
    assert reader.close() == []


def test_the_reader_names_a_block_without_start_and_one_without_end():
    reader = mllp.FrameReader()
    (no_start,) = reader.feed(b"MSH|x" + FS + CR)
    assert (no_start.kind, no_start.answerable) == (mllp.NO_START, True)
    (unterminated,) = reader.feed(VT + b"MSH|partial" + VT + b"MSH|whole" + FS + CR)[:1]
    assert unterminated.kind == mllp.UNTERMINATED


def test_the_reader_skips_an_oversize_block_to_its_end_and_goes_on():
    reader = mllp.FrameReader(max_size=100)
    oversize = reader.feed(VT + b"x" * 500) + reader.feed(b"y" * 500 + FS + CR)
    events = oversize + reader.feed(mllp.frame(b"MSH|ok"))
    assert [e.kind for e in events] == [mllp.OVERSIZE, mllp.FRAME]


def test_the_reader_reports_a_block_cut_by_the_close():
    reader = mllp.FrameReader()
    assert reader.feed(VT + b"MSH|half") == []
    (event,) = reader.close()
    assert (event.kind, event.answerable) == (mllp.TRUNCATED, False)


def test_blank_bytes_between_blocks_are_no_error():
    reader = mllp.FrameReader()
    events = reader.feed(_framed() + b"\r\n" + _framed("B"))
    assert [e.kind for e in events] == [mllp.FRAME, mllp.FRAME]


# --- bad input on the wire ------------------------------------------------------------------------

def test_a_message_without_start_block_is_answered_ar(pam):
    with pam.connect() as sock:
        sock.sendall(adt().encode("utf-8") + FS + CR)
        ack = read_reply(sock)
    assert msa1(ack) == "AR" and err_rules(ack) == ["PAM-MLLP-01"]
    _still_serving(pam)


def test_a_block_without_end_before_the_next_one_is_answered_ar_then_the_next_aa(pam):
    with pam.connect() as sock:
        sock.sendall(VT + adt(control="CUT").encode("utf-8") + _framed("NEXT"))
        first, second = read_reply(sock), read_reply(sock)
    assert err_rules(first) == ["PAM-MLLP-02"]
    assert msa1(second) == "AA" and "|NEXT" in second


def test_garbage_between_blocks_is_journalled_and_the_next_block_answered(pam):
    with pam.connect() as sock:
        sock.sendall(_framed("ONE") + b"\x00garbage\xff" + _framed("TWO"))
        assert "|ONE" in read_reply(sock)
        assert "|TWO" in read_reply(sock)
    assert [e.rules for e in pam.journal.entries(operation="mllp")] == [["PAM-MLLP-01"]]


def test_a_non_hl7_payload_in_a_block_is_rejected(pam):
    with pam.connect() as sock:
        sock.sendall(mllp.frame(b"\x89PNG\r\n\x1a\n\x00\x00binary"))
        ack = read_reply(sock)
    assert msa1(ack) == "AR" and err_rules(ack) == ["PAM-MSH-01"]
    _still_serving(pam)


def test_an_oversize_block_is_answered_ar_and_the_connection_goes_on(pam):
    limit = pam.service.config.max_message_size
    with pam.connect() as sock:
        sock.sendall(VT + b"MSH|" + b"x" * (limit + 10) + FS + CR + _framed("NEXT"))
        first, second = read_reply(sock), read_reply(sock)
    assert err_rules(first) == ["PAM-MLLP-04"]
    assert str(limit) in first
    assert msa1(second) == "AA"


def test_a_connection_closed_mid_block_is_journalled(pam):
    with pam.connect() as sock:
        sock.sendall(VT + b"MSH|^~\\&|half a mess")
    _still_serving(pam)
    (entry,) = pam.journal.entries(operation="mllp")
    assert entry.rules == ["PAM-MLLP-03"] and entry.meta["framing"] == mllp.TRUNCATED


def test_a_missing_cr_after_fs_is_a_warning(pam):
    with pam.connect() as sock:
        sock.sendall(VT + adt().encode("utf-8") + FS + _framed("NEXT"))
        first, second = read_reply(sock), read_reply(sock)
    assert msa1(first) == "AA" and err_rules(first) == ["PAM-MLLP-05"]
    assert msa1(second) == "AA"


def test_many_messages_on_one_connection_each_get_their_ack(pam):
    with pam.connect() as sock:
        sock.sendall(b"".join(_framed(f"N{i:03d}") for i in range(50)))
        acks = [read_reply(sock) for _ in range(50)]
    assert [a.split("MSA|AA|")[1][:4] for a in acks] == [f"N{i:03d}" for i in range(50)]


def test_concurrent_connections_are_served_at_once(pam):
    results: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        ack = pam.send(adt(control=f"C{number:02d}"), timeout=20)
        with lock:
            results.append(msa1(ack))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["AA"] * 12
    assert len(pam.journal.entries(operation="ADT^A28")) == 12


def test_a_silent_connection_is_closed_after_the_idle_timeout():
    with running_pam(idle_timeout=1) as pam, pam.connect(timeout=10) as sock:
        assert sock.recv(10) == b""  # closed by the mock, not by our timeout


@pytest.mark.parametrize("url", ["http://h:1", "mllp://h", "mllp://:1", "mllp://h:port"])
def test_a_bad_mllp_address_is_refused(url):
    with pytest.raises(ValueError):
        mllp.parse_url(url)


def test_an_mllp_address_is_read():
    assert mllp.parse_url("mllp://127.0.0.1:2575") == ("127.0.0.1", 2575)
    assert mllp.parse_url("mllp://[::1]:2575/") == ("::1", 2575)


def test_a_peer_that_never_answers_times_out():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with pytest.raises(mllp.MllpTimeout):
            mllp.exchange("127.0.0.1", server.getsockname()[1], b"MSH|", timeout=0.3)


def test_stopping_the_mock_hangs_up_the_open_connections():
    with running_pam() as pam:
        sock = pam.connect(timeout=10)
        sock.sendall(_framed())
        assert msa1(read_reply(sock)) == "AA"  # the connection is being served
    with sock:
        assert sock.recv(10) == b""


def test_garbage_alone_then_a_close_is_journalled_without_answer(pam):
    with pam.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""
    _still_serving(pam)
    (entry,) = pam.journal.entries(operation="mllp")
    assert entry.rules == ["PAM-MLLP-01"] and entry.meta["ack"] is None
