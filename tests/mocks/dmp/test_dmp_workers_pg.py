"""`segur serve dmp --workers 2` on PostgreSQL: a worker killed (kill -9) in the middle of a submission leaves
no half document while the other keeps serving, every acknowledged document is stored once; and a shared
instance with two tenants and two workers keeps each tenant's documents, journal and reset its own."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import threading
import time

import psycopg
import pytest
from dmp_helpers import ITI41, envelope, mtom, parse_answer, provide_and_register, served_dmp

from segur.mocks.dmp.client.metadata import metadata_from_cda

REPOSITORY = "/si-dmp-server/v2/services/repository"
COUNTED = ("submission_sets", "document_entries", "documents")


@pytest.fixture
def database(cluster, request) -> str:
    return cluster.create_database(f"dmp_workers_{request.node.name[5:40].lower()}")


def iti41_requests(case, count: int) -> list[tuple[str, str, bytes]]:
    """`(uniqueId, Content-Type, body)` of `count` ITI-41 submissions of one document each, built before the
    load starts (a signed VIHF each)."""
    built = []
    for _ in range(count):
        document = case.cda()
        request, by_id = case.submission([document])
        body, parts = provide_and_register(request, by_id)
        content_type, payload = mtom(envelope(ITI41, body, case.security()), parts)
        built.append((metadata_from_cda(document).unique_id, content_type, payload))
    return built


class Connection:
    """One keep-alive HTTP connection (so one worker: SO_REUSEPORT balances connections)."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> dict:
        self.http.request("GET", path)
        return json.loads(self.http.getresponse().read())

    def pid(self, prefix: str = "") -> int:
        return self.get(f"{prefix}/_admin/health")["pid"]

    def submit(self, path: str, content_type: str, body: bytes):
        self.http.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = self.http.getresponse()
        return parse_answer(response.status, response.getheader("Content-Type", ""), response.read())

    def close(self) -> None:
        self.http.close()


def connection_to(port: int, pid: int, prefix: str = "") -> Connection:
    for _ in range(200):
        connection = Connection(port)
        if connection.pid(prefix) == pid:
            return connection
        connection.close()
    raise AssertionError(f"no connection reached worker {pid}")


def worker_pids(port: int, connections: int = 30) -> set[int]:
    pids = set()
    for _ in range(connections):
        connection = Connection(port)
        pids.add(connection.pid())
        connection.close()
    return pids


def stored(database: str, tenant: str = "") -> dict:
    """What the database holds for a tenant: counts, and each document's uniqueId, SHA-1 and size checks."""
    with psycopg.connect(database) as db:
        counts = {table: db.execute(f"SELECT count(*) FROM dmp_{table} WHERE tenant = %s", (tenant,))
                  .fetchone()[0] for table in COUNTED}
        documents = db.execute("SELECT unique_id, sha1, size, content FROM dmp_documents WHERE tenant = %s",
                               (tenant,)).fetchall()
        entries = {row[0] for row in db.execute(
            "SELECT unique_id FROM dmp_document_entries WHERE tenant = %s", (tenant,))}
    whole = all(sha1 == hashlib.sha1(bytes(content)).hexdigest() and size == len(content)
                for _, sha1, size, content in documents)
    return {"counts": counts, "unique_ids": {row[0] for row in documents}, "entries": entries, "whole": whole}


