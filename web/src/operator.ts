// The operator console, read-only: replica health and dissent per sport, live matches and their
// suspension state, house exposure, realised return to player, and oracle publications.
// Sign-in is the operator's client credential (IdentityService/IssueToken, open at the edge):
// one token per service audience, kept in this tab's sessionStorage.
import { Code, ConnectError } from "@connectrpc/connect";
import { createApi, describeError, type Api } from "./api.js";
import { fixtureName } from "./board.js";
import { h, replaceChildren } from "./dom.js";
import { formatMoney } from "./format.js";
import { locale, onLangChange, t } from "./i18n.js";
import { MarketStatus, PricingPhase } from "./gen/betmesh/common/v1/market_pb.js";
import { Sport } from "./gen/betmesh/common/v1/sport_pb.js";
import type { Dissent, ReplicaSetStatus } from "./gen/betmesh/gateway/v1/consensus_gateway_service_pb.js";
import { DissentVerdict, ReplicaState } from "./gen/betmesh/gateway/v1/consensus_gateway_service_pb.js";
import type { GetExposureReportResponse, GetReturnToPlayerReportResponse } from "./gen/betmesh/bets/v1/bet_service_pb.js";
import type { ValidatedResult } from "./gen/betmesh/oracle/v1/oracle_service_pb.js";
import { PublicationStatus } from "./gen/betmesh/oracle/v1/oracle_service_pb.js";
import { OddsBoardState } from "./odds-state.js";
import { OddsStream } from "./odds-stream.js";
import { languageSwitch } from "./player.js";

const AUDIENCES = ["betmesh.gateway", "betmesh.bets", "betmesh.live", "betmesh.oracle"] as const;
const STORAGE = "betmesh.operator";
const REFRESH_MS = 3_000;
const DEMO_CLIENT_ID = "betmesh-demo-operator";

interface OperatorTokens {
  clientId: string;
  tokens: Record<string, string>;
  expiresAt: number;
}

/** "betmesh.bets.v1.BetService" -> "betmesh.bets", as services check audiences. */
export function audienceOf(typeName: string): string {
  const parts = typeName.split(".");
  return parts.length >= 3 && parts[0] === "betmesh" ? `betmesh.${parts[1]}` : "";
}

function loadTokens(): OperatorTokens | null {
  try {
    const raw = sessionStorage.getItem(STORAGE);
    const found = raw ? (JSON.parse(raw) as OperatorTokens) : null;
    return found && found.expiresAt > Date.now() / 1000 ? found : null;
  } catch {
    return null;
  }
}

function money(m: { amountMinor: bigint; currency: string } | undefined): string {
  return m ? formatMoney(m.amountMinor, m.currency, locale()) : "-";
}

function sportName(sport: Sport): string {
  return (Sport[sport] ?? "").toLowerCase();
}

