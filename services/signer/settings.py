"""One signer process's settings (BETMESH_SIGNER_*): its contract, its key, who may call it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eth_utils import is_address, to_checksum_address  # type: ignore[attr-defined]

from service_runtime.settings import Env, ServerSettings

DEFAULT_ALLOWED_CLIENTS = ("svc-oracle",)


@dataclass(frozen=True)
class SignerSettings:
    server: ServerSettings
    # The one EIP-712 domain this signer signs for: this chain id ...
    chain_id: int
    # ... and this ResultOracle contract; a signature is worthless anywhere else.
    contract_address: str
    # Exactly one key source: a 0600 file, or a KMS key id (ARN, id or alias).
    key_file: str = ""
    kms_key_id: str = ""
    kms_region: str = ""
    # Another KMS endpoint (a VPC endpoint, or an emulator in tests); empty: AWS's own.
    kms_endpoint_url: str = ""
    # Client ids (token subjects, role service) whose calls are answered: the oracle's.
    allowed_clients: tuple[str, ...] = DEFAULT_ALLOWED_CLIENTS
    # Only for a mesh run with --auth anonymous on one machine; refused in production.
    allow_anonymous: bool = False

    @property
    def key_source(self) -> str:
        return "kms" if self.kms_key_id else "file"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SignerSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        server = ServerSettings.read(env)
        chain_id = env.int("SIGNER_CHAIN_ID", 0)
        if chain_id < 1:
            env.problems.append("BETMESH_SIGNER_CHAIN_ID must be a positive chain id")
        contract = env.str("SIGNER_CONTRACT_ADDRESS", "")
        if not is_address(contract):
            env.problems.append("BETMESH_SIGNER_CONTRACT_ADDRESS must be a 0x address")
        key_file = env.str("SIGNER_KEY_FILE", "")
        kms_key_id = env.str("SIGNER_KMS_KEY_ID", "")
        kms_region = env.str("SIGNER_KMS_REGION", "")
        if bool(key_file) == bool(kms_key_id):
            env.problems.append(
                "exactly one of BETMESH_SIGNER_KEY_FILE and BETMESH_SIGNER_KMS_KEY_ID is needed"
            )
        if kms_key_id and not kms_region:
            env.problems.append("BETMESH_SIGNER_KMS_REGION is needed with a KMS key")
        allowed = tuple(env.list("SIGNER_ALLOWED_CLIENTS", list(DEFAULT_ALLOWED_CLIENTS)))
        if not allowed:
            env.problems.append("BETMESH_SIGNER_ALLOWED_CLIENTS must name the oracle's client")
        allow_anonymous = env.bool("SIGNER_ALLOW_ANONYMOUS", False)
        if server.auth_mode != "tokens" and not allow_anonymous:
            env.problems.append(
                "a signer answers the oracle's token only: BETMESH_AUTH_MODE=tokens "
                "(BETMESH_SIGNER_ALLOW_ANONYMOUS=true for a local anonymous mesh)"
            )
        if allow_anonymous and server.environment == "production":
            env.problems.append("BETMESH_SIGNER_ALLOW_ANONYMOUS is refused in production")
        settings = cls(
            server=server,
            chain_id=chain_id,
            contract_address=to_checksum_address(contract) if is_address(contract) else "",
            key_file=key_file,
            kms_key_id=kms_key_id,
            kms_region=kms_region,
            kms_endpoint_url=env.str("SIGNER_KMS_ENDPOINT_URL", ""),
            allowed_clients=allowed,
            allow_anonymous=allow_anonymous,
        )
        env.check()
        return settings
