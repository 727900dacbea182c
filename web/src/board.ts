// The live odds board: one article per fixture and phase, patched in place as the stream
// delivers (buttons keep their focus), price moves flashed and announced, suspensions visible.
import { h, replaceChildren, type Announcer } from "./dom.js";
import { formatOdds } from "./format.js";
import { t } from "./i18n.js";
import type { Market, Selection } from "./gen/betmesh/common/v1/market_pb.js";
import { MarketStatus, MarketType, PricingPhase, SelectionStatus } from "./gen/betmesh/common/v1/market_pb.js";
import { Sport } from "./gen/betmesh/common/v1/sport_pb.js";
import type { Applied, BoardFixture, OddsBoardState } from "./odds-state.js";
import { isOpen } from "./odds-state.js";

const PRIMARY = new Set([MarketType.MATCH_RESULT, MarketType.MATCH_WINNER, MarketType.MONEYLINE]);
const MOVE_SHOWN_MS = 5_000;
const SELECTION_ORDER: Record<string, number> = { home: 0, draw: 1, away: 2 };

export interface PickedSelection {
  boardKey: string;
  fixtureId: string;
  fixtureName: string;
  marketId: string;
  marketName: string;
  selectionId: string;
  selectionName: string;
  oddsE4: bigint;
  live: boolean;
  betDelaySeconds: number;
}

export interface BoardHooks {
  isPicked: (boardKey: string, marketId: string, selectionId: string) => boolean;
  toggle: (pick: PickedSelection) => void;
}

export function fixtureName(entry: BoardFixture): string {
  const f = entry.fixture;
  const home = f?.home?.name || f?.home?.participantId;
  const away = f?.away?.name || f?.away?.participantId;
  // A fixture priced before the fixtures store knew it has no names yet: its id says enough.
  if (!home || !away) return f?.fixtureId || (entry.key.split("|")[0] ?? "");
  return `${home} – ${away}`;
}

function sportLabel(sport: Sport | undefined): string {
  switch (sport) {
    case Sport.FOOTBALL:
      return t("football");
    case Sport.TENNIS:
      return t("tennis");
    case Sport.BASKETBALL:
      return t("basketball");
    default:
      return "";
  }
}

function score(entry: BoardFixture): string {
  const state = entry.gameState;
  if (!state || entry.phase !== PricingPhase.LIVE) return "";
  const s = state.sportState;
  const minute = state.elapsedSeconds ? ` · ${Math.floor(state.elapsedSeconds / 60)}'` : "";
  if (s.case === "football") return `${s.value.homeGoals}-${s.value.awayGoals}${minute}`;
  if (s.case === "basketball") return `${s.value.homePoints}-${s.value.awayPoints}${minute}`;
  if (s.case === "tennis") return s.value.sets.map((set) => `${set.homeGames}-${set.awayGames}`).join(" ");
  return "";
}

function statusLabel(status: MarketStatus): string {
  switch (status) {
    case MarketStatus.ACTIVE:
      return "";
    case MarketStatus.SUSPENDED:
      return t("suspended");
    case MarketStatus.SETTLED:
      return t("settled");
    default:
      return t("closed");
  }
}

function sortedSelections(market: Market): Selection[] {
  return [...market.selections].sort(
    (a, b) => (SELECTION_ORDER[a.selectionId] ?? 9) - (SELECTION_ORDER[b.selectionId] ?? 9),
  );
}

export class BoardView {
  private readonly list: HTMLElement;
  private readonly articles = new Map<string, HTMLElement>();
  // Recent price moves by board key + market + selection: a re-render keeps the arrow on.
  private readonly moves = new Map<string, { up: boolean; at: number }>();

  constructor(
    readonly root: HTMLElement,
    private readonly state: OddsBoardState,
    private readonly hooks: BoardHooks,
    private readonly announcer: Announcer,
  ) {
    this.list = h("div", { class: "fixtures", "data-testid": "fixtures" });
    replaceChildren(root, this.list);
    this.renderEmpty();
  }

  /** Everything again (language switch, a replacing image). */
  renderAll(): void {
    this.articles.clear();
    this.list.replaceChildren();
    for (const entry of this.sorted()) this.renderFixture(entry);
    this.renderEmpty();
  }

