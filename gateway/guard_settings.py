"""The integrity guard's and the snapshot canary's settings (BETMESH_GATEWAY_GUARD_*,
BETMESH_GATEWAY_CANARY_*), part of the gateway's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from betmesh.common.v1 import sport_pb2

from gateway.domain.canary import CanaryPolicy
from gateway.domain.integrity import GuardPolicy
from service_runtime.settings import Env


@dataclass(frozen=True)
class GuardSettings:
    # Off only to measure its cost (bench/): every agreed set is then published as agreed.
    enabled: bool = True
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    canary_enabled: bool = True
    canary: CanaryPolicy = field(default_factory=CanaryPolicy)
    # Results files for the canary's back-test, per sport (the fitting job's CSV shape).
    canary_results: dict[sport_pb2.Sport.ValueType, Path] = field(default_factory=dict)

    @classmethod
    def read(cls, env: Env) -> GuardSettings:
        d = GuardPolicy()
        policy = GuardPolicy(
            payout_min_e4=env.int("GATEWAY_GUARD_PAYOUT_MIN_E4", d.payout_min_e4),
            payout_max_e4=env.int("GATEWAY_GUARD_PAYOUT_MAX_E4", d.payout_max_e4),
            tolerance_e9=env.int("GATEWAY_GUARD_TOLERANCE_E9", d.tolerance_e9),
            pre_match_max_move_e9=env.int(
                "GATEWAY_GUARD_PRE_MATCH_MAX_MOVE_E9", d.pre_match_max_move_e9
            ),
            snapshot_max_move_e9=env.int(
                "GATEWAY_GUARD_SNAPSHOT_MAX_MOVE_E9", d.snapshot_max_move_e9
            ),
            live_max_move_e9=env.int("GATEWAY_GUARD_LIVE_MAX_MOVE_E9", d.live_max_move_e9),
            live_move_per_minute_e9=env.int(
                "GATEWAY_GUARD_LIVE_MOVE_PER_MINUTE_E9", d.live_move_per_minute_e9
            ),
            live_clock_cap_minutes=env.int(
                "GATEWAY_GUARD_LIVE_CLOCK_CAP_MINUTES", d.live_clock_cap_minutes
            ),
        )
        c = CanaryPolicy()
        canary = CanaryPolicy(
            score_margin_e9=env.int("GATEWAY_CANARY_SCORE_MARGIN_E9", c.score_margin_e9),
            backtest_matches=env.int("GATEWAY_CANARY_BACKTEST_MATCHES", c.backtest_matches),
            min_backtest_matches=env.int(
                "GATEWAY_CANARY_MIN_BACKTEST_MATCHES", c.min_backtest_matches
            ),
            move_bound_e9=env.int("GATEWAY_CANARY_MOVE_BOUND_E9", c.move_bound_e9),
            max_moved_share_e4=env.int("GATEWAY_CANARY_MAX_MOVED_SHARE_E4", c.max_moved_share_e4),
            compare_fixtures=env.int("GATEWAY_CANARY_COMPARE_FIXTURES", c.compare_fixtures),
        )
        results: dict[sport_pb2.Sport.ValueType, Path] = {}
        for part in filter(
            None, (p.strip() for p in env.str("GATEWAY_CANARY_RESULTS", "").split(";"))
        ):
            name, _, path = part.partition("=")
            try:
                sport = sport_pb2.Sport.Value("SPORT_" + name.strip().upper())
            except ValueError:
                env.problems.append(f"unknown sport {name!r} in BETMESH_GATEWAY_CANARY_RESULTS")
                continue
            if not Path(path.strip()).is_file():
                env.problems.append(f"BETMESH_GATEWAY_CANARY_RESULTS: no file {path.strip()!r}")
                continue
            results[sport] = Path(path.strip())
        env.require_positive(
            ("GATEWAY_GUARD_PAYOUT_MIN_E4", policy.payout_min_e4),
            ("GATEWAY_GUARD_PRE_MATCH_MAX_MOVE_E9", policy.pre_match_max_move_e9),
            ("GATEWAY_GUARD_SNAPSHOT_MAX_MOVE_E9", policy.snapshot_max_move_e9),
            ("GATEWAY_GUARD_LIVE_MAX_MOVE_E9", policy.live_max_move_e9),
            ("GATEWAY_CANARY_MOVE_BOUND_E9", canary.move_bound_e9),
            ("GATEWAY_CANARY_BACKTEST_MATCHES", canary.backtest_matches),
        )
        if not policy.payout_min_e4 <= policy.payout_max_e4 <= 10_000:
            env.problems.append("the guard's payout bounds must satisfy min <= max <= 10000")
        return cls(
            enabled=env.bool("GATEWAY_GUARD", True),
            policy=policy,
            canary_enabled=env.bool("GATEWAY_CANARY", True),
            canary=canary,
            canary_results=results,
        )
