"""Deploying ResultOracle on a real network and changing its signer set (docs/deploy-chain.md).

    python -m services.oracle.adapters.chain.deploy_tool keys --dir DIR [--signers 3]
    python -m services.oracle.adapters.chain.deploy_tool deploy --admin-key-file F --signer ADDR ...
        --threshold K --transmitter ADDR [--dispute-window S] [--config-delay S]
        [--transmitter-key-file F --signer-key-file F ... | --signer-kms KEY_ID@REGION ...]
        [--out deployment.json]
    python -m services.oracle.adapters.chain.deploy_tool propose-signers --admin-key-file F
        --contract ADDR --signer ADDR ... --threshold K
    python -m services.oracle.adapters.chain.deploy_tool execute-signers  (same arguments)
    python -m services.oracle.adapters.chain.deploy_tool status --contract ADDR

The node: BETMESH_CHAIN_RPC_URL, or --rpc-url-file FILE (a provider URL carries its API key in
the path: it is read, never printed; output shows scheme and host only). Keys are read from
files and never printed; output is JSON on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from web3 import Web3

from services.oracle.adapters.chain.contract import (
    DEFAULT_CONFIG_DELAY_SECONDS,
    DEFAULT_DISPUTE_WINDOW_SECONDS,
    ascending,
    bind,
    deploy,
    execute_config,
    propose_config,
)
from services.oracle.adapters.chain.launch import OracleDeployment, read_key, write_key
from services.oracle.adapters.chain.rpc import FailoverProvider, redact

RPC_URL_VARIABLE = "BETMESH_CHAIN_RPC_URL"


def rpc_url(args: argparse.Namespace) -> str:
    if args.rpc_url_file is not None:
        lines = [x.strip() for x in Path(args.rpc_url_file).read_text().splitlines()]
        url = next((x for x in lines if x and not x.startswith("#")), "")
    else:
        url = os.environ.get(RPC_URL_VARIABLE, "")
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"an http(s) node URL is needed: --rpc-url-file or {RPC_URL_VARIABLE}")
    return url


def connect(args: argparse.Namespace) -> Web3:
    return Web3(FailoverProvider([rpc_url(args)]))


def out(record: dict[str, Any]) -> None:
    print(json.dumps(record, indent=2))


def cmd_keys(args: argparse.Namespace) -> None:
    directory = Path(args.dir)
    addresses = {
        "admin": write_key(directory / "admin.key"),
        "transmitter": write_key(directory / "transmitter.key"),
        "signers": [write_key(directory / f"signer-{i}.key") for i in range(1, args.signers + 1)],
    }
    out({"dir": str(directory.resolve()), **addresses})


def _signer_sources(args: argparse.Namespace) -> list[dict[str, str]]:
    sources: list[dict[str, str]] = [
        {"key_file": str(Path(f).resolve())} for f in args.signer_key_file
    ]
    for entry in args.signer_kms:
        key_id, _, region = entry.rpartition("@")
        if not key_id or not region:
            raise SystemExit(f"--signer-kms wants KEY_ID@REGION, not {entry!r}")
        sources.append({"kms_key_id": key_id, "kms_region": region})
    return sources


def cmd_deploy(args: argparse.Namespace) -> None:
    w3 = connect(args)
    if args.dispute_window < 1:
        raise SystemExit("--dispute-window must be at least 1 second (0 makes results final)")
    threshold = args.threshold
    if not len(args.signer) / 2 < threshold <= len(args.signer):
        raise SystemExit("--threshold must be a strict majority of the signers (k > n/2)")
    address = deploy(
        w3,
        read_key(Path(args.admin_key_file)),
        args.signer,
        threshold,
        args.dispute_window,
        [args.transmitter],
        args.config_delay,
    )
    record: dict[str, Any] = {
        "chain_id": int(w3.eth.chain_id),
        "contract_address": address,
        "signers": ascending(args.signer),
        "threshold": threshold,
        "dispute_window_seconds": args.dispute_window,
        "config_delay_seconds": args.config_delay,
        "node": redact(rpc_url(args)),
    }
    sources = _signer_sources(args)
    if args.out is not None:
        if not args.transmitter_key_file or len(sources) != len(args.signer):
            raise SystemExit(
                "--out needs --transmitter-key-file and one key source per signer "
                "(--signer-key-file or --signer-kms)"
            )
        deployment = OracleDeployment(
            chain_id=record["chain_id"],
            contract_address=address,
            transmitter_key_file=str(Path(args.transmitter_key_file).resolve()),
            signers=tuple(sources),
        )
        Path(args.out).write_text(deployment.to_json())
        record["deployment_file"] = str(Path(args.out).resolve())
    out(record)


def cmd_propose(args: argparse.Namespace) -> None:
    w3 = connect(args)
    executable_at = propose_config(
        w3, read_key(Path(args.admin_key_file)), args.contract, args.signer, args.threshold
    )
    out(
        {
            "contract": args.contract,
            "signers": ascending(args.signer),
            "executable_at": executable_at,
        }
    )


def cmd_execute(args: argparse.Namespace) -> None:
    w3 = connect(args)
    version = execute_config(
        w3, read_key(Path(args.admin_key_file)), args.contract, args.signer, args.threshold
    )
    out({"contract": args.contract, "config_version": version})


def cmd_status(args: argparse.Namespace) -> None:
    w3 = connect(args)
    oracle = bind(w3, args.contract).functions
    out(
        {
            "chain_id": int(w3.eth.chain_id),
            "contract": Web3.to_checksum_address(args.contract),
            "config_version": oracle.configVersion().call(),
            "signers": list(oracle.signers().call()),
            "threshold": oracle.threshold().call(),
            "dispute_window_seconds": oracle.disputeWindow().call(),
            "config_delay_seconds": oracle.configDelay().call(),
            "chain_time": int(w3.eth.get_block("latest")["timestamp"]),
        }
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m services.oracle.adapters.chain.deploy_tool")
    commands = top.add_subparsers(dest="command", required=True)

    def with_node(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--rpc-url-file", help=f"the node URL (else ${RPC_URL_VARIABLE})")
        return sub

    keys = commands.add_parser("keys", help="fresh key files (0600) for a test network")
    keys.add_argument("--dir", required=True)
    keys.add_argument("--signers", type=int, default=3)
    keys.set_defaults(run=cmd_keys)

    dep = with_node(commands.add_parser("deploy", help="deploy the contract"))
    dep.add_argument("--admin-key-file", required=True)
    dep.add_argument("--signer", action="append", required=True, help="signer address")
    dep.add_argument("--threshold", type=int, required=True)
    dep.add_argument("--transmitter", required=True, help="the oracle's transmitter address")
    dep.add_argument("--dispute-window", type=int, default=DEFAULT_DISPUTE_WINDOW_SECONDS)
    dep.add_argument("--config-delay", type=int, default=DEFAULT_CONFIG_DELAY_SECONDS)
    dep.add_argument("--transmitter-key-file")
    dep.add_argument("--signer-key-file", action="append", default=[])
    dep.add_argument("--signer-kms", action="append", default=[], metavar="KEY_ID@REGION")
    dep.add_argument("--out", help="write the launcher's deployment file here")
    dep.set_defaults(run=cmd_deploy)

    for name, run in (("propose-signers", cmd_propose), ("execute-signers", cmd_execute)):
        sub = with_node(commands.add_parser(name, help="signer-set change through the timelock"))
        sub.add_argument("--admin-key-file", required=True)
        sub.add_argument("--contract", required=True)
        sub.add_argument("--signer", action="append", required=True)
        sub.add_argument("--threshold", type=int, required=True)
        sub.set_defaults(run=run)

    status = with_node(commands.add_parser("status", help="the contract's configuration"))
    status.add_argument("--contract", required=True)
    status.set_defaults(run=cmd_status)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (OSError, ValueError, RuntimeError) as exc:
        # Never the URL or a key: the exception's class and a bounded message, URL removed.
        message = str(exc)
        if getattr(args, "rpc_url_file", None) is not None or RPC_URL_VARIABLE in os.environ:
            with contextlib.suppress(SystemExit):
                message = message.replace(rpc_url(args), "<node>")
        print(f"error: {type(exc).__name__}: {message[:300]}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
