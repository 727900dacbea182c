"""A TCP proxy that injects the faults a network really has, between a service and a store
(PostgreSQL, Redis): `cut` (every connection reset, new ones refused), `blackhole` (connections
accepted and kept open, nothing forwarded either way: a partition, or a store frozen by
SIGSTOP, as a load balancer's idle socket looks to its client), `slow` (every chunk delayed) and
`trickle` (every byte of the answers delayed: each read a client waits for is short, the whole
answer is not).

Unlike an exception raised in a fake, the client sees what it would see in production: a socket
that answers nothing, for as long as the fault lasts. `heal()` makes it a plain proxy again;
connections opened during a blackhole are forwarded from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa


@dataclass(eq=False)
class _Pipe:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    # Lost to a partition: its bytes are dropped for good, even after heal() (its peer's
    # state is gone, as a flow through a rebooted NAT or a failed-over load balancer is).
    lost: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in (self.client, self.upstream):
            # A reset, as a dropped connection looks to its peer (not a polite FIN).
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()


class FaultProxy:
    """Listens on 127.0.0.1; forwards to `upstream_host`:`upstream_port`, or to the Unix
    socket `unix_path` when given (the embedded PostgreSQL listens on one only)."""

    def __init__(
        self, upstream_host: str = "127.0.0.1", upstream_port: int = 0, unix_path: str = ""
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.unix_path = unix_path
        self.mode = "pass"
        self.delay = 0.0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pipes: set[_Pipe] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @classmethod
    def for_postgres(cls, url: str) -> FaultProxy:
        """A proxy for the PostgreSQL a SQLAlchemy URL names (TCP or ?host=<socket dir>)."""
        parsed = sa.make_url(url)
        socket_dir = parsed.query.get("host")
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            return cls(unix_path=f"{socket_dir}/.s.PGSQL.{parsed.port or 5432}")
        return cls(parsed.host or "127.0.0.1", parsed.port or 5432)

    def postgres_url(self, url: str) -> str:
        """`url` (a SQLAlchemy PostgreSQL URL) through this proxy."""
        parsed = sa.make_url(url)
        query = {k: v for k, v in parsed.query.items() if k != "host"}
        return parsed.set(host="127.0.0.1", port=self.port, query=query).render_as_string(
            hide_password=False
        )

    @classmethod
    def for_redis(cls, url: str) -> FaultProxy:
        """A proxy for the Redis a redis:// URL names."""
        parsed = urlsplit(url)
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 6379)

    def redis_url(self, url: str) -> str:
        """`url` (redis://[user:password@]host:port/db) through this proxy."""
        parsed = urlsplit(url)
        credentials = parsed.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parsed._replace(netloc=netloc))

    def blackhole(self) -> None:
        self.mode = "blackhole"
        self._flowing.clear()

    def partition(self) -> None:
        """Every open connection is lost for good (bytes dropped, socket left open, no reset
        ever); new ones are accepted and answer nothing until heal()."""
        self.mode = "partition"
        for pipe in self._pipes:
            pipe.lost = True
        self._flowing.set()

    def cut(self) -> None:
        self.mode = "cut"
        self._flowing.set()
        for pipe in list(self._pipes):
            pipe.close()
        self._pipes.clear()

    def slow(self, delay: float) -> None:
        self.mode = "slow"
        self.delay = delay
        self._flowing.set()

    def trickle(self, delay: float) -> None:
        """The upstream's bytes reach the client one at a time, `delay` apart (what the client
        sends goes through as it is, so the answer starts at once)."""
        self.mode = "trickle"
        self.delay = delay
        self._flowing.set()

    def heal(self) -> None:
        self.mode = "pass"
        self.delay = 0.0
        self._flowing.set()

    @property
    def connections(self) -> int:
        return len(self._pipes)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.transport.abort()
            return
        try:
            if self.unix_path:
                up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        pipe = _Pipe(writer, up_writer, lost=self.mode == "partition")
        self._pipes.add(pipe)
        pipe.tasks = [
            asyncio.create_task(self._copy(reader, up_writer, pipe)),
            asyncio.create_task(self._copy(up_reader, writer, pipe, answers=True)),
        ]

    async def _copy(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pipe: _Pipe,
        answers: bool = False,
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self._flowing.wait()
                if self.mode == "slow" and self.delay:
                    await asyncio.sleep(self.delay)
                if self.mode == "cut":
                    break
                if pipe.lost:
                    continue
                if self.mode == "trickle" and answers:
                    for index in range(len(data)):
                        writer.write(data[index : index + 1])
                        await writer.drain()
                        await asyncio.sleep(self.delay)
                    continue
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._pipes.discard(pipe)
            pipe.close()
