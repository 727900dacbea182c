// The board's state folded from StreamOdds messages, built with the generated schemas.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { OddsBoardState } from "../../build/unit/odds-state.js";
import { MarketStatus, PricingPhase } from "../../build/unit/gen/betmesh/common/v1/market_pb.js";
import {
  FullImageReason,
  StreamOddsResponseSchema,
} from "../../build/unit/gen/betmesh/live/v1/live_odds_service_pb.js";

const LIVE = PricingPhase.LIVE;

function market(id, status, prices) {
  return {
    marketId: id,
    name: id,
    status,
    selections: Object.entries(prices).map(([selectionId, oddsE4]) => ({ selectionId, name: selectionId, oddsE4 })),
  };
}

function odds(fixtureId, phase, markets) {
  return { fixture: { fixtureId }, phase, markets, betDelaySeconds: 6 };
}

function image(sequence, fixtures, complete = true, reason = FullImageReason.INITIAL) {
  return create(StreamOddsResponseSchema, {
    sequence: BigInt(sequence),
    resumeToken: `t${sequence}`,
    payload: { case: "fullImage", value: { reason, fixtures, complete } },
  });
}

function deltas(sequence, updates) {
  return create(StreamOddsResponseSchema, {
    sequence: BigInt(sequence),
    resumeToken: `t${sequence}`,
    payload: { case: "deltas", value: { updates } },
  });
}

test("a full image spread over messages replaces the board only once complete", () => {
  const state = new OddsBoardState();
  state.apply(image(1, [odds("old", LIVE, [])]));
  const partial = state.apply(image(2, [odds("f1", LIVE, [market("f1/MR", MarketStatus.ACTIVE, { home: 20000n })])], false));
  assert.equal(partial.replaced, false);
  assert.ok(state.fixtures.has("old|live"));
  const done = state.apply(image(3, [odds("f2", LIVE, [])], true, FullImageReason.RESUME_WINDOW_EXCEEDED));
  assert.equal(done.replaced, true);
  assert.deepEqual([...state.fixtures.keys()].sort(), ["f1|live", "f2|live"]);
  assert.equal(state.resumeToken, "t3");
});

test("odds_change carries only changed markets; moves and reopenings are reported", () => {
  const state = new OddsBoardState();
  state.apply(
    image(1, [
      odds("f1", LIVE, [
        market("f1/MR", MarketStatus.SUSPENDED, { home: 20000n, away: 30000n }),
        market("f1/TG", MarketStatus.ACTIVE, { over: 19000n }),
      ]),
    ]),
  );
  const applied = state.apply(
    deltas(2, [{ update: { case: "oddsChange", value: odds("f1", LIVE, [market("f1/MR", MarketStatus.ACTIVE, { home: 18000n, away: 30000n })]) } }]),
  );
  const entry = state.fixtures.get("f1|live");
  assert.equal(entry.markets.size, 2, "the untouched market is kept");
  assert.equal(entry.markets.get("f1/MR").selections[0].oddsE4, 18000n);
  assert.deepEqual(
    applied.changes.map((c) => [c.kind, c.marketId, c.selectionId ?? "", c.kind === "price" ? c.after : c.after]),
    [
      ["status", "f1/MR", "", MarketStatus.ACTIVE],
      ["price", "f1/MR", "home", 18000n],
    ],
  );
});

test("bet_stop suspends the named markets, or every open one; settlement closes them and asks for my bets", () => {
  const state = new OddsBoardState();
  state.apply(
    image(1, [
      odds("f1", LIVE, [
        market("f1/MR", MarketStatus.ACTIVE, { home: 20000n }),
        market("f1/TG", MarketStatus.ACTIVE, { over: 19000n }),
        market("f1/CS", MarketStatus.SETTLED, { "1-0": 70000n }),
      ]),
    ]),
  );
  const stop = state.apply(deltas(2, [{ update: { case: "betStop", value: { fixtureId: "f1", marketIds: [], status: MarketStatus.SUSPENDED } } }]));
  const markets = state.fixtures.get("f1|live").markets;
  assert.equal(markets.get("f1/MR").status, MarketStatus.SUSPENDED);
  assert.equal(markets.get("f1/TG").status, MarketStatus.SUSPENDED);
  assert.equal(markets.get("f1/CS").status, MarketStatus.SETTLED, "a settled market stays settled");
  assert.equal(stop.changes.length, 2);
  assert.equal(stop.settlementNews, false);
  const settled = state.apply(
    deltas(3, [{ update: { case: "betSettlement", value: { fixtureId: "f1", markets: [{ marketId: "f1/MR", results: [] }] } } }]),
  );
  assert.equal(markets.get("f1/MR").status, MarketStatus.SETTLED);
  assert.equal(markets.get("f1/TG").status, MarketStatus.SUSPENDED);
  assert.equal(settled.settlementNews, true);
});

test("pre-match and live books of one fixture are kept apart", () => {
  const state = new OddsBoardState();
  state.apply(
    image(1, [
      odds("f1", PricingPhase.PRE_MATCH, [market("f1/MR", MarketStatus.HANDED_OVER, { home: 21000n })]),
      odds("f1", LIVE, [market("f1/MR", MarketStatus.ACTIVE, { home: 19000n })]),
    ]),
  );
  assert.equal(state.offered("f1", "f1/MR").entry.key, "f1|live");
  assert.equal(state.fixtures.get("f1|pre").markets.get("f1/MR").status, MarketStatus.HANDED_OVER);
  // The live book's bet stop names the same market id: the handed-over book is not reopened to
  // "suspended", while the result settles both.
  state.apply(deltas(2, [{ update: { case: "betStop", value: { fixtureId: "f1", marketIds: ["f1/MR"], status: MarketStatus.SUSPENDED } } }]));
  assert.equal(state.fixtures.get("f1|live").markets.get("f1/MR").status, MarketStatus.SUSPENDED);
  assert.equal(state.fixtures.get("f1|pre").markets.get("f1/MR").status, MarketStatus.HANDED_OVER);
  state.apply(deltas(3, [{ update: { case: "betSettlement", value: { fixtureId: "f1", markets: [{ marketId: "f1/MR", results: [] }] } } }]));
  assert.equal(state.fixtures.get("f1|pre").markets.get("f1/MR").status, MarketStatus.SETTLED);
  assert.equal(state.fixtures.get("f1|live").markets.get("f1/MR").status, MarketStatus.SETTLED);
});

test("the live bet delay is the exact bet_delay_ms, the whole seconds only from an older stream", () => {
  const state = new OddsBoardState();
  state.apply(
    image(1, [
      { ...odds("f1", LIVE, []), betDelayMs: 40, betDelaySeconds: 1 },
      { ...odds("f2", LIVE, []), betDelaySeconds: 4 },
    ]),
  );
  assert.equal(state.fixtures.get("f1|live").betDelaySeconds, 0.04);
  assert.equal(state.fixtures.get("f2|live").betDelaySeconds, 4);
});
