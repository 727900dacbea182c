"""A partner's odds stream client in Python (grpcio), as docs/partners.md describes it.

    python examples/partners/stream_odds.py --identity HOST:PORT --live HOST:PORT \
        --client-id partner-acme --secret-file .betmesh/clients/partner-acme.secret \
        [--fixture FIXTURE_ID ...] [--updates N] [--insecure]

It gets a token with its client credential (IdentityService.IssueToken, audience
"betmesh.live"), opens StreamOdds, keeps the last resume token of every message, and on a
drop resumes with it (UNAVAILABLE, CONSUMER_TOO_SLOW, a token that expired: a new one first);
it stops on errors that retrying cannot fix. One JSON line per message; after N odds updates
(0: forever) it prints {"done": true, ...} and exits 0.

Needs the generated stubs on the path (gen/python in this repository) or your own from protos/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "gen" / "python"))

from betmesh.identity.v1 import identity_service_pb2 as ipb  # noqa: E402
from betmesh.identity.v1 import identity_service_pb2_grpc  # noqa: E402
from betmesh.live.v1 import live_odds_service_pb2 as pb  # noqa: E402
from betmesh.live.v1 import live_odds_service_pb2_grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

# Keepalive as docs/partners.md recommends: the server accepts a ping every 5 s and more.
KEEPALIVE = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]
# Reasons a resume (or a new token, then a resume) fixes; anything else stops the client.
RESUMABLE = {"CONSUMER_TOO_SLOW", "JOURNAL_BEHIND", ""}


def reason_of(error: grpc.RpcError) -> str:
    """google.rpc.ErrorInfo.reason from the status details, "" when there is none."""
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info.reason
    return ""


def token_for(identity: str, client_id: str, secret: str, channel_options: list) -> str:
    with grpc.insecure_channel(identity, options=channel_options) as channel:
        stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
        issued = stub.IssueToken(
            ipb.IssueTokenRequest(
                client_id=client_id, client_secret=secret, audience="betmesh.live"
            ),
            timeout=10,
        )
    return issued.access_token.token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stream_odds.py")
    parser.add_argument("--identity", required=True)
    parser.add_argument("--live", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--secret-file", required=True, type=Path)
    parser.add_argument("--fixture", action="append", default=[])
    parser.add_argument("--updates", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no)")
    args = parser.parse_args(argv)
    secret = args.secret_file.read_text().strip()  # never printed, never logged
    token = token_for(args.identity, args.client_id, secret, KEEPALIVE)
    resume_token = ""
    updates = resumes = 0
    stop_at = time.monotonic() + args.seconds if args.seconds else None
    channel = grpc.insecure_channel(args.live, options=KEEPALIVE)
    stub = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)
    while True:
        request = pb.StreamOddsRequest(heartbeat_interval_ms=1000)
        if resume_token:
            request.resume_token = resume_token  # the filter travels in the token
        else:
            request.filter.fixture_ids.extend(args.fixture)
        call = stub.StreamOdds(request, metadata=[("authorization", f"Bearer {token}")])
        try:
            for message in call:
                resume_token = message.resume_token
                kind = message.WhichOneof("payload")
                line = {"sequence": message.sequence, "payload": kind}
                if kind == "deltas":
                    line["updates"] = [
                        json_format.MessageToDict(u, preserving_proto_field_name=True)
                        for u in message.deltas.updates
                    ]
                    updates += len(message.deltas.updates)
                elif kind == "full_image":
                    line["reason"] = pb.FullImageReason.Name(message.full_image.reason)
                    line["fixtures"] = [f.fixture.fixture_id for f in message.full_image.fixtures]
                elif kind == "heartbeat":
                    line["lag_ms"] = message.heartbeat.lag_ms
                print(json.dumps(line), flush=True)
                done = args.updates and updates >= args.updates
                if done or (stop_at is not None and time.monotonic() > stop_at):
                    call.cancel()
                    print(json.dumps({"done": True, "updates": updates, "resumes": resumes}))
                    return 0
        except grpc.RpcError as error:
            code, reason = error.code(), reason_of(error)  # type: ignore[attr-defined]
            print(json.dumps({"stream_error": code.name, "reason": reason}), flush=True)
            if code == grpc.StatusCode.UNAUTHENTICATED:
                token = token_for(args.identity, args.client_id, secret, KEEPALIVE)
            elif reason in ("RESUME_TOKEN_EXPIRED", "RESUME_TOKEN_STALE"):
                resume_token = ""  # subscribe afresh: a full image follows
            elif code not in (grpc.StatusCode.UNAVAILABLE,) and reason not in RESUMABLE:
                return 1
            resumes += 1
            time.sleep(min(2.0, 0.2 * resumes))


if __name__ == "__main__":
    sys.exit(main())
