// Wallet, deposit and the French regulator's (ANJ) limits: 7-day deposit and stake caps (set by
// the player through identity; cuts at once, raises after 48 h), restrictions, self-exclusion.
import { h, replaceChildren } from "./dom.js";
import { formatMoney, parseAmountMinor } from "./format.js";
import { locale, t } from "./i18n.js";
import { describeError, type Api } from "./api.js";
import type { Money } from "./gen/betmesh/common/v1/money_pb.js";
import type { Wallet } from "./gen/betmesh/bets/v1/bet_service_pb.js";
import { AccountRestriction, KycStatus, type Player, type ResponsibleGamblingLimits } from "./gen/betmesh/identity/v1/identity_service_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

function money(m: Money | undefined): string {
  return m ? formatMoney(m.amountMinor, m.currency, locale()) : t("notSet");
}

function when(ts: Timestamp | undefined): string {
  return ts ? new Date(Number(ts.seconds) * 1000).toLocaleString(locale()) : "";
}

export class WalletPanel {
  private wallet: Wallet | undefined;
  private limits: ResponsibleGamblingLimits | undefined;
  private player: Player | undefined;
  private message: { kind: "ok" | "error"; text: string } | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly playerId: () => string,
  ) {}

  async refresh(): Promise<void> {
    const playerId = this.playerId();
    const [wallet, limits, player] = await Promise.allSettled([
      this.api.bets.getWallet({ playerId }),
      this.api.identity.getResponsibleGamblingLimits({ playerId }),
      this.api.identity.getPlayer({ playerId }),
    ]);
    if (wallet.status === "fulfilled") this.wallet = wallet.value.wallet;
    if (limits.status === "fulfilled") this.limits = limits.value.limits;
    if (player.status === "fulfilled") this.player = player.value.player;
    const failed = [wallet, limits, player].find((r) => r.status === "rejected");
    if (failed && failed.status === "rejected" && !this.message) {
      this.message = { kind: "error", text: describeError(failed.reason) };
    }
    this.render();
  }

  render(): void {
    const limits = this.limits;
    const player = this.player;
    const excludedUntil = player?.selfExcludedUntil;
    const restrictions = (player?.restrictions ?? []).map((r) => AccountRestriction[r]).filter(Boolean);
    replaceChildren(
      this.root,
      h("h2", {}, t("wallet")),
      h(
        "dl",
        { class: "figures" },
        h("dt", {}, t("balance")),
        h("dd", { "data-testid": "balance" }, money(this.wallet?.balance ?? { amountMinor: 0n, currency: "EUR" } as Money)),
        h("dt", {}, t("held")),
        h("dd", { "data-testid": "held" }, money(this.wallet?.held ?? { amountMinor: 0n, currency: "EUR" } as Money)),
        player ? h("dt", {}, t("kycStatus")) : null,
        player ? h("dd", { "data-testid": "kyc" }, KycStatus[player.kycStatus] ?? "") : null,
      ),
      excludedUntil && Number(excludedUntil.seconds) * 1000 > Date.now()
        ? h("p", { class: "error", "data-testid": "self-excluded" }, t("selfExcluded", { when: when(excludedUntil) }))
        : null,
      restrictions.length ? h("p", { class: "error" }, `${t("restrictions")}: ${restrictions.join(", ")}`) : null,
      h(
        "form",
        { class: "inline", "aria-label": t("deposit"), onsubmit: (e: Event) => void this.deposit(e) },
        h("label", { class: "field" }, t("amount"), h("input", { name: "amount", type: "text", inputmode: "decimal", required: true, autocomplete: "off" })),
        h("button", { type: "submit" }, t("deposit")),
      ),
      h("h3", {}, t("limits")),
      h(
        "dl",
        { class: "figures" },
        h("dt", {}, t("depositCap")),
        h("dd", { "data-testid": "deposit-cap" }, money(limits?.depositCap7d),
          limits?.pendingDepositCap7d ? ` (${t("pending", { amount: money(limits.pendingDepositCap7d), when: when(limits.pendingDepositCapEffectiveAt) })})` : ""),
        h("dt", {}, t("stakeCap")),
        h("dd", { "data-testid": "stake-cap" }, money(limits?.stakeCap7d),
          limits?.pendingStakeCap7d ? ` (${t("pending", { amount: money(limits.pendingStakeCap7d), when: when(limits.pendingStakeCapEffectiveAt) })})` : ""),
      ),
      limits?.stakeCap7d ? null : h("p", { class: "note" }, t("stakeCapRequired")),
      h(
        "form",
        { class: "inline", "aria-label": t("limits"), onsubmit: (e: Event) => void this.saveLimits(e) },
        h("label", { class: "field" }, t("depositCap"), h("input", { name: "deposit_cap", type: "text", inputmode: "decimal", autocomplete: "off" })),
        h("label", { class: "field" }, t("stakeCap"), h("input", { name: "stake_cap", type: "text", inputmode: "decimal", autocomplete: "off" })),
        h("button", { type: "submit" }, t("saveLimits")),
      ),
      h(
        "details",
        {},
        h("summary", {}, t("selfExclude")),
        h(
          "form",
          { class: "inline", onsubmit: (e: Event) => void this.selfExclude(e) },
          h("label", { class: "field" }, t("selfExcludeDays"), h("input", { name: "days", type: "number", min: 1, max: 365, required: true })),
          h("button", { type: "submit", class: "danger" }, t("selfExclude")),
        ),
      ),
      h("p", { class: `message ${this.message?.kind ?? ""}`, role: "status", "data-testid": "wallet-message" }, this.message?.text ?? ""),
    );
  }

  private async deposit(event: Event): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const amount = parseAmountMinor((form.elements.namedItem("amount") as HTMLInputElement).value);
    if (amount === null || amount === 0n) return this.show("error", t("invalidAmount"));
    try {
      const response = await this.api.bets.deposit({
        idempotencyKey: crypto.randomUUID(),
        playerId: this.playerId(),
        amount: { amountMinor: amount, currency: "EUR" },
        paymentMethodId: "sandbox-card",
      });
      this.wallet = response.wallet ?? this.wallet;
      this.show("ok", t("deposited", { amount: formatMoney(amount, "EUR", locale()) }));
      form.reset();
    } catch (error) {
      this.show("error", describeError(error));
    }
  }

  private async saveLimits(event: Event): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const read = (name: string) => {
      const text = (form.elements.namedItem(name) as HTMLInputElement).value.trim();
      return text === "" ? undefined : parseAmountMinor(text);
    };
    const depositCap = read("deposit_cap");
    const stakeCap = read("stake_cap");
    if (depositCap === null || stakeCap === null) return this.show("error", t("invalidAmount"));
    try {
      const response = await this.api.identity.setResponsibleGamblingLimits({
        playerId: this.playerId(),
        depositCap7d: depositCap === undefined ? undefined : { amountMinor: depositCap, currency: "EUR" },
        stakeCap7d: stakeCap === undefined ? undefined : { amountMinor: stakeCap, currency: "EUR" },
      });
      this.limits = response.limits;
      this.show("ok", t("limitsSaved"));
      form.reset();
    } catch (error) {
      this.show("error", describeError(error));
    }
  }

  private async selfExclude(event: Event): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const days = Number((form.elements.namedItem("days") as HTMLInputElement).value);
    try {
      const response = await this.api.identity.selfExclude({
        playerId: this.playerId(),
        duration: { seconds: BigInt(Math.round(days * 86_400)), nanos: 0 },
      });
      this.player = response.player;
      this.show("ok", t("selfExcluded", { when: when(response.player?.selfExcludedUntil) }));
    } catch (error) {
      this.show("error", describeError(error));
    }
  }

  private show(kind: "ok" | "error", text: string): void {
    this.message = { kind, text };
    this.render();
  }
}
