"""A real redis-server for tests: its own port on 127.0.0.1, its own directory, killed by PID at teardown.

It never touches the system Redis on 6379. Data survives stop() and start() on the same port because the
server writes an append-only file with fsync on every write.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self, directory: Path | None = None) -> None:
        self._owns_dir = directory is None
        self.dir = directory or Path(tempfile.mkdtemp(prefix="gw-redis-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("redis-server is already running")
        command = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--protected-mode", "yes",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def stop(self) -> None:
        """SIGTERM and wait: Redis flushes its append-only file before it exits."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Teardown: kill our own process by PID and remove its directory."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()
            self._process = None
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *args: str) -> str:
        """Run one command through redis-cli (outside the code under test) and return its raw reply."""
        completed = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            check=True,
            text=True,
            timeout=10,
        )
        return completed.stdout

    def command_calls(self) -> dict[str, int]:
        """Calls per command since start, from INFO commandstats (commands run inside scripts included)."""
        calls = {}
        for line in self.command("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, _, stats = line.removeprefix("cmdstat_").partition(":")
                calls[name] = int(stats.split(",")[0].removeprefix("calls="))
        return calls

    def dump(self) -> bytes:
        """What a copy of it gives an attacker: every key and value, read with a client of its own, and then the
        bytes of every file in its directory (the append-only file remembers values the keyspace forgot), once
        any rewrite under way (a migration starts one) has finished."""
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            parts: list[bytes] = []
            for key in client.scan_iter(count=1000):
                parts.append(key)
                kind = client.type(key)
                if kind == b"string":
                    parts.append(client.get(key) or b"")
                elif kind == b"hash":
                    parts += [item for pair in client.hgetall(key).items() for item in pair]
                elif kind == b"stream":
                    for _, fields in client.xrange(key):
                        parts += [item for pair in fields.items() for item in pair]
                elif kind == b"list":
                    parts += client.lrange(key, 0, -1)
                elif kind == b"set":
                    parts += list(client.smembers(key))
                elif kind == b"zset":
                    parts += client.zrange(key, 0, -1)
                else:
                    raise AssertionError(f"a key of a type the dump does not read: {kind!r}")
            _await_rewrite(client)
        finally:
            client.close()
        files = [path.read_bytes() for path in sorted(self.dir.rglob("*")) if path.is_file()]
        return b"\n".join(parts + files)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.dir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):  # -LOADING while it replays its AOF
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not become ready")


def _await_rewrite(client: redis.Redis) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        persistence = client.info("persistence")
        if not persistence["aof_rewrite_in_progress"] and not persistence["aof_rewrite_scheduled"]:
            return
        time.sleep(0.02)
    raise AssertionError("the append-only file rewrite did not finish")
