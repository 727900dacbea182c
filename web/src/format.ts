// Exact display of the contracts' fixed-point numbers: integers only, never a float in between,
// so 2.05 never shows as 2.04999.

/** Decimal odds from ten-thousandths, two decimals, rounded down like the odds ladder. */
export function formatOdds(oddsE4: bigint | number): string {
  const value = BigInt(oddsE4);
  if (value <= 0n) return "-";
  const whole = value / 10_000n;
  const cents = (value % 10_000n) / 100n;
  return `${whole}.${cents.toString().padStart(2, "0")}`;
}

/** Minor units to a localised amount with its currency (EUR: "12,50 €" in French). */
export function formatMoney(amountMinor: bigint | number, currency: string, locale: string): string {
  const value = BigInt(amountMinor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / 100n;
  const cents = abs % 100n;
  // Intl groups the whole part; the cents are appended as digits, not computed in floating point.
  const parts = new Intl.NumberFormat(locale, {
    style: "currency",
    currency: currency || "EUR",
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).formatToParts(0);
  const wholeText = new Intl.NumberFormat(locale, { useGrouping: true }).format(whole);
  let out = "";
  for (const part of parts) {
    if (part.type === "integer") out += wholeText;
    else if (part.type === "fraction") out += cents.toString().padStart(2, "0");
    else if (part.type === "minusSign") continue;
    else out += part.value;
  }
  return (negative ? "-" : "") + out;
}

/**
 * A typed amount ("12", "12.5", "12,50") to minor units; null when it is not a plain positive
 * amount with at most two decimals (no exponent, no sign, no thousands separators).
 */
export function parseAmountMinor(text: string): bigint | null {
  const match = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const whole = BigInt(match[1] ?? "0");
  const cents = BigInt((match[2] ?? "").padEnd(2, "0") || "0");
  return whole * 100n + cents;
}

/** Product of the legs' prices in ten-thousandths, rounded down once at the end (as the bets
 * service computes it with exact fractions: rounding each step would drift). */
export function combineOdds(legsE4: readonly bigint[]): bigint {
  let numerator = 1n;
  let denominator = 1n;
  for (const odds of legsE4) {
    numerator *= odds;
    denominator *= 10_000n;
  }
  return (numerator * 10_000n) / denominator;
}

/** The stake times every leg's price, in minor units, rounded down once. */
export function potentialPayoutMinor(stakeMinor: bigint, legsE4: readonly bigint[]): bigint {
  let numerator = stakeMinor;
  let denominator = 1n;
  for (const odds of legsE4) {
    numerator *= odds;
    denominator *= 10_000n;
  }
  return numerator / denominator;
}