  update(applied: Applied): void {
    if (applied.replaced) {
      this.renderAll();
    } else {
      for (const key of applied.touched) {
        const entry = this.state.fixtures.get(key);
        if (entry) this.renderFixture(entry);
        else {
          this.articles.get(key)?.remove();
          this.articles.delete(key);
        }
      }
      this.renderEmpty();
    }
    for (const change of applied.changes) {
      const entry = this.state.fixtures.get(change.key);
      if (!entry) continue;
      const market = entry.markets.get(change.marketId);
      const marketName = market?.name || change.marketId;
      if (change.kind === "status") {
        if (change.after === MarketStatus.SUSPENDED && PRIMARY.has(market?.type ?? 0)) {
          this.announcer.say(t("marketSuspended", { fixture: fixtureName(entry), market: marketName }));
        } else if (change.after === MarketStatus.ACTIVE && change.before === MarketStatus.SUSPENDED && PRIMARY.has(market?.type ?? 0)) {
          this.announcer.say(t("marketReopened", { fixture: fixtureName(entry), market: marketName }));
        }
      } else {
        this.moves.set(`${change.key}|${change.marketId}|${change.selectionId}`, {
          up: change.after > change.before,
          at: Date.now(),
        });
        const button = this.articles
          .get(change.key)
          ?.querySelector<HTMLElement>(`[data-market="${CSS.escape(change.marketId)}"][data-selection="${CSS.escape(change.selectionId)}"]`);
        if (button) {
          const up = change.after > change.before;
          button.classList.remove("up", "down");
          // Restart the highlight animation even when the same direction repeats.
          void button.offsetWidth;
          button.classList.add(up ? "up" : "down");
          button.dataset.moved = up ? "up" : "down";
        }
        if (this.hooks.isPicked(change.key, change.marketId, change.selectionId)) {
          const sel = market?.selections.find((s) => s.selectionId === change.selectionId);
          this.announcer.say(
            t(change.after > change.before ? "priceUp" : "priceDown", {
              sel: sel?.name || change.selectionId,
              odds: formatOdds(change.after),
            }),
          );
        }
      }
    }
  }

  /** Pressed state of the buttons after the slip changed. */
  refreshPicks(): void {
    for (const button of this.list.querySelectorAll<HTMLButtonElement>("button.price")) {
      const key = button.closest<HTMLElement>("article")?.dataset.key ?? "";
      const picked = this.hooks.isPicked(key, button.dataset.market ?? "", button.dataset.selection ?? "");
      button.setAttribute("aria-pressed", String(picked));
    }
  }

  private sorted(): BoardFixture[] {
    return [...this.state.fixtures.values()].sort((a, b) => {
      if (a.phase !== b.phase) return a.phase === PricingPhase.LIVE ? -1 : 1;
      const at = a.fixture?.startTime?.seconds ?? 0n;
      const bt = b.fixture?.startTime?.seconds ?? 0n;
      return at < bt ? -1 : at > bt ? 1 : a.key.localeCompare(b.key);
    });
  }

  private renderEmpty(): void {
    const empty = this.list.querySelector(".empty");
    if (this.state.fixtures.size === 0 && !empty) this.list.append(h("p", { class: "empty" }, t("noFixtures")));
    if (this.state.fixtures.size > 0) empty?.remove();
  }

  private renderFixture(entry: BoardFixture): void {
    const previous = this.articles.get(entry.key);
    const focusedKey = (document.activeElement as HTMLElement | null)?.dataset?.pick;
    const openDetails = previous?.querySelector("details")?.open ?? false;
    const article = this.fixtureArticle(entry, openDetails);
    if (previous) previous.replaceWith(article);
    else this.insertSorted(entry, article);
    this.articles.set(entry.key, article);
    if (focusedKey) article.querySelector<HTMLElement>(`[data-pick="${CSS.escape(focusedKey)}"]`)?.focus();
  }

  private insertSorted(entry: BoardFixture, article: HTMLElement): void {
    const order = this.sorted();
    const index = order.findIndex((e) => e.key === entry.key);
    const next = order.slice(index + 1).find((e) => this.articles.has(e.key));
    const before = next ? this.articles.get(next.key) : undefined;
    if (before) this.list.insertBefore(article, before);
    else this.list.append(article);
  }

