from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.redis_server import REDIS_SERVER, RedisServer, free_port

from gateway.adapters.backends import open_store
from gateway.adapters.redis.pseudonyms import RedisStore
from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.core.pseudonyms.model import IdKind
from gateway.core.pseudonyms.store import Claim

CLAIM = [Claim(IdKind.UID, "index-of-1.2.3", "2.25.1", "sealed-1.2.3")]
PROPOSAL = ["2.25.1"]


async def test_a_sqlite_url_opens_the_embedded_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path / 'p.db'}")
    try:
        assert isinstance(store, SqliteStore)
        assert await store.claim("s", CLAIM) == PROPOSAL
        assert (tmp_path / "p.db").exists()
    finally:
        await store.aclose()


def test_a_gateway_on_the_embedded_store_does_not_load_redis(tmp_path: Path) -> None:
    """redis-py is some 6 MB of resident memory: the web application, the CLI and both SQLite stores are
    imported and opened in a fresh interpreter, and none of it is loaded."""
    script = (
        "import sys\n"
        "import gateway.cli, gateway.web.app\n"
        "from gateway.adapters.backends import open_governance, open_store\n"
        f"open_store('sqlite://{tmp_path / 'p.db'}'); open_governance('sqlite://{tmp_path / 'g.db'}')\n"
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith(('redis.', 'gateway.adapters.redis'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"


async def test_a_redis_url_opens_the_shared_store(redis_server: RedisServer) -> None:
    store = open_store(redis_server.url)
    try:
        assert isinstance(store, RedisStore)
        assert await store.claim("s", CLAIM) == PROPOSAL
        assert "127.0.0.1" not in repr(store)
    finally:
        await store.aclose()


@pytest.fixture
def sentinel_port(redis_server: RedisServer, tmp_path: Path) -> Iterator[int]:
    """A real Sentinel watching the test server as master 'pseudonyms'."""
    port = free_port()
    config = tmp_path / "sentinel.conf"  # Sentinel rewrites its config, so it must be its own file
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nsentinel monitor pseudonyms 127.0.0.1 {redis_server.port} 1\n"
    )
    process = subprocess.Popen([REDIS_SERVER, str(config), "--sentinel"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while "pseudonyms" not in _sentinel_masters(port):
            assert time.monotonic() < deadline, "sentinel did not start"
            time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait()


def _sentinel_masters(port: int) -> str:
    command = ["redis-cli", "-p", str(port), "SENTINEL", "MASTERS"]
    return subprocess.run(command, capture_output=True, text=True, timeout=5).stdout


async def test_a_sentinel_url_finds_the_master(sentinel_port: int, redis_server: RedisServer) -> None:
    store = open_store(f"redis+sentinel://127.0.0.1:{sentinel_port}/pseudonyms/0")
    try:
        assert await store.claim("s", CLAIM) == PROPOSAL
        assert "2.25.1" in redis_server.command("HGETALL", "gw:{s}:uid:index")
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:1/0",
        "rediss://127.0.0.1:1/0",
        "unix:///run/redis.sock?db=1",
        "redis+sentinel://127.0.0.1:26379,[::1]:26380/mymaster/2",
        "redis+cluster://127.0.0.1:7000",
    ],
)
async def test_every_redis_scheme_is_accepted(url: str) -> None:
    await open_store(url).aclose()  # clients connect lazily, so nothing needs to listen


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("memcached://user:s3cret@host:11211", "unknown pseudonym store URL scheme 'memcached'"),
        ("user:s3cret@host:6379", "has no scheme"),
        ("sqlite://", "needs a path"),
        ("redis+sentinel://127.0.0.1:26379", "a Sentinel URL is"),
        ("redis+sentinel://127.0.0.1/mymaster", "needs a host and a port"),
    ],
)
def test_bad_urls_are_refused_without_echoing_secrets(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as raised:
        open_store(url)
    assert "s3cret" not in str(raised.value)


@pytest.fixture
def cluster_port(tmp_path: Path) -> Iterator[int]:
    """A real three-node Redis Cluster, so the Lua script meets the cross-slot check."""
    ports = [_cluster_free_port() for _ in range(3)]
    processes = []
    try:
        for port in ports:
            node = tmp_path / f"node-{port}"
            node.mkdir()
            command = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node)]
            command += ["--cluster-enabled", "yes", "--save", "", "--appendonly", "no"]
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        for port in ports:
            deadline = time.monotonic() + 10
            while _cli(port, "PING").strip() != "PONG":
                assert time.monotonic() < deadline, "a cluster node did not start"
                time.sleep(0.05)
        create = ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-yes"]
        subprocess.run(create, capture_output=True, check=True, timeout=30)
        deadline = time.monotonic() + 20
        while "cluster_state:ok" not in _cli(ports[0], "CLUSTER", "INFO"):
            assert time.monotonic() < deadline, "the cluster did not converge"
            time.sleep(0.1)
        yield ports[0]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def _cluster_free_port() -> int:
    """A free port whose cluster bus port (port + 10000) exists and is free too."""
    while True:
        port = free_port()
        if port + 10000 <= 65535:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port + 10000)) != 0:
                    return port


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True).stdout


async def test_a_cluster_url_runs_batches_on_the_scope_slot(cluster_port: int) -> None:
    store = open_store(f"redis+cluster://127.0.0.1:{cluster_port}")
    claims = [
        Claim(IdKind.PATIENT, "index-of-P1", "RID-A"),
        Claim(IdKind.UID, "index-of-1.2.3", "2.25.1", "sealed-1.2.3"),
        Claim(IdKind.ACCESSION, "index-of-A1", "ACC-1"),
    ]
    try:
        for scope in ("research", "teaching", "a}{b"):  # different slots, usually on different nodes
            assert await store.scope_key_version(scope, 1) == 1
            assert await store.claim(scope, claims) == ["RID-A", "2.25.1", "ACC-1"]
            assert await store.reverse(scope, IdKind.UID, ["2.25.1"]) == {"2.25.1": "sealed-1.2.3"}
    finally:
        await store.aclose()
