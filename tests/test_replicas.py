"""Reads from a streaming replica (docs/scaling.md): a private primary and its hot standby, a served
process reading from the standby; a client reads its own writes with the ``Provenance-LSN`` a write
answers, and the primary answers reads the replica cannot (down, lagging, behind the write asked for).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clusters import Postmaster, fetchval, replicated, until
from tests.helpers import bearer, claim_body, hop, inline, make_key, served_process, service_env

WRITES = 1000


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[tuple[Postmaster, Postmaster]]:
    """A migrated primary and its hot standby, streaming; both stopped after the test."""
    with replicated(tmp_path) as both:
        yield both


def metric(base: str, name: str, **labels: str) -> float:
    """The sample of ``name`` with these labels on the served process's /metrics; 0 if none."""
    page = httpx.get(f"{base}/metrics").text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in page.splitlines():
        if line.startswith(f"{name}{{{wanted}}} " if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def replica_env(primary: Postmaster, standby: Postmaster, **variables: str) -> dict[str, str]:
    return service_env(
        primary.url(), PROVENANCE_READ_DATABASE_URL=standby.url(), PROVENANCE_METRICS_PUBLIC="true", **variables
    )


def claim(text: str) -> dict[str, Any]:
    return claim_body(text, hop(inline("Patrick Ryder"), "told reporters"))


async def test_a_client_reads_its_own_writes_from_the_replica_a_thousand_times_with_none_stale(
    clusters: tuple[Postmaster, Postmaster],
) -> None:
    primary, standby = clusters
    key = await make_key(primary.url())
    stale: list[str] = []
    with served_process(env=replica_env(primary, standby)) as (_, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            for number in range(WRITES):
                written = await client.post("/claims", json=claim(f"claim {number}"))
                assert written.status_code == 201, written.text
                token = written.headers["provenance-lsn"]
                read = await client.get(f"/claims/{written.json()['id']}", headers={"Provenance-Read-After": token})
                if read.status_code != 200 or read.json()["text"] != f"claim {number}":
                    stale.append(f"{number}: {read.status_code} {read.text[:80]}")
        from_replica = metric(base, "provenance_reads_total", server="replica")
        from_primary = metric(base, "provenance_reads_total", server="primary")
    assert stale == []
    # The replica answered (almost) every read: the test would not notice a replica that is never used.
    assert from_replica + from_primary == WRITES
    assert from_replica >= 0.9 * WRITES, (from_replica, from_primary)


async def test_a_read_after_a_write_the_paused_replica_lacks_is_answered_by_the_primary(
    clusters: tuple[Postmaster, Postmaster],
) -> None:
    primary, standby = clusters
    key = await make_key(primary.url())
    await until(standby.url(), "SELECT count(*) = 1 FROM api_keys")
    with served_process(env=replica_env(primary, standby, PROVENANCE_READ_WAIT_MS="100")) as (_, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            await fetchval(standby.url(), "SELECT pg_wal_replay_pause()")
            written = await client.post("/claims", json=claim("written while the replica is paused"))
            assert written.status_code == 201, written.text
            path = f"/claims/{written.json()['id']}"
            # Without the token the replica answers as it is: the write is not there yet.
            assert (await client.get(path)).status_code == 404
            read = await client.get(path, headers={"Provenance-Read-After": written.headers["provenance-lsn"]})
            assert read.status_code == 200, read.text
            assert metric(base, "provenance_replica_fallbacks_total", reason="behind") == 1
            await fetchval(standby.url(), "SELECT pg_wal_replay_resume()")
            await until(standby.url(), "SELECT count(*) = 1 FROM claims")
            again = await client.get(path, headers={"Provenance-Read-After": written.headers["provenance-lsn"]})
            assert again.status_code == 200
            assert metric(base, "provenance_replica_fallbacks_total", reason="behind") == 1


async def test_a_replica_lagging_past_the_limit_leaves_reads_to_the_primary(
    clusters: tuple[Postmaster, Postmaster],
) -> None:
    primary, standby = clusters
    key = await make_key(primary.url())
    await until(standby.url(), "SELECT count(*) = 1 FROM api_keys")
    with served_process(env=replica_env(primary, standby, PROVENANCE_READ_MAX_LAG="0.5")) as (_, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            await fetchval(standby.url(), "SELECT pg_wal_replay_pause()")
            written = await client.post("/claims", json=claim("written while the replica lags"))
            path = f"/claims/{written.json()['id']}"
            deadline = time.monotonic() + 10
            # Once the write waits unreplayed past the limit, the primary answers, without a token too.
            while (await client.get(path)).status_code != 200:
                assert time.monotonic() < deadline, "reads stayed on the lagging replica"
                await asyncio.sleep(0.1)
            assert metric(base, "provenance_replica_fallbacks_total", reason="lagging") >= 1
            await fetchval(standby.url(), "SELECT pg_wal_replay_resume()")


async def test_a_replica_down_leaves_reads_to_the_primary_without_an_error(
    clusters: tuple[Postmaster, Postmaster], tmp_path: Path
) -> None:
    primary, standby = clusters
    key = await make_key(primary.url())
    standby.stop()
    log = tmp_path / "serve.log"
    env = replica_env(primary, standby)
    env["PROVENANCE_READ_DATABASE_URL"] = standby.url().replace("postgres@", "postgres:hunter2@")
    with served_process(env=env, log=log) as (_, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            written = await client.post("/claims", json=claim("written with the replica down"))
            token = {"Provenance-Read-After": written.headers["provenance-lsn"]}
            reads = [await client.get(f"/claims/{written.json()['id']}", headers=token) for _ in range(20)]
        assert [r.status_code for r in reads] == [200] * 20
        assert metric(base, "provenance_replica_fallbacks_total", reason="down") == 20
    output = log.read_text()
    assert output.count("reads go to the primary: the replica is not taking connections") == 1
    assert "hunter2" not in output


async def test_a_malformed_read_after_token_is_a_400(clusters: tuple[Postmaster, Postmaster]) -> None:
    primary, standby = clusters
    with served_process(env=replica_env(primary, standby)) as (_, base):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            answer = await client.get("/claims", headers={"Provenance-Read-After": "yesterday"})
    assert answer.status_code == 400
    assert "Provenance-Read-After" in answer.json()["detail"]


@pytest.mark.parametrize("token", ["yesterday", "0/", "1/2/3", "G/0"])
async def test_a_malformed_read_after_token_is_a_400_without_a_replica_too(
    client: httpx.AsyncClient, token: str
) -> None:
    answer = await client.get("/claims", headers={"Provenance-Read-After": token})
    assert answer.status_code == 400
    assert "Provenance-Read-After" in answer.json()["detail"]


async def test_without_a_replica_a_write_answers_no_token_and_a_read_sending_one_sees_the_write(
    client: httpx.AsyncClient,
) -> None:
    written = await client.post("/claims", json=claim("read on the primary"))
    assert written.status_code == 201, written.text
    assert "provenance-lsn" not in written.headers  # every read is the primary's: no round trip for a token
    read = await client.get(f"/claims/{written.json()['id']}", headers={"Provenance-Read-After": "0/16B3748"})
    assert read.status_code == 200
    assert "provenance-lsn" not in read.headers


async def test_the_audit_log_which_seals_before_it_reads_is_read_on_the_primary(
    clusters: tuple[Postmaster, Postmaster],
) -> None:
    primary, standby = clusters
    key = await make_key(primary.url())
    with served_process(env=replica_env(primary, standby)) as (_, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            written = await client.post("/claims", json=claim("an entry to seal"))
            answers = [await client.get(path) for path in ("/audit", "/audit/head", "/audit/verify")]
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        assert [e["entity_id"] for e in answers[0].json()["items"]][-1] == written.json()["id"]
        assert "Provenance-Read-After" not in str(httpx.get(f"{base}/schema/openapi.json").json()["paths"]["/audit"])


def test_a_misconfigured_replica_url_is_one_line_and_exit_2() -> None:
    env = {**os.environ, "PROVENANCE_READ_DATABASE_URL": "postgresql://desk:hunter2@db:54x2/provenance"}
    run = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    masked = "postgresql://desk:****@db:54x2/provenance"
    assert run.stderr.strip().splitlines() == [
        f"provenance: PROVENANCE_READ_DATABASE_URL='{masked}': the port of 'db:54x2' is not a number"
    ]


async def test_an_empty_read_after_is_no_token_and_a_malformed_one_is_a_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sources", headers={"Provenance-Read-After": ""})).status_code == 200
    refused = await client.get("/sources", headers={"Provenance-Read-After": "yesterday"})
    assert refused.status_code == 400 and "Provenance-Read-After" in refused.json()["detail"]
