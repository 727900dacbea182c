// One gRPC-web transport to the edge (same origin as the app) and typed clients over it.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BetService } from "./gen/betmesh/bets/v1/bet_service_pb.js";
import { ConsensusGatewayService } from "./gen/betmesh/gateway/v1/consensus_gateway_service_pb.js";
import { FixtureService } from "./gen/betmesh/gateway/v1/fixture_service_pb.js";
import { IdentityService } from "./gen/betmesh/identity/v1/identity_service_pb.js";
import { LiveOddsService } from "./gen/betmesh/live/v1/live_odds_service_pb.js";
import { OracleService } from "./gen/betmesh/oracle/v1/oracle_service_pb.js";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

export type TokenFor = (service: string) => string | undefined;

export interface Api {
  bets: Client<typeof BetService>;
  live: Client<typeof LiveOddsService>;
  identity: Client<typeof IdentityService>;
  gateway: Client<typeof ConsensusGatewayService>;
  fixtures: Client<typeof FixtureService>;
  oracle: Client<typeof OracleService>;
}

/** Edge origin: the page's own unless a dev build points elsewhere (VITE_EDGE_URL). */
export function edgeUrl(): string {
  const configured: string | undefined = import.meta.env.VITE_EDGE_URL;
  return configured || location.origin;
}

export function createApi(tokenFor: TokenFor, onUnauthenticated: () => void): Api {
  const bearer: Interceptor = (next) => async (req) => {
    const token = tokenFor(req.service.typeName);
    if (token) req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.Unauthenticated) onUnauthenticated();
      throw error;
    }
  };
  const transport = createGrpcWebTransport({
    baseUrl: edgeUrl(),
    useBinaryFormat: true,
    interceptors: [bearer],
  });
  return {
    bets: createClient(BetService, transport),
    live: createClient(LiveOddsService, transport),
    identity: createClient(IdentityService, transport),
    gateway: createClient(ConsensusGatewayService, transport),
    fixtures: createClient(FixtureService, transport),
    oracle: createClient(OracleService, transport),
  };
}

/** The machine-readable reason the services put in google.rpc.ErrorInfo, if any. */
export function errorReason(error: unknown): string {
  if (!(error instanceof ConnectError)) return "";
  const [info] = error.findDetails(ErrorInfoSchema);
  return info?.reason ?? "";
}

export function describeError(error: unknown): string {
  if (error instanceof ConnectError) {
    const reason = errorReason(error);
    return `${Code[error.code]}${reason ? ` ${reason}` : ""}: ${error.rawMessage}`;
  }
  return String(error);
}
