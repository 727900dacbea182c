// The bet slip: singles (one bet per pick) or an accumulator, the odds-acceptance policy, the
// live bet delay, and the decision as the bets service gives it.
import { h, replaceChildren, type Announcer } from "./dom.js";
import { combineOdds, formatMoney, formatOdds, parseAmountMinor, potentialPayoutMinor } from "./format.js";
import { locale, t } from "./i18n.js";
import { describeError, type Api } from "./api.js";
import type { PickedSelection } from "./board.js";
import type { OddsBoardState } from "./odds-state.js";
import { isOpen } from "./odds-state.js";
import { BetStatus, OddsAcceptance, RejectionReason, type Bet } from "./gen/betmesh/bets/v1/bet_service_pb.js";

type Mode = "single" | "accumulator";

export class BetSlip {
  readonly picks: PickedSelection[] = [];
  private mode: Mode = "single";
  private acceptance: OddsAcceptance = OddsAcceptance.HIGHER;
  private stakeText = "";
  private busy = false;
  private message: { kind: "ok" | "error"; text: string } | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly state: OddsBoardState,
    private readonly playerId: () => string,
    private readonly announcer: Announcer,
    private readonly onChange: () => void,
    private readonly onPlaced: () => void,
  ) {}

  isPicked(boardKey: string, marketId: string, selectionId: string): boolean {
    return this.picks.some((p) => p.boardKey === boardKey && p.marketId === marketId && p.selectionId === selectionId);
  }

  toggle(pick: PickedSelection): void {
    const index = this.picks.findIndex(
      (p) => p.boardKey === pick.boardKey && p.marketId === pick.marketId && p.selectionId === pick.selectionId,
    );
    if (index >= 0) this.picks.splice(index, 1);
    else this.picks.push(pick);
    if (this.picks.length < 2) this.mode = "single";
    this.message = null;
    this.render();
    this.onChange();
  }

  /** The board moved: the slip shows (and bets on) the price now offered. */
  refreshPrices(): void {
    for (const pick of this.picks) {
      const market = this.state.fixtures.get(pick.boardKey)?.markets.get(pick.marketId);
      const selection = market?.selections.find((s) => s.selectionId === pick.selectionId);
      if (selection) pick.oddsE4 = selection.oddsE4;
    }
    this.render();
  }

  private legOpen(pick: PickedSelection): boolean {
    const market = this.state.fixtures.get(pick.boardKey)?.markets.get(pick.marketId);
    return market !== undefined && isOpen(market.status);
  }

  render(): void {
    const stake = parseAmountMinor(this.stakeText);
    const legs = this.picks.map((p) => p.oddsE4);
    const accumulator = this.mode === "accumulator" && this.picks.length > 1;
    const sameFixture = accumulator && new Set(this.picks.map((p) => p.fixtureId)).size < this.picks.length;
    const suspended = this.picks.some((p) => !this.legOpen(p));
    const liveDelay = Math.max(0, ...this.picks.filter((p) => p.live).map((p) => p.betDelaySeconds));
    const payout =
      stake === null
        ? null
        : accumulator
          ? potentialPayoutMinor(stake, legs)
          : this.picks.reduce((sum, p) => sum + potentialPayoutMinor(stake, [p.oddsE4]), 0n);
    if (this.picks.length === 0) {
      replaceChildren(this.root, h("h2", {}, t("slip")), h("p", {}, t("slipEmpty")), this.messageLine());
      return;
    }
    const radio = (name: string, value: string, checked: boolean, label: string, onchange: () => void) =>
      h("label", {}, h("input", { type: "radio", name, value, checked, onchange }), " ", label);
    replaceChildren(
      this.root,
      h("h2", {}, t("slip")),
      h(
        "ul",
        { class: "legs" },
        this.picks.map((pick) =>
          h(
            "li",
            { class: this.legOpen(pick) ? "" : "suspended", "data-testid": "slip-leg" },
            h("span", {}, `${pick.fixtureName} · ${pick.marketName}: `, h("strong", {}, pick.selectionName)),
            " ",
            h("span", { class: "odds", "data-testid": "slip-odds" }, formatOdds(pick.oddsE4)),
            this.legOpen(pick) ? null : h("span", { class: "badge" }, t("suspended")),
            h(
              "button",
              { type: "button", class: "link", "aria-label": t("remove", { sel: pick.selectionName }), onclick: () => this.toggle(pick) },
              "×",
            ),
          ),
        ),
      ),
      this.picks.length > 1
        ? h(
            "fieldset",
            {},
            h("legend", {}, t("single"), " / ", t("accumulator")),
            radio("mode", "single", !accumulator, t("single"), () => this.setMode("single")),
            radio("mode", "accumulator", accumulator, t("accumulator"), () => this.setMode("accumulator")),
          )
        : null,
      accumulator ? h("p", {}, `${t("combinedOdds")}: `, h("strong", { "data-testid": "combined-odds" }, formatOdds(combineOdds(legs)))) : null,
      h(
        "label",
        { class: "field" },
        t("stake"),
        h("input", {
          type: "text",
          inputmode: "decimal",
          name: "stake",
          value: this.stakeText,
          autocomplete: "off",
          oninput: (e: Event) => {
            this.stakeText = (e.target as HTMLInputElement).value;
            const out = this.root.querySelector("[data-testid=payout]");
            const s = parseAmountMinor(this.stakeText);
            if (out) {
              const p =
                s === null
                  ? null
                  : accumulator
                    ? potentialPayoutMinor(s, legs)
                    : this.picks.reduce((sum, pk) => sum + potentialPayoutMinor(s, [pk.oddsE4]), 0n);
              out.textContent = p === null ? "-" : formatMoney(p, "EUR", locale());
            }
          },
        }),
      ),
      h("p", {}, `${t("potentialPayout")}: `, h("strong", { "data-testid": "payout" }, payout === null ? "-" : formatMoney(payout, "EUR", locale()))),
      h(
        "fieldset",
        {},
        h("legend", {}, t("acceptance")),
        radio("acceptance", "NONE", this.acceptance === OddsAcceptance.NONE, t("acceptNone"), () => (this.acceptance = OddsAcceptance.NONE)),
        radio("acceptance", "ANY", this.acceptance === OddsAcceptance.ANY, t("acceptAny"), () => (this.acceptance = OddsAcceptance.ANY)),
        radio("acceptance", "HIGHER", this.acceptance === OddsAcceptance.HIGHER, t("acceptHigher"), () => (this.acceptance = OddsAcceptance.HIGHER)),
      ),
      liveDelay ? h("p", { class: "note", "data-testid": "live-delay" }, t("liveDelayNote", { s: liveDelay })) : null,
      sameFixture ? h("p", { class: "error" }, t("sameFixture")) : null,
      suspended ? h("p", { class: "error" }, t("suspendedLeg")) : null,
      h(
        "button",
        { type: "button", class: "primary", disabled: this.busy || sameFixture || suspended, onclick: () => void this.place() },
        this.busy ? (liveDelay ? t("waitingDelay") : t("placing")) : t("placeBet"),
      ),
      this.messageLine(),
    );
  }

  private messageLine(): HTMLElement {
    return h(
      "p",
      { class: `message ${this.message?.kind ?? ""}`, role: "status", "data-testid": "slip-message" },
      this.message?.text ?? "",
    );
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    this.render();
  }

  private async place(): Promise<void> {
    const stake = parseAmountMinor(this.stakeText);
    if (stake === null || stake === 0n) {
      this.message = { kind: "error", text: t("invalidAmount") };
      this.render();
      return;
    }
    const accumulator = this.mode === "accumulator" && this.picks.length > 1;
    const groups = accumulator ? [this.picks.slice()] : this.picks.map((p) => [p]);
    this.busy = true;
    this.message = null;
    this.render();
    const outcomes: string[] = [];
    let allAccepted = true;
    for (const group of groups) {
      const live = group.some((p) => p.live);
      try {
        const response = await this.api.bets.placeBet({
          // One key per submission: a retried request cannot place the bet twice.
          idempotencyKey: crypto.randomUUID(),
          playerId: this.playerId(),
          legs: group.map((p) => ({
            fixtureId: p.fixtureId,
            marketId: p.marketId,
            selectionId: p.selectionId,
            oddsE4: p.oddsE4,
          })),
          stake: { amountMinor: stake, currency: "EUR" },
          oddsAcceptance: this.acceptance,
          live,
          waitForDecision: live,
        });
        const text = describeBet(response.bet);
        if (response.bet?.status === BetStatus.REJECTED) allAccepted = false;
        outcomes.push(text);
      } catch (error) {
        allAccepted = false;
        outcomes.push(`${t("rejected")}: ${describeError(error)}`);
      }
    }
    this.busy = false;
    this.message = { kind: allAccepted ? "ok" : "error", text: outcomes.join(" · ") };
    this.announcer.say(this.message.text);
    if (allAccepted) {
      this.picks.length = 0;
      this.stakeText = "";
      this.onChange();
    }
    this.render();
    this.onPlaced();
  }
}

export function describeBet(bet: Bet | undefined): string {
  if (!bet) return t("error");
  if (bet.status === BetStatus.REJECTED) {
    const reason = RejectionReason[bet.rejectionReason] ?? String(bet.rejectionReason);
    const hint = bet.rejectionReason === RejectionReason.STAKE_CAP_NOT_SET ? ` ${t("stakeCapRequired")}` : "";
    return `${t("rejected")}: ${reason}${bet.rejectionMessage ? ` (${bet.rejectionMessage})` : ""}.${hint}`;
  }
  return `${t("accepted")} · ${formatOdds(bet.oddsE4)}`;
}