export function mountOperator(root: HTMLElement): void {
  let session = loadTokens();
  let notice = "";
  const api: Api = createApi(
    (service) => session?.tokens[audienceOf(service)],
    () => {
      session = null;
      sessionStorage.removeItem(STORAGE);
      render();
    },
  );
  let stop: (() => void) | null = null;

  function render(): void {
    stop?.();
    stop = null;
    const header = h(
      "header",
      { class: "top" },
      h("h1", {}, h("a", { href: "/" }, "betmesh")),
      h("span", {}, t("operatorTitle")),
      languageSwitch(),
    );
    if (!session) {
      replaceChildren(root, header, h("main", { id: "main" }, signInForm()));
      return;
    }
    const main = h("main", { id: "main", class: "operator" });
    replaceChildren(root, header, main);
    stop = dashboard(main, api);
  }

  function signInForm(): HTMLElement {
    return h(
      "section",
      { class: "panel narrow" },
      h("h2", {}, t("operatorSignIn")),
      h("p", { class: "note" }, t("operatorHelp")),
      notice ? h("p", { class: "error", role: "alert" }, notice) : null,
      h(
        "form",
        { onsubmit: (e: Event) => void signIn(e) },
        h("label", { class: "field" }, t("clientId"), h("input", { name: "client_id", value: DEMO_CLIENT_ID, required: true, autocomplete: "username" })),
        h("label", { class: "field" }, t("clientSecret"), h("input", { name: "client_secret", type: "password", required: true, autocomplete: "current-password" })),
        h("button", { type: "submit", class: "primary" }, t("operatorSignIn")),
      ),
    );
  }

  async function signIn(event: Event): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const clientId = (form.elements.namedItem("client_id") as HTMLInputElement).value.trim();
    const clientSecret = (form.elements.namedItem("client_secret") as HTMLInputElement).value.trim();
    try {
      const tokens: Record<string, string> = {};
      let expiresAt = Number.MAX_SAFE_INTEGER;
      for (const audience of AUDIENCES) {
        const issued = await api.identity.issueToken({ clientId, clientSecret, audience });
        tokens[audience] = issued.accessToken?.token ?? "";
        expiresAt = Math.min(expiresAt, Number(issued.accessToken?.expiresAt?.seconds ?? 0n));
      }
      session = { clientId, tokens, expiresAt };
      sessionStorage.setItem(STORAGE, JSON.stringify(session));
      notice = "";
    } catch (error) {
      notice = describeError(error);
    }
    render();
  }

  onLangChange(render);
  render();
}

