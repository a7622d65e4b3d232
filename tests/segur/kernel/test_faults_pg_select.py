"""The PostgreSQL fault book reads the faults in force outside its lock: two requests of one worker
wait for the database at the same time, not one behind the other."""

from __future__ import annotations

import threading

from segur.kernel.faults_pg import PostgresFaultBook

KINDS = {"teapot": {"status": 418}}


def test_two_threads_read_the_faults_at_once_and_each_is_hit(cluster):
    book = PostgresFaultBook("svc", cluster.create_database("faults_select"), KINDS)
    book.add({"kind": "teapot", "count": 2})
    both_reading = threading.Barrier(2, timeout=20)
    read = book.list

    def list_when_both_read():
        found = read()
        both_reading.wait()  # broken (BrokenBarrierError) if the other thread cannot read meanwhile
        return found

    book.list = list_when_both_read
    hits: list[int] = []
    threads = [threading.Thread(target=lambda: hits.append(len(book.select("search")))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert hits == [1, 1] and not both_reading.broken
    assert read() == []  # the count is used up: two hits, the row gone


def test_a_call_no_fault_applies_to_draws_nothing_from_the_generator(cluster):
    book = PostgresFaultBook("svc", cluster.create_database("faults_no_draw"), KINDS, seed=3)
    book.add({"kind": "teapot", "operation": "verify", "ratio": 0.5})
    state = book._rng.getstate()
    assert book.select("search") == []
    assert book._rng.getstate() == state
