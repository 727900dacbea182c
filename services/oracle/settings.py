from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service_runtime.chain_rpc import url_problem
from service_runtime.settings import Env, ServerSettings


@dataclass(frozen=True)
class OracleSettings:
    server: ServerSettings
    database_url: str
    # None: results are validated and stored, their events wait in the outbox.
    redis_url: str | None
    required_sources: int
    # Ethereum JSON-RPC endpoints for publication (read now, used once chain work lands).
    rpc_urls: tuple[str, ...]
    event_relay_interval_seconds: float
    # Publishing is on when a contract address, the transmitter key and signers are given.
    contract_address: str = ""
    # The transmitter's key file (0600): the only key the oracle holds.
    transmitter_key_file: str = ""
    # host:port of each signer process (services/signer); every one is asked, the contract's
    # current signer set decides which signatures count.
    signer_addresses: tuple[str, ...] = ()
    confirmations: int = 2
    max_fee_gwei: int = 200
    replace_after_seconds: float = 30.0
    batch_size: int = 10
    publish_interval_seconds: float = 1.0
    log_chunk_blocks: int = 2000
    start_block: int = 0
    # Several results share one transaction (about a third of the gas each): a ready result
    # waits at most this long for company.
    batch_wait_seconds: float = 5.0
    # A sent transaction no node knows (no receipt, not found by hash) while its nonce is used
    # is dropped (and its results sent again) only after this long: receipt lag is not a drop.
    drop_after_seconds: float = 600.0
    # With nothing in flight the chain is looked at this often (deep reorgs); the RPC budget
    # of an idle hour is about 3 requests per check.
    idle_check_seconds: float = 60.0
    # False: a result is FINAL once the contract's dispute window has passed (`isFinal`, read
    # at the confirmed depth, no gas); true: batched finalise() transactions as well (their
    # ResultFinalised events for outside readers; about 10k gas a result in batches of 10).
    finalise_transactions: bool = False
    # A provider out of quota (HTTP 402) is asked again after this long, else at 00:00 UTC.
    quota_probe_seconds: float = 600.0

    @property
    def publishing(self) -> bool:
        return bool(
            self.contract_address
            and self.transmitter_key_file
            and self.signer_addresses
            and self.rpc_urls
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OracleSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        required = env.int("ORACLE_REQUIRED_SOURCES", 2)
        if required < 1:
            env.problems.append(f"BETMESH_ORACLE_REQUIRED_SOURCES={required} must be at least 1")
        rpc_urls = tuple(env.list("ORACLE_RPC_URLS", []))
        for url in rpc_urls:
            problem = url_problem(url)
            if problem is not None:
                env.problems.append(f"BETMESH_ORACLE_RPC_URLS: {problem}")
        interval = env.float("ORACLE_EVENT_RELAY_INTERVAL_SECONDS", 5.0)
        if interval <= 0:
            env.problems.append("BETMESH_ORACLE_EVENT_RELAY_INTERVAL_SECONDS must be positive")
        confirmations = env.int("ORACLE_CONFIRMATIONS", 2)
        batch_size = env.int("ORACLE_BATCH_SIZE", 10)
        publish_interval = env.float("ORACLE_PUBLISH_INTERVAL_SECONDS", 1.0)
        chunk = env.int("ORACLE_LOG_CHUNK_BLOCKS", 2000)
        if confirmations < 1:
            env.problems.append("BETMESH_ORACLE_CONFIRMATIONS must be at least 1")
        if not 1 <= batch_size <= 100:
            env.problems.append("BETMESH_ORACLE_BATCH_SIZE must be 1..100")
        if publish_interval <= 0:
            env.problems.append("BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS must be positive")
        if not 1 <= chunk <= 10_000:
            env.problems.append("BETMESH_ORACLE_LOG_CHUNK_BLOCKS must be 1..10000")
        batch_wait = env.float("ORACLE_BATCH_WAIT_SECONDS", 5.0)
        drop_after = env.float("ORACLE_DROP_AFTER_SECONDS", 600.0)
        idle_check = env.float("ORACLE_IDLE_CHECK_SECONDS", 60.0)
        quota_probe = env.float("ORACLE_QUOTA_PROBE_SECONDS", 600.0)
        if quota_probe <= 0:
            env.problems.append("BETMESH_ORACLE_QUOTA_PROBE_SECONDS must be positive")
        if not 0 <= batch_wait <= 3600:
            env.problems.append("BETMESH_ORACLE_BATCH_WAIT_SECONDS must be 0..3600")
        if drop_after < 1:
            env.problems.append("BETMESH_ORACLE_DROP_AFTER_SECONDS must be at least 1")
        if not 0 < idle_check <= 3600:
            env.problems.append("BETMESH_ORACLE_IDLE_CHECK_SECONDS must be in (0, 3600]")
        if env.str("ORACLE_SIGNER_KEY_FILES", ""):
            # Signer keys live in signer processes now: refuse a deployment still mounting them.
            env.problems.append(
                "BETMESH_ORACLE_SIGNER_KEY_FILES is no longer read: run one signer process per "
                "key (python -m services.signer) and list them in BETMESH_ORACLE_SIGNER_ADDRESSES"
            )
        signers = tuple(env.list("ORACLE_SIGNER_ADDRESSES", []))
        for address in signers:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                env.problems.append(
                    f"BETMESH_ORACLE_SIGNER_ADDRESSES: {address!r} is not host:port"
                )
        settings = cls(
            server=ServerSettings.read(env),
            database_url=env.str("DATABASE_URL"),
            redis_url=env.str("REDIS_URL", "") or None,
            required_sources=required,
            rpc_urls=rpc_urls,
            event_relay_interval_seconds=interval,
            contract_address=env.str("ORACLE_CONTRACT_ADDRESS", ""),
            transmitter_key_file=env.str("ORACLE_TRANSMITTER_KEY_FILE", ""),
            signer_addresses=signers,
            confirmations=confirmations,
            max_fee_gwei=env.int("ORACLE_MAX_FEE_GWEI", 200),
            replace_after_seconds=env.float("ORACLE_REPLACE_AFTER_SECONDS", 30.0),
            batch_size=batch_size,
            publish_interval_seconds=publish_interval,
            log_chunk_blocks=chunk,
            start_block=env.int("ORACLE_START_BLOCK", 0),
            batch_wait_seconds=batch_wait,
            drop_after_seconds=drop_after,
            idle_check_seconds=idle_check,
            quota_probe_seconds=quota_probe,
            finalise_transactions=env.bool("ORACLE_FINALISE_TRANSACTIONS", False),
        )
        env.check()
        return settings