  private fixtureArticle(entry: BoardFixture, openDetails: boolean): HTMLElement {
    const live = entry.phase === PricingPhase.LIVE;
    const name = fixtureName(entry);
    const headingId = `fx-${cssId(entry.key)}`;
    const markets = [...entry.markets.values()].sort((a, b) => a.marketId.localeCompare(b.marketId));
    const primary = markets.filter((m) => PRIMARY.has(m.type));
    const others = markets.filter((m) => !PRIMARY.has(m.type));
    const start = entry.fixture?.startTime ? new Date(Number(entry.fixture.startTime.seconds) * 1000) : null;
    const details = h(
      "details",
      { open: openDetails },
      h("summary", {}, t("allMarkets", { n: others.length })),
    );
    const fill = () => {
      if (details.dataset.filled) return;
      details.dataset.filled = "1";
      for (const market of others) details.append(this.marketBlock(entry, name, market));
    };
    // Secondary markets (correct scores and lines) are built only when opened: a board of many
    // fixtures stays a few hundred nodes.
    details.addEventListener("toggle", fill);
    if (openDetails) fill();
    return h(
      "article",
      {
        class: `fixture ${live ? "live" : "pre"}`,
        "aria-labelledby": headingId,
        "data-fixture": entry.fixture?.fixtureId ?? "",
        "data-phase": live ? "live" : "pre",
        "data-key": entry.key,
      },
      h(
        "header",
        {},
        h("h3", { id: headingId }, name),
        h("span", { class: "sport" }, sportLabel(entry.fixture?.sport)),
        h("span", { class: `phase ${live ? "live" : ""}` }, live ? t("live") : t("preMatch")),
        live ? h("span", { class: "score", "data-testid": "score" }, score(entry)) : null,
        !live && start ? h("time", { datetime: start.toISOString() }, start.toLocaleString()) : null,
        live && entry.betDelaySeconds ? h("span", { class: "delay" }, t("betDelay", { s: entry.betDelaySeconds })) : null,
      ),
      primary.map((market) => this.marketBlock(entry, name, market)),
      others.length ? details : null,
    );
  }

  private marketBlock(entry: BoardFixture, fixtureLabel: string, market: Market): HTMLElement {
    const open = isOpen(market.status);
    const label = statusLabel(market.status);
    return h(
      "div",
      { class: `market ${open ? "" : "closed"}`, "data-market-id": market.marketId, "data-status": MarketStatus[market.status] },
      h("div", { class: "market-name" }, market.name || market.marketId, label ? h("span", { class: "badge" }, label) : null),
      h(
        "div",
        { class: "selections", role: "group", "aria-label": `${fixtureLabel} ${market.name}` },
        sortedSelections(market).map((selection) => {
          const withdrawn = selection.status === SelectionStatus.WITHDRAWN || selection.oddsE4 <= 0n;
          const odds = formatOdds(selection.oddsE4);
          const pickKey = `${market.marketId}|${selection.selectionId}`;
          const move = this.moves.get(`${entry.key}|${pickKey}`);
          const moved = move && Date.now() - move.at < MOVE_SHOWN_MS ? (move.up ? "up" : "down") : undefined;
          return h(
            "button",
            {
              type: "button",
              class: moved ? `price ${moved}` : "price",
              "data-moved": moved,
              "data-market": market.marketId,
              "data-selection": selection.selectionId,
              "data-pick": pickKey,
              "aria-pressed": String(this.hooks.isPicked(entry.key, market.marketId, selection.selectionId)),
              "aria-label": `${t("addToSlip", { sel: selection.name || selection.selectionId, odds })}${open ? "" : ` (${label})`}`,
              disabled: !open || withdrawn,
              onclick: () =>
                this.hooks.toggle({
                  boardKey: entry.key,
                  fixtureId: entry.fixture?.fixtureId ?? "",
                  fixtureName: fixtureLabel,
                  marketId: market.marketId,
                  marketName: market.name || market.marketId,
                  selectionId: selection.selectionId,
                  selectionName: selection.name || selection.selectionId,
                  oddsE4: selection.oddsE4,
                  live: entry.phase === PricingPhase.LIVE,
                  betDelaySeconds: entry.betDelaySeconds,
                }),
            },
            h("span", { class: "sel-name" }, selection.name || selection.selectionId),
            h("span", { class: "odds", "data-testid": "odds" }, odds),
          );
        }),
      ),
    );
  }
}

function cssId(key: string): string {
  return key.replace(/[^a-zA-Z0-9_-]/g, "_");
}
