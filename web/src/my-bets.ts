// "My bets": the player's bets, looked at again when the stream reports a settlement and, while
// some are still open, every few seconds (settlement happens once the result is final on chain).
import { h, replaceChildren, type Announcer } from "./dom.js";
import { formatMoney, formatOdds } from "./format.js";
import { locale, t, type Key } from "./i18n.js";
import { describeError, type Api } from "./api.js";
import { BetStatus, type Bet } from "./gen/betmesh/bets/v1/bet_service_pb.js";

const OPEN = new Set([BetStatus.PENDING, BetStatus.ACCEPTED]);
const POLL_MS = 3_000;

const STATUS_TEXT: Partial<Record<BetStatus, Key>> = {
  [BetStatus.PENDING]: "status_PENDING",
  [BetStatus.ACCEPTED]: "status_ACCEPTED",
  [BetStatus.REJECTED]: "status_REJECTED",
  [BetStatus.WON]: "status_WON",
  [BetStatus.LOST]: "status_LOST",
  [BetStatus.VOID]: "status_VOID",
  [BetStatus.HALF_WON]: "status_HALF_WON",
  [BetStatus.HALF_LOST]: "status_HALF_LOST",
  [BetStatus.CASHED_OUT]: "status_CASHED_OUT",
};

export function statusName(status: BetStatus): string {
  const key = STATUS_TEXT[status];
  return key ? t(key) : String(status);
}

export class MyBets {
  private bets: Bet[] = [];
  private error = "";
  private timer: number | undefined;
  private readonly known = new Map<string, BetStatus>();

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly playerId: () => string,
    private readonly announcer: Announcer,
    private readonly onSettled: () => void,
    // The board knows fixtures' names; a bet's own fixture_name may only be its id.
    private readonly fixtureName: (fixtureId: string) => string | undefined = () => undefined,
  ) {}

  async refresh(): Promise<void> {
    window.clearTimeout(this.timer);
    try {
      const response = await this.api.bets.listBets({ playerId: this.playerId(), pageSize: 50 });
      this.bets = response.bets;
      this.error = "";
      let settled = false;
      for (const bet of this.bets) {
        const before = this.known.get(bet.betId);
        if (before !== undefined && before !== bet.status) {
          const leg = bet.legs[0];
          const name = leg ? this.fixtureName(leg.fixtureId) || leg.fixtureName : bet.betId;
          this.announcer.say(`${name}: ${statusName(bet.status)}`);
          if (OPEN.has(before) && !OPEN.has(bet.status)) settled = true;
        }
        this.known.set(bet.betId, bet.status);
      }
      if (settled) this.onSettled();
    } catch (error) {
      this.error = describeError(error);
    }
    this.render();
    if (this.bets.some((b) => OPEN.has(b.status))) {
      this.timer = window.setTimeout(() => void this.refresh(), POLL_MS);
    }
  }

  stop(): void {
    window.clearTimeout(this.timer);
  }

  render(): void {
    const money = (m: { amountMinor: bigint; currency: string } | undefined) =>
      m ? formatMoney(m.amountMinor, m.currency, locale()) : "";
    replaceChildren(
      this.root,
      h("h2", {}, t("myBets")),
      this.error ? h("p", { class: "error" }, this.error) : null,
      this.bets.length === 0
        ? h("p", {}, t("noBets"))
        : h(
            "ul",
            { class: "bets", "data-testid": "bets" },
            this.bets.map((bet) =>
              h(
                "li",
                {
                  class: `bet ${BetStatus[bet.status]?.toLowerCase() ?? ""}`,
                  "data-bet-id": bet.betId,
                  "data-status": BetStatus[bet.status] ?? "",
                  "data-fixtures": bet.legs.map((leg) => leg.fixtureId).join(" "),
                },
                h("span", { class: "badge status" }, statusName(bet.status)),
                bet.live ? h("span", { class: "phase live" }, t("live")) : null,
                " ",
                h(
                  "span",
                  {},
                  bet.legs
                    .map((leg) => `${this.fixtureName(leg.fixtureId) || leg.fixtureName || leg.fixtureId} · ${leg.marketName || leg.marketId}: ${leg.selectionName || leg.selectionId} @ ${formatOdds(leg.acceptedOddsE4 || leg.oddsE4)}`)
                    .join(" + "),
                ),
                " — ",
                h("span", {}, `${money(bet.stake)} @ ${formatOdds(bet.oddsE4)}`),
                " ",
                OPEN.has(bet.status)
                  ? h("span", {}, t("potential", { amount: money(bet.potentialPayout) }))
                  : bet.payout
                    ? h("span", { "data-testid": "paid" }, t("paid", { amount: money(bet.payout) }))
                    : null,
              ),
            ),
          ),
    );
  }
}
