// Exact money and odds arithmetic, as the bets service does it (integers, rounded down once).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  combineOdds,
  formatMoney,
  formatOdds,
  parseAmountMinor,
  potentialPayoutMinor,
} from "../../build/unit/format.js";

test("odds in ten-thousandths show two decimals, rounded down like the ladder", () => {
  assert.equal(formatOdds(25000n), "2.50");
  assert.equal(formatOdds(10100n), "1.01");
  assert.equal(formatOdds(20499n), "2.04");
  assert.equal(formatOdds(0n), "-");
});

test("amounts typed with a comma or a dot become exact minor units", () => {
  assert.equal(parseAmountMinor("12,5"), 1250n);
  assert.equal(parseAmountMinor("12.05"), 1205n);
  assert.equal(parseAmountMinor(" 100 "), 10000n);
  for (const bad of ["", "-5", "1e3", "1.234", "12,50 €", "1 000"]) {
    assert.equal(parseAmountMinor(bad), null, bad);
  }
});

test("money is formatted from integers (no float rounding) in the player's language", () => {
  assert.equal(formatMoney(123456789n, "EUR", "en-GB"), "€1,234,567.89");
  assert.equal(formatMoney(5n, "EUR", "en-GB"), "€0.05");
  assert.equal(formatMoney(-1050n, "EUR", "en-GB"), "-€10.50");
  assert.match(formatMoney(1250n, "EUR", "fr-FR"), /^12,50\s€$/);
});

test("accumulator odds and payouts round down once, at the end", () => {
  // 1.55 x 1.55 x 1.55 = 3.723875: 3.7238 (rounding each step would give 3.7237).
  assert.equal(combineOdds([15500n, 15500n, 15500n]), 37238n);
  assert.equal(potentialPayoutMinor(1000n, [15500n, 15500n, 15500n]), 3723n);
  assert.equal(potentialPayoutMinor(333n, [30000n]), 999n);
  assert.equal(combineOdds([]), 10000n);
});
