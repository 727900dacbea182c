"""The stream's settings (BETMESH_LIVE_STREAM_*, BETMESH_LIVE_RESUME_WINDOW_SECONDS)."""

from __future__ import annotations

from dataclasses import dataclass

from service_runtime.settings import Env


@dataclass(frozen=True)
class StreamSettings:
    # How long the journal keeps entries: a resume point older than this gets a full image.
    resume_window_seconds: float = 300.0
    # HMAC key for resume tokens, shared by every live process. Empty: the first process to
    # start generates one and keeps it in Redis (fine for one deployment's own Redis; set it
    # from a secret store in production so that tokens survive a Redis rebuild).
    token_key: str = ""
    token_max_age_seconds: float = 24 * 3600.0
    max_streams_per_partner: int = 20
    max_fixture_ids: int = 1_000
    conflate_after: int = 64
    max_behind_seconds: float = 30.0
    lease_seconds: float = 3.0
    prefix: str = "betmesh:live:stream"
    # A new journal (a new prefix, or a new Redis) starts with the bus events of this many
    # seconds before its first process started, as much as the resume window keeps, not with
    # the bus's whole history; 0: only what comes after. An existing journal resumes where it
    # stopped, whatever this says.
    lookback_seconds: float = 300.0

    @classmethod
    def read(cls, env: Env) -> StreamSettings:
        settings = cls(
            resume_window_seconds=env.float("LIVE_RESUME_WINDOW_SECONDS", 300.0),
            token_key=env.str("LIVE_STREAM_TOKEN_KEY", ""),
            token_max_age_seconds=env.float("LIVE_STREAM_TOKEN_MAX_AGE_SECONDS", 86400.0),
            max_streams_per_partner=env.int("LIVE_STREAM_MAX_PER_PARTNER", 20),
            max_fixture_ids=env.int("LIVE_STREAM_MAX_FIXTURE_IDS", 1_000),
            conflate_after=env.int("LIVE_STREAM_CONFLATE_AFTER", 64),
            max_behind_seconds=env.float("LIVE_STREAM_MAX_BEHIND_SECONDS", 30.0),
            lease_seconds=env.float("LIVE_STREAM_LEASE_SECONDS", 3.0),
            prefix=env.str("LIVE_STREAM_PREFIX", "betmesh:live:stream"),
            lookback_seconds=env.float("LIVE_STREAM_LOOKBACK_SECONDS", 300.0),
        )
        if settings.token_key and len(settings.token_key.encode()) < 16:
            env.problems.append("BETMESH_LIVE_STREAM_TOKEN_KEY must have at least 16 bytes")
        env.require_positive(
            ("LIVE_RESUME_WINDOW_SECONDS", settings.resume_window_seconds),
            ("LIVE_STREAM_MAX_PER_PARTNER", settings.max_streams_per_partner),
            ("LIVE_STREAM_MAX_FIXTURE_IDS", settings.max_fixture_ids),
            ("LIVE_STREAM_CONFLATE_AFTER", settings.conflate_after),
            ("LIVE_STREAM_MAX_BEHIND_SECONDS", settings.max_behind_seconds),
            ("LIVE_STREAM_LEASE_SECONDS", settings.lease_seconds),
        )
        if settings.lookback_seconds < 0:
            env.problems.append(
                f"BETMESH_LIVE_STREAM_LOOKBACK_SECONDS={settings.lookback_seconds!r}"
                " must not be negative"
            )
        return settings