function dashboard(main: HTMLElement, api: Api): () => void {
  const replicasRoot = h("section", { class: "panel", "data-testid": "replicas" });
  const matchesRoot = h("section", { class: "panel", "data-testid": "matches" });
  const exposureRoot = h("section", { class: "panel", "data-testid": "exposure" });
  const rtpRoot = h("section", { class: "panel", "data-testid": "rtp" });
  const oracleRoot = h("section", { class: "panel", "data-testid": "oracle" });
  replaceChildren(main, h("div", { class: "grid" }, replicasRoot, rtpRoot, matchesRoot, exposureRoot, oracleRoot));

  const state = new OddsBoardState();
  let replicaSets: ReplicaSetStatus[] = [];
  let dissents: Dissent[] = [];
  let rtp: GetReturnToPlayerReportResponse | undefined;
  const exposures = new Map<string, GetExposureReportResponse>();
  const results = new Map<string, ValidatedResult>();
  const errors = new Map<string, string>();
  let timer = 0;
  let stopped = false;

  const stream = new OddsStream(api, state, {
    conflateMs: 250,
    onApplied: () => renderMatches(),
    onStatus: () => undefined,
  });
  stream.start();

  function nameOf(fixtureId: string): string {
    for (const entry of state.fixtures.values()) {
      if (entry.fixture?.fixtureId === fixtureId) return fixtureName(entry);
    }
    return fixtureId;
  }

  function fixtureIds(): string[] {
    return [...new Set([...state.fixtures.values()].map((e) => e.fixture?.fixtureId ?? "").filter(Boolean))];
  }

  async function poll(): Promise<void> {
    const note = (what: string, error: unknown) => errors.set(what, describeError(error));
    await Promise.all([
      api.gateway.listReplicaSets({}).then((r) => (replicaSets = r.replicaSets), (e) => note("replicas", e)),
      api.gateway.listDissents({ pageSize: 10 }).then((r) => (dissents = r.dissents), (e) => note("dissents", e)),
      api.bets.getReturnToPlayerReport({}).then((r) => (rtp = r), (e) => note("rtp", e)),
    ]);
    // Exposure and results per fixture the stream knows (a match day is tens of fixtures).
    await Promise.all(
      fixtureIds().map(async (fixtureId) => {
        await api.bets.getExposureReport({ fixtureId }).then((r) => exposures.set(fixtureId, r), (e) => note("exposure", e));
        try {
          const found = await api.oracle.getResult({ fixtureId });
          if (found.result) results.set(fixtureId, found.result);
        } catch (error) {
          if (!(error instanceof ConnectError && error.code === Code.NotFound)) note("oracle", error);
        }
      }),
    );
    renderAll();
    if (!stopped) timer = window.setTimeout(() => void poll(), REFRESH_MS);
  }

  function errorLine(what: string): HTMLElement | null {
    const text = errors.get(what);
    return text ? h("p", { class: "error" }, text) : null;
  }

  function renderReplicas(): void {
    replaceChildren(
      replicasRoot,
      h("h2", {}, t("replicas")),
      errorLine("replicas"),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, [t("sport"), t("quorum"), t("replica"), t("engine"), t("state"), t("agreed"), t("dissented"), t("majoritySuspect"), t("timedOut")].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          replicaSets.flatMap((set) =>
            set.replicas.map((replica, index) =>
              h(
                "tr",
                { "data-replica": replica.replicaId, "data-state": ReplicaState[replica.state] ?? "" },
                h("td", {}, index === 0 ? sportName(set.sport) : ""),
                h("td", {}, index === 0 ? `${set.quorum} / ${set.replicas.length}` : ""),
                h("td", {}, replica.replicaId || replica.address),
                h("td", {}, replica.engine),
                h("td", { class: replica.state === ReplicaState.HEALTHY ? "ok" : "error" }, (ReplicaState[replica.state] ?? "").toLowerCase()),
                h("td", { class: "num" }, String(replica.agreedTotal)),
                h("td", { class: "num" }, String(replica.dissentedTotal)),
                h("td", { class: "num", "data-testid": "majority-suspect" }, String(replica.majoritySuspectTotal)),
                h("td", { class: "num" }, String(replica.timedOutTotal)),
              ),
            ),
          ),
        ),
      ),
      h("h3", {}, t("dissents")),
      errorLine("dissents"),
      dissents.length === 0
        ? h("p", {}, t("noDissents"))
        : h(
            "ul",
            {},
            dissents.map((d) =>
              h(
                "li",
                {},
                `${sportName(d.sport)} · ${d.fixtureId} · ${d.vote?.replicaId ?? ""}${verdictLabel(d.verdict, d.outvotedBy)}: ${d.vote?.firstDifference || d.vote?.error || d.vote?.digest || ""}`,
              ),
            ),
          ),
    );
  }

  // Who outvoted whom: a replica outvoted by one engine only is not faulty, its majority is suspect.
  function verdictLabel(verdict: DissentVerdict, by: string[]): string {
    const label = {
      [DissentVerdict.MAJORITY_SUSPECT]: t("verdictMajoritySuspect"),
      [DissentVerdict.REPLICA_FAULTY]: t("verdictReplicaFaulty"),
      [DissentVerdict.NO_MAJORITY]: t("verdictNoMajority"),
      [DissentVerdict.UNCONFIRMED]: t("verdictUnconfirmed"),
    }[verdict as number];
    if (!label) return "";
    return ` (${label}${by.length ? ` · ${by.join(", ")}` : ""})`;
  }

  function renderMatches(): void {
    const entries = [...state.fixtures.values()].sort((a, b) =>
      a.phase === b.phase ? a.key.localeCompare(b.key) : a.phase === PricingPhase.LIVE ? -1 : 1,
    );
    replaceChildren(
      matchesRoot,
      h("h2", {}, t("matches")),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ["", t("matches"), t("markets"), t("suspended"), t("closed")].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          entries.map((entry) => {
            const markets = [...entry.markets.values()];
            const count = (s: MarketStatus) => markets.filter((m) => m.status === s).length;
            const suspended = count(MarketStatus.SUSPENDED);
            const live = entry.phase === PricingPhase.LIVE;
            const s = entry.gameState?.sportState;
            const score =
              s?.case === "football" ? `${s.value.homeGoals}-${s.value.awayGoals}` : s?.case === "basketball" ? `${s.value.homePoints}-${s.value.awayPoints}` : "";
            return h(
              "tr",
              { "data-fixture": entry.fixture?.fixtureId ?? "", "data-phase": live ? "live" : "pre", "data-suspended": String(suspended) },
              h("td", {}, live ? h("span", { class: "phase live" }, t("live")) : t("preMatch")),
              h("td", {}, `${fixtureName(entry)} ${live ? score : ""}`),
              h("td", { class: "num" }, String(count(MarketStatus.ACTIVE))),
              h("td", { class: `num ${suspended ? "error" : ""}` }, String(suspended)),
              h("td", { class: "num" }, String(markets.length - count(MarketStatus.ACTIVE) - suspended)),
            );
          }),
        ),
      ),
    );
  }

  function renderReports(): void {
    replaceChildren(
      rtpRoot,
      h("h2", {}, t("rtp")),
      errorLine("rtp"),
      h(
        "dl",
        { class: "figures" },
        h("dt", {}, t("rtp")),
        h("dd", { "data-testid": "rtp-value" }, rtp ? `${(rtp.returnToPlayerE4 / 100).toFixed(2)} %` : "-"),
        h("dt", {}, t("stakes")),
        h("dd", {}, money(rtp?.stakes)),
        h("dt", {}, t("payouts")),
        h("dd", {}, money(rtp?.payouts)),
        h("dt", {}, t("settledBets")),
        h("dd", { "data-testid": "rtp-count" }, String(rtp?.settledBetCount ?? 0n)),
      ),
    );
    const withStakes = [...exposures.values()].filter((r) => r.markets.length > 0);
    replaceChildren(
      exposureRoot,
      h("h2", {}, t("exposure")),
      errorLine("exposure"),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, [t("matches"), t("stakes"), t("worstCase")].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          withStakes.map((r) => {
            const stakes = r.markets.reduce((sum, m) => sum + (m.stakes?.amountMinor ?? 0n), 0n);
            const currency = r.markets[0]?.stakes?.currency ?? "EUR";
            return h(
              "tr",
              { "data-fixture": r.fixtureId, "data-stakes": String(stakes) },
              h("td", { title: r.fixtureId }, nameOf(r.fixtureId)),
              h("td", { class: "num" }, money({ amountMinor: stakes, currency })),
              h("td", { class: "num" }, money(r.fixtureWorstCaseLoss)),
            );
          }),
        ),
      ),
    );
    const published = [...results.values()];
    replaceChildren(
      oracleRoot,
      h("h2", {}, t("oracle")),
      errorLine("oracle"),
      published.length === 0
        ? h("p", {}, t("noPublications"))
        : h(
            "table",
            {},
            h("thead", {}, h("tr", {}, [t("matches"), t("result"), t("publication"), t("tx"), t("block")].map((c) => h("th", { scope: "col" }, c)))),
            h(
              "tbody",
              {},
              published.map((r) =>
                h(
                  "tr",
                  { "data-fixture": r.fixtureId, "data-publication": PublicationStatus[r.publication?.status ?? 0] ?? "" },
                  h("td", { title: r.fixtureId }, nameOf(r.fixtureId)),
                  h("td", {}, r.result ? `${r.result.homeScore}-${r.result.awayScore}` : "-"),
                  h("td", {}, (PublicationStatus[r.publication?.status ?? 0] ?? "").toLowerCase().replace(/_/g, " ")),
                  h("td", { class: "hash", "data-testid": "tx-hash" }, r.publication?.transactionHash || "-"),
                  h("td", { class: "num" }, r.publication?.blockNumber ? String(r.publication.blockNumber) : "-"),
                ),
              ),
            ),
          ),
    );
  }

  function renderAll(): void {
    renderReplicas();
    renderMatches();
    renderReports();
  }

  renderAll();
  void poll();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    stream.stop();
  };
}