def test_a_worker_killed_mid_submission_leaves_no_half_document_and_the_other_keeps_serving(
        tmp_path, pki, case, database):
    load, after = iti41_requests(case, 64), iti41_requests(case, 8)
    half_sent = iti41_requests(case, 1)[0]
    with served_dmp(tmp_path / "data", pki, "--workers", "2", "--store", database, "--no-validation",
                    timeout=90) as (process, port, lines):
        assert any("2 worker processes" in line for line in lines), lines
        victim, survivor = sorted(worker_pids(port))
        accepted: list[str] = []
        failed: list[str] = []

        def submit(unique_id: str, content_type: str, body: bytes) -> bool:
            connection = Connection(port)  # a new connection each time: spread over the workers
            try:
                answer = connection.submit(REPOSITORY, content_type, body)
            except (OSError, http.client.HTTPException):
                return False  # reset with the killed worker: never acknowledged
            finally:
                connection.close()
            return bool(answer.registry_status and answer.registry_status.endswith("Success"))

        killed = threading.Event()

        def client(share: list) -> None:
            for number, request in enumerate(share):
                if number == len(share) - 2:  # the last two wait for the kill: load before and after it,
                    killed.wait(120)          # however fast the first ones went (a loaded machine or not)
                (accepted if submit(*request) else failed).append(request[0])

        threads = [threading.Thread(target=client, args=(load[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(accepted) < 8 and time.monotonic() < deadline:  # the load is under way
            time.sleep(0.01)
        # mid-submission for certain: half of a request's body on the victim's connection, then kill -9
        on_victim = connection_to(port, victim)
        unique_id, content_type, body = half_sent
        on_victim.http.putrequest("POST", REPOSITORY)
        on_victim.http.putheader("Content-Type", content_type)
        on_victim.http.putheader("Content-Length", str(len(body)))
        on_victim.http.endheaders()
        on_victim.http.send(body[: len(body) // 2])
        os.kill(victim, signal.SIGKILL)
        killed.set()
        for thread in threads:
            thread.join(120)
        on_victim.close()
        # the other worker keeps serving: every submission after the kill is accepted (a connection the
        # kernel had queued on the dead worker's socket is reset with it: the client retries, once)
        for request in after:
            assert submit(*request) or submit(*request), "a submission after the kill was refused"
            accepted.append(request[0])
        assert survivor in worker_pids(port)
    found = stored(database)
    sent = {request[0] for request in load + after}
    assert unique_id not in found["unique_ids"] and unique_id not in found["entries"]  # no half document
    assert set(accepted) <= found["unique_ids"] <= sent  # every acknowledged one, nothing invented
    assert found["entries"] == found["unique_ids"] and found["whole"]  # each entry with its whole document
    assert set(found["counts"].values()) == {len(found["entries"])}  # one submission set per document
    assert len(accepted) + len(failed) == len(load) + len(after)


def test_a_shared_instance_with_two_tenants_and_two_workers_keeps_each_tenant_s_documents(
        tmp_path, pki, case, database):
    config = tmp_path / "shared.toml"
    config.write_text(f'[stack]\ntenants = true\nstore = "{database}"\n'
                      '[dmp]\nworkers = 2\nvalidation = false\n', encoding="utf-8")
    requests_of = {"ci-a": iti41_requests(case, 4), "ci-b": iti41_requests(case, 3)}
    with served_dmp(tmp_path / "data", pki, "--config", str(config), timeout=90) as (_, port, lines):
        assert any("2 worker processes" in line for line in lines), lines
        pids = sorted(worker_pids(port))
        assert len(pids) == 2
        for tenant, built in requests_of.items():
            for number, (_, content_type, body) in enumerate(built):  # alternately through each worker
                connection = connection_to(port, pids[number % 2])
                answer = connection.submit(f"/t/{tenant}{REPOSITORY}", content_type, body)
                connection.close()
                assert answer.registry_status.endswith("Success"), answer.data[:500]

        def listed(tenant: str, pid: int) -> set[str]:
            connection = connection_to(port, pid)
            patients = connection.get(f"/t/{tenant}/_admin/documents")["patients"]
            connection.close()
            return {d["unique_id"] for docs in patients.values() for d in docs}

        for tenant, built in requests_of.items():
            own = {unique_id for unique_id, _, _ in built}
            assert listed(tenant, pids[0]) == listed(tenant, pids[1]) == own  # either worker, same tenant
            journal = connection_to(port, pids[1]).get(f"/t/{tenant}/_admin/journal?operation=ITI-41")
            assert len(journal["entries"]) == len(built)  # journalled by both workers, read by one
        assert listed("ci-c", pids[0]) == set()
        reset = connection_to(port, pids[0])
        reset.http.request("POST", "/t/ci-a/_admin/reset")
        assert reset.http.getresponse().status == 200
        assert listed("ci-a", pids[1]) == set()  # reset through one worker, seen through the other
        assert listed("ci-b", pids[1]) == {unique_id for unique_id, _, _ in requests_of["ci-b"]}
    assert stored(database, "ci-a")["counts"] == dict.fromkeys(COUNTED, 0)
    assert stored(database, "ci-b")["counts"] == dict.fromkeys(COUNTED, 3)
    assert stored(database)["counts"] == dict.fromkeys(COUNTED, 0)  # the default tenant got nothing
