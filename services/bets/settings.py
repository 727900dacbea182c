from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from service_runtime.chain_rpc import url_problem
from service_runtime.dead_letters import DeadLetterPolicy
from service_runtime.live_bet_delay import LiveBetDelays
from service_runtime.live_watch import LiveWatch
from service_runtime.settings import Env, ServerSettings
from services.bets.domain.bet_rules import BetRules

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class BetsSettings:
    server: ServerSettings
    database_url: str
    # The one ISO 4217 currency wallets are kept in.
    currency: str
    # Caps one deposit well below BIGINT so balances cannot overflow in SQL.
    max_deposit_minor: int
    database_pool_size: int
    rules: BetRules
    # Empty: no event bus (prices only from the gateway, no results, no identity events).
    redis_url: str
    # Empty: no fallback price read.
    gateway_address: str
    # The consumer group of the bets service (shared by its processes) and this process's
    # name in it; stable, so a restart resumes its own entries.
    consumer_group: str
    consumer_name: str
    # How often pending live bets past their delay are looked for (a waiting caller is
    # answered at once; this covers callers that left and restarts), and the outbox relayed.
    # While there is nothing to do, both back off to 4 times this.
    decision_poll_seconds: float
    # How often expired cash-out offers are purged.
    cash_out_purge_interval_seconds: float
    event_block_ms: int
    # ANJ: raising a cap takes effect after 48 h.
    stake_cap_raise_delay_seconds: float
    # Retries of a failing event before it is dead-lettered (BETMESH_EVENT_MAX_ATTEMPTS, ...).
    event_policy: DeadLetterPolicy = field(default_factory=DeadLetterPolicy)
    # "chain": a results.finalised event only wakes bets up; it settles from what the oracle
    # contract stores (read at `chain_confirmations`). "announcement": settles from the event
    # itself, for tests and meshes without a chain only.
    settle_from: str = "chain"
    # Bets' own JSON-RPC URLs (http/https, failover in order) and the oracle contract.
    chain_rpc_urls: tuple[str, ...] = ()
    result_contract_address: str = ""
    # The finality bets reads at: the head minus this many blocks, plus one.
    chain_confirmations: int = 2
    # How often announced results the chain did not show yet are checked again.
    chain_recheck_seconds: float = 5.0
    # An announced result the chain never shows within this long is held (NOT_ON_CHAIN).
    chain_wait_seconds: float = 900.0
    # How often the planner statistics of bets' tables are renewed where the server's
    # autovacuum is off (service_runtime/table_statistics.py; nothing while it is on).
    statistics_seconds: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BetsSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        currency = env.str("BETS_CURRENCY", "EUR")
        if not _CURRENCY.match(currency):
            env.problems.append(
                f"BETMESH_BETS_CURRENCY={currency!r} is not an upper-case ISO 4217 code"
            )
        max_deposit = env.int("BETS_MAX_DEPOSIT_MINOR", 10_000_000)
        if max_deposit <= 0:
            env.problems.append("BETMESH_BETS_MAX_DEPOSIT_MINOR must be positive")
        pool_size = env.int("BETS_DATABASE_POOL_SIZE", 10)
        if pool_size <= 0:
            env.problems.append("BETMESH_BETS_DATABASE_POOL_SIZE must be positive")
        defaults = BetRules()
        limits = {
            name: env.int(f"BETS_{name.upper()}", getattr(defaults, name))
            for name in (
                "min_stake_minor",
                "max_stake_minor",
                "max_payout_minor",
                "max_market_liability_minor",
                "max_fixture_liability_minor",
                "max_player_open_stake_minor",
                "max_legs",
                "provisional_days",
            )
        }
        env.require_positive(*((f"BETS_{name.upper()}", value) for name, value in limits.items()))
        if limits["min_stake_minor"] > limits["max_stake_minor"]:
            env.problems.append("BETMESH_BETS_MIN_STAKE_MINOR is above the maximum stake")
        # The live-bet delay is defined once for bets and live (service_runtime/live_bet_delay.py):
        # what bets holds an in-play bet for is what the stream announces to partners.
        delays = LiveBetDelays.read(env)
        # The silence after which live bets are refused is agreed with live's heartbeat period
        # (service_runtime/live_watch.py): both processes check the pair.
        live_watch = LiveWatch.read(env)
        margin = env.int("BETS_CASH_OUT_MARGIN_E4", defaults.cash_out_margin_e4)
        if not 0 < margin <= 10_000:
            env.problems.append("BETMESH_BETS_CASH_OUT_MARGIN_E4 must be in 1-10000")
        offer_seconds = env.float("BETS_CASH_OUT_OFFER_SECONDS", defaults.cash_out_offer_seconds)
        if not 0 < offer_seconds <= 300:
            env.problems.append("BETMESH_BETS_CASH_OUT_OFFER_SECONDS must be in (0, 300]")
        retention = env.float(
            "BETS_CASH_OUT_OFFER_RETENTION_SECONDS", defaults.cash_out_offer_retention_seconds
        )
        if retention < 0:
            env.problems.append("BETMESH_BETS_CASH_OUT_OFFER_RETENTION_SECONDS must be >= 0")
        purge_every = env.float("BETS_CASH_OUT_PURGE_INTERVAL_SECONDS", 30.0)
        if purge_every <= 0:
            env.problems.append("BETMESH_BETS_CASH_OUT_PURGE_INTERVAL_SECONDS must be positive")
        rules = BetRules(
            **limits,
            allow_same_fixture_legs=env.bool("BETS_ALLOW_SAME_FIXTURE_LEGS", False),
            live_delay_seconds=delays.seconds_by_sport(),
            default_live_delay_seconds=delays.default_ms / 1000,
            live_silence_seconds=live_watch.silence_seconds,
            cash_out_margin_e4=margin,
            cash_out_offer_seconds=offer_seconds,
            cash_out_offer_retention_seconds=retention,
        )
        settle_from = env.str("BETS_SETTLE_FROM", "chain")
        if settle_from not in ("chain", "announcement"):
            env.problems.append("BETMESH_BETS_SETTLE_FROM must be 'chain' or 'announcement'")
        chain_urls = tuple(env.list("BETS_CHAIN_RPC_URLS", []))
        for url in chain_urls:
            problem = url_problem(url)
            if problem is not None:
                env.problems.append(f"BETMESH_BETS_CHAIN_RPC_URLS: {problem}")
        contract = env.str("BETS_RESULT_CONTRACT_ADDRESS", "")
        if contract and not _ADDRESS.match(contract):
            env.problems.append("BETMESH_BETS_RESULT_CONTRACT_ADDRESS is not a 0x address")
        if bool(chain_urls) != bool(contract):
            env.problems.append(
                "BETMESH_BETS_CHAIN_RPC_URLS and BETMESH_BETS_RESULT_CONTRACT_ADDRESS go together"
            )
        confirmations = env.int("BETS_CHAIN_CONFIRMATIONS", 2)
        if not 1 <= confirmations <= 1000:
            env.problems.append("BETMESH_BETS_CHAIN_CONFIRMATIONS must be 1..1000")
        recheck = env.float("BETS_CHAIN_RECHECK_SECONDS", 5.0)
        wait_bound = env.float("BETS_CHAIN_WAIT_SECONDS", 900.0)
        statistics_every = env.float("BETS_STATISTICS_SECONDS", 30.0)
        if statistics_every <= 0:
            env.problems.append("BETMESH_BETS_STATISTICS_SECONDS must be positive")
        if recheck <= 0 or wait_bound <= 0:
            env.problems.append("BETMESH_BETS_CHAIN_RECHECK/WAIT_SECONDS must be positive")
        settings = cls(
            server=ServerSettings.read(env),
            database_url=env.str("DATABASE_URL"),
            currency=currency,
            max_deposit_minor=max_deposit,
            database_pool_size=pool_size,
            rules=rules,
            redis_url=env.str("REDIS_URL", ""),
            gateway_address=env.str("GATEWAY_ADDRESS", ""),
            consumer_group=env.str("BETS_CONSUMER_GROUP", "betmesh.bets"),
            consumer_name=env.str("BETS_CONSUMER_NAME", "bets-1"),
            decision_poll_seconds=env.float("BETS_DECISION_POLL_SECONDS", 0.25),
            cash_out_purge_interval_seconds=purge_every,
            # How long an idle consumer's read waits for an entry (it returns as soon as one
            # comes): 6 consumers at 200 ms made 30 idle reads a second.
            event_block_ms=env.int("BETS_EVENT_BLOCK_MS", 1000),
            stake_cap_raise_delay_seconds=env.float(
                "BETS_STAKE_CAP_RAISE_DELAY_SECONDS", 48 * 3600.0
            ),
            event_policy=DeadLetterPolicy.read(env),
            settle_from=settle_from,
            chain_rpc_urls=chain_urls,
            result_contract_address=contract,
            chain_confirmations=confirmations,
            chain_recheck_seconds=recheck,
            chain_wait_seconds=wait_bound,
            statistics_seconds=statistics_every,
        )
        if settings.event_block_ms >= settings.server.redis_answer_seconds * 1000:
            # A read blocking longer than Redis may take to answer would end as an outage.
            env.problems.append(
                "BETMESH_BETS_EVENT_BLOCK_MS must be under BETMESH_REDIS_ANSWER_SECONDS"
            )
        env.check()
        return settings
