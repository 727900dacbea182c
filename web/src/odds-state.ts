// The board's state, folded from StreamOdds messages. Pure: no DOM, no network, so the rules
// (odds_change carries only changed markets, bet_stop closes markets, a full image replaces
// everything once complete) are unit-tested on their own.
import type { Market } from "./gen/betmesh/common/v1/market_pb.js";
import { MarketStatus, PricingPhase } from "./gen/betmesh/common/v1/market_pb.js";
import type { Fixture } from "./gen/betmesh/common/v1/sport_pb.js";
import type { GameState } from "./gen/betmesh/common/v1/game_state_pb.js";
import type { FixtureOdds, StreamOddsResponse } from "./gen/betmesh/live/v1/live_odds_service_pb.js";
import { FullImageReason } from "./gen/betmesh/live/v1/live_odds_service_pb.js";

export interface BoardFixture {
  key: string; // fixture_id + phase: pre-match and live prices are separate books
  fixture: Fixture | undefined;
  phase: PricingPhase;
  gameState: GameState | undefined;
  // The live bet delay bets applies, exact (bet_delay_ms; the rounded-up seconds from a stream
  // that predates it); may be a fraction of a second on a replayed feed.
  betDelaySeconds: number;
  markets: Map<string, Market>;
}

export type Change =
  | { kind: "price"; key: string; marketId: string; selectionId: string; before: bigint; after: bigint }
  | { kind: "status"; key: string; marketId: string; before: MarketStatus; after: MarketStatus };

export interface Applied {
  /** Board keys whose display changed. */
  touched: Set<string>;
  /** Price moves and status changes, for highlights and the screen reader's announcements. */
  changes: Change[];
  /** Fixtures with settlement news: "my bets" should look again. */
  settlementNews: boolean;
  /** A complete image replaced the board. */
  replaced: boolean;
}

export function boardKey(fixtureId: string, phase: PricingPhase): string {
  return `${fixtureId}|${phase === PricingPhase.LIVE ? "live" : "pre"}`;
}

export class OddsBoardState {
  readonly fixtures = new Map<string, BoardFixture>();
  resumeToken = "";
  lastSequence = 0n;
  private pendingImage: FixtureOdds[] | null = null;

  apply(message: StreamOddsResponse): Applied {
    const applied: Applied = { touched: new Set(), changes: [], settlementNews: false, replaced: false };
    if (message.resumeToken) this.resumeToken = message.resumeToken;
    this.lastSequence = message.sequence;
    const payload = message.payload;
    if (payload.case === "fullImage") {
      const image = payload.value;
      // A filter change adds fixtures to what we have; every other image is the whole truth.
      const merge = image.reason === FullImageReason.FILTER_CHANGED;
      this.pendingImage = [...(this.pendingImage ?? []), ...image.fixtures];
      if (!image.complete) return applied;
      const fixtures = this.pendingImage;
      this.pendingImage = null;
      if (!merge) {
        for (const key of this.fixtures.keys()) applied.touched.add(key);
        this.fixtures.clear();
        applied.replaced = true;
      }
      for (const odds of fixtures) this.upsert(odds, applied, false);
    } else if (payload.case === "deltas") {
      for (const update of payload.value.updates) {
        const u = update.update;
        switch (u.case) {
          case "oddsChange":
            this.upsert(u.value, applied, true);
            break;
          case "betStop":
            this.stop(u.value.fixtureId, u.value.marketIds, u.value.status || MarketStatus.SUSPENDED, applied);
            break;
          case "betSettlement":
            this.stop(
              u.value.fixtureId,
              u.value.markets.map((m) => m.marketId),
              MarketStatus.SETTLED,
              applied,
            );
            applied.settlementNews = true;
            break;
          case "rollbackBetSettlement":
          case "betCancel":
            applied.settlementNews = true;
            break;
          case "fixtureChange":
            for (const entry of this.fixtures.values()) {
              if (entry.fixture?.fixtureId === u.value.fixture?.fixtureId) {
                entry.fixture = u.value.fixture;
                applied.touched.add(entry.key);
              }
            }
            break;
          default:
            break;
        }
      }
    }
    return applied;
  }

  private upsert(odds: FixtureOdds, applied: Applied, diff: boolean): void {
    const fixtureId = odds.fixture?.fixtureId ?? "";
    if (!fixtureId) return;
    const key = boardKey(fixtureId, odds.phase);
    let entry = this.fixtures.get(key);
    const betDelaySeconds = odds.betDelayMs ? odds.betDelayMs / 1000 : odds.betDelaySeconds;
    if (!entry) {
      entry = {
        key,
        fixture: odds.fixture,
        phase: odds.phase,
        gameState: odds.gameState,
        betDelaySeconds,
        markets: new Map(),
      };
      this.fixtures.set(key, entry);
    }
    entry.fixture = odds.fixture ?? entry.fixture;
    if (odds.gameState) entry.gameState = odds.gameState;
    if (betDelaySeconds) entry.betDelaySeconds = betDelaySeconds;
    for (const market of odds.markets) {
      const before = entry.markets.get(market.marketId);
      if (diff && before) {
        if (before.status !== market.status) {
          applied.changes.push({ kind: "status", key, marketId: market.marketId, before: before.status, after: market.status });
        }
        const old = new Map(before.selections.map((s) => [s.selectionId, s.oddsE4]));
        for (const selection of market.selections) {
          const was = old.get(selection.selectionId);
          if (was !== undefined && was !== selection.oddsE4) {
            applied.changes.push({
              kind: "price",
              key,
              marketId: market.marketId,
              selectionId: selection.selectionId,
              before: was,
              after: selection.oddsE4,
            });
          }
        }
      }
      entry.markets.set(market.marketId, market);
    }
    applied.touched.add(key);
  }

  private stop(fixtureId: string, marketIds: readonly string[], status: MarketStatus, applied: Applied): void {
    const wanted = new Set(marketIds);
    for (const entry of this.fixtures.values()) {
      if (entry.fixture?.fixtureId !== fixtureId) continue;
      for (const market of entry.markets.values()) {
        if (wanted.size && !wanted.has(market.marketId)) continue;
        if (market.status === status) continue;
        // A bet stop names markets by id, and both books of a fixture use the same ids: a
        // market closed for good (handed over to live, settled) stays as it is; only a result
        // settles every book.
        if (isFinal(market.status) && status !== MarketStatus.SETTLED && status !== MarketStatus.CANCELLED) continue;
        applied.changes.push({ kind: "status", key: entry.key, marketId: market.marketId, before: market.status, after: status });
        market.status = status;
        applied.touched.add(entry.key);
      }
    }
  }

  /** The live book of a fixture if there is one, else its pre-match book. */
  offered(fixtureId: string, marketId: string): { entry: BoardFixture; market: Market } | undefined {
    for (const phase of [PricingPhase.LIVE, PricingPhase.PRE_MATCH]) {
      const entry = this.fixtures.get(boardKey(fixtureId, phase));
      const market = entry?.markets.get(marketId);
      if (entry && market) return { entry, market };
    }
    return undefined;
  }
}

export function isFinal(status: MarketStatus): boolean {
  return (
    status === MarketStatus.HANDED_OVER || status === MarketStatus.SETTLED || status === MarketStatus.CANCELLED
  );
}

export function isOpen(status: MarketStatus): boolean {
  return status === MarketStatus.ACTIVE;
}
