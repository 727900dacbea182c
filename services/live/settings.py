from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from service_runtime.live_bet_delay import LiveBetDelays
from service_runtime.live_watch import LiveWatch
from service_runtime.settings import Env, ServerSettings
from services.live.repricing_settings import RepricingSettings
from services.live.stream_settings import StreamSettings


@dataclass(frozen=True)
class LiveSettings:
    server: ServerSettings
    # Game state and held events live here so that several live processes share them.
    redis_url: str
    # In-play prices come from the consensus gateway; without it nothing is repriced.
    gateway_address: str | None
    # How long an event ahead of a gap is held before ingests fail with SEQUENCE_GAP.
    hold_seconds: float
    # A live fixture not heard from (event or feed heartbeat) for this long, or whose feed is
    # not, has its markets suspended (FEED_LOST) until the feed is back with nothing missing
    # and a reprice accepted.
    feed_deadline_seconds: float = 20.0
    # How often each process looks for fixtures past their feed deadline.
    feed_check_seconds: float = 1.0
    # Redis connections per process (blocking reads hold one each); beyond it, commands wait.
    redis_connections: int = 64
    # How long a command waits for one of them before it fails (a burst queues meanwhile).
    redis_wait_seconds: float = 10.0
    # StreamOdds: resume window, token key, per-partner limits, conflation (stream/settings.py).
    stream: StreamSettings = field(default_factory=StreamSettings)
    # In-play repricing cadence and lease (repricing_settings.py).
    repricing: RepricingSettings = field(default_factory=RepricingSettings)
    # The live-bet delay per sport live phases announce (FixtureOdds.bet_delay_ms): read from
    # the same variables as bets, which applies it (service_runtime/live_bet_delay.py).
    bet_delays: LiveBetDelays = field(default_factory=LiveBetDelays.standard)
    # How often each process vouches (LiveHeartbeat) for the in-play fixtures it watches, and
    # bets' silence after which it refuses in-play bets: read and checked as a pair with bets
    # (service_runtime/live_watch.py).
    watch: LiveWatch = field(default_factory=LiveWatch)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        settings = cls(
            server=replace(
                ServerSettings.read(env),
                # Live's connections carry partners' odds streams for hours: not aged out
                # (a GOAWAY makes grpc-js with keepalive on drop every stream at its next ping:
                # Node closes the session on GOAWAY and refuses the ping). Streams spread
                # over pods as they reconnect, on any process. 0: never.
                max_connection_age_seconds=env.float("LIVE_MAX_CONNECTION_AGE_SECONDS", 0.0),
            ),
            redis_url=env.str("REDIS_URL"),
            gateway_address=env.str("GATEWAY_ADDRESS", None),
            hold_seconds=env.float("LIVE_HOLD_SECONDS", 30.0),
            feed_deadline_seconds=env.float("LIVE_FEED_DEADLINE_SECONDS", 20.0),
            feed_check_seconds=env.float("LIVE_FEED_CHECK_SECONDS", 1.0),
            redis_connections=env.int("LIVE_REDIS_CONNECTIONS", 64),
            redis_wait_seconds=env.float("LIVE_REDIS_WAIT_SECONDS", 10.0),
            stream=StreamSettings.read(env),
            repricing=RepricingSettings.read(env),
            bet_delays=LiveBetDelays.read(env),
            watch=LiveWatch.read(env),
        )
        if settings.hold_seconds < 0:
            env.problems.append(
                f"BETMESH_LIVE_HOLD_SECONDS={settings.hold_seconds!r} must not be negative"
            )
        env.require_positive(
            ("LIVE_FEED_DEADLINE_SECONDS", settings.feed_deadline_seconds),
            ("LIVE_FEED_CHECK_SECONDS", settings.feed_check_seconds),
            ("LIVE_REDIS_WAIT_SECONDS", settings.redis_wait_seconds),
        )
        if settings.stream.lease_seconds / 3 >= settings.server.redis_answer_seconds:
            # The journal writer's read blocks a third of its lease: longer than Redis may
            # take to answer, every idle read would end as an outage.
            env.problems.append(
                "BETMESH_LIVE_STREAM_LEASE_SECONDS must be under 3 x "
                "BETMESH_REDIS_ANSWER_SECONDS (the writer's read blocks a third of the lease)"
            )
        if settings.redis_connections < 8:
            env.problems.append(
                f"BETMESH_LIVE_REDIS_CONNECTIONS={settings.redis_connections!r}: at least 8 "
                "(the journal writer, journal tail and control channel each hold one)"
            )
        env.check()
        return settings
