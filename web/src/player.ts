// The player app: sign-in, the live board, the bet slip, the wallet and "my bets".
import { createApi, describeError, type Api } from "./api.js";
import { BoardView, fixtureName } from "./board.js";
import { Announcer, h, replaceChildren } from "./dom.js";
import { lang, onLangChange, setLang, t, type Lang } from "./i18n.js";
import { MyBets } from "./my-bets.js";
import { OddsBoardState } from "./odds-state.js";
import { OddsStream, type StreamStatus } from "./odds-stream.js";
import { loadSession, loginUrl, logoutUrl, saveSession, takeFragment, type PlayerSession } from "./session.js";
import { BetSlip } from "./slip.js";
import { WalletPanel } from "./wallet.js";

export function languageSwitch(): HTMLElement {
  const select = h(
    "select",
    { id: "lang", onchange: (e: Event) => setLang((e.target as HTMLSelectElement).value as Lang) },
    h("option", { value: "fr", selected: lang() === "fr" }, "Français"),
    h("option", { value: "en", selected: lang() === "en" }, "English"),
  );
  return h("span", { class: "lang" }, h("label", { for: "lang" }, t("language")), " ", select);
}

/** The official-looking FranceConnect button (always in French, as the official one is). */
export function franceConnectButton(returnTo: string): HTMLElement {
  return h(
    "div",
    { class: "fc" },
    h(
      "a",
      { class: "fc-button", href: loginUrl(returnTo), "data-testid": "franceconnect" },
      h("span", { class: "fc-logo", "aria-hidden": "true" }),
      h("span", { class: "fc-text" }, h("span", {}, "S’identifier avec"), h("strong", {}, "FranceConnect")),
    ),
    h(
      "p",
      {},
      h("a", { href: "https://franceconnect.gouv.fr/", target: "_blank", rel: "noopener", title: `${t("signInWhat")} (nouvelle fenêtre)` }, t("signInWhat")),
    ),
  );
}

export function mountPlayer(root: HTMLElement): void {
  const fragment = takeFragment(location, history);
  let session: PlayerSession | null = fragment.session ?? loadSession();
  if (fragment.session) saveSession(fragment.session);
  let notice = fragment.loginError ? `${t("loginError")}: ${fragment.loginError}` : "";

  const api: Api = createApi(
    () => session?.accessToken,
    () => {
      session = null;
      saveSession(null);
      notice = t("sessionExpired");
      render();
    },
  );
  const live = h("div", { class: "sr-only", "aria-live": "polite", role: "status", id: "announcer" });
  const announcer = new Announcer(live);

  const header = h("header", { class: "top" });
  const main = h("main", { id: "main" });
  replaceChildren(root, h("a", { class: "skip", href: "#board" }, t("skip")), header, main, live);

  let stream: OddsStream | null = null;
  let myBets: MyBets | null = null;

  function renderHeader(): void {
    replaceChildren(
      header,
      h("h1", {}, h("a", { href: "/" }, "betmesh")),
      h("nav", { "aria-label": "betmesh" }, h("a", { href: "/operator" }, t("operator"))),
      languageSwitch(),
      session
        ? h(
            "span",
            { class: "who", "data-testid": "signed-in" },
            `${t("signedInAs")} ${session.playerId} `,
            session.sessionId
              ? h("a", { href: logoutUrl(session), onclick: () => saveSession(null) }, t("signOut"))
              : h(
                  "button",
                  {
                    type: "button",
                    class: "link-text",
                    onclick: () => {
                      session = null;
                      saveSession(null);
                      render();
                    },
                  },
                  t("signOut"),
                ),
          )
        : null,
    );
  }

  // RegisterPlayer (open at the edge) opens a provisional account and returns its player token:
  // the paid-KYC path for players without FranceConnect.
  async function openProvisional(event: Event): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const displayName = (form.elements.namedItem("display_name") as HTMLInputElement).value.trim();
    try {
      const registered = await api.identity.registerPlayer({ displayName });
      session = {
        accessToken: registered.accessToken?.token ?? "",
        expiresAt: Number(registered.accessToken?.expiresAt?.seconds ?? 0n),
        playerId: registered.player?.playerId ?? "",
        sessionId: "",
      };
      saveSession(session);
      notice = "";
    } catch (error) {
      notice = describeError(error);
    }
    render();
  }

  function render(): void {
    relabel = null;
    stream?.stop();
    myBets?.stop();
    stream = null;
    myBets = null;
    renderHeader();
    if (!session) {
      replaceChildren(
        main,
        notice ? h("p", { class: "error", role: "alert", "data-testid": "notice" }, notice) : null,
        h(
          "section",
          { class: "welcome" },
          h("h2", {}, t("board")),
          h("p", {}, t("signInToBet")),
          franceConnectButton("/"),
          h("p", {}, t("orProvisional")),
          h(
            "form",
            { class: "inline", onsubmit: (e: Event) => void openProvisional(e) },
            h("label", { class: "field" }, t("displayName"), h("input", { name: "display_name", required: true, maxlength: 60, autocomplete: "nickname" })),
            h("button", { type: "submit" }, t("openProvisional")),
          ),
        ),
      );
      return;
    }
    const current = session;
    const playerId = () => current.playerId;
    const state = new OddsBoardState();
    const streamStatus = h("p", { class: "stream-status", "data-testid": "stream-status", "data-state": "connecting" }, t("connecting"));
    const boardRoot = h("div");
    const slipRoot = h("section", { class: "panel slip", "aria-label": t("slip"), "data-testid": "slip" });
    const walletRoot = h("section", { class: "panel wallet", "aria-label": t("wallet"), "data-testid": "wallet" });
    const betsRoot = h("section", { class: "panel my-bets", "aria-label": t("myBets"), "data-testid": "my-bets" });
    const wallet = new WalletPanel(walletRoot, api, playerId);
    const bets = new MyBets(betsRoot, api, playerId, announcer, () => void wallet.refresh(), (fixtureId) => {
      for (const entry of state.fixtures.values()) {
        if (entry.fixture?.fixtureId === fixtureId && entry.fixture.home?.name) return fixtureName(entry);
      }
      return undefined;
    });
    myBets = bets;
    let board: BoardView | null = null;
    const slip = new BetSlip(
      slipRoot,
      api,
      state,
      playerId,
      announcer,
      () => board?.refreshPicks(),
      () => {
        void bets.refresh();
        void wallet.refresh();
      },
    );
    board = new BoardView(boardRoot, state, { isPicked: (k, m, s) => slip.isPicked(k, m, s), toggle: (p) => slip.toggle(p) }, announcer);
    replaceChildren(
      main,
      notice ? h("p", { class: "error", role: "alert" }, notice) : null,
      h(
        "div",
        { class: "layout" },
        h("section", { id: "board", class: "board", "aria-labelledby": "board-title", tabindex: -1 }, h("h2", { id: "board-title" }, t("board")), streamStatus, boardRoot),
        h("aside", { class: "side" }, slipRoot, walletRoot, betsRoot),
      ),
    );
    slip.render();
    wallet.render();
    bets.render();
    void wallet.refresh();
    void bets.refresh();
    const view = board;
    stream = new OddsStream(api, state, {
      // Unconflated: a suspension followed at once by the reprice is still two states to show.
      conflateMs: 0,
      onApplied: (applied) => {
        view.update(applied);
        if (applied.touched.size) slip.refreshPrices();
        if (applied.settlementNews) void bets.refresh();
      },
      onStatus: (status: StreamStatus, detail?: string) => {
        streamStatus.dataset.state = status;
        streamStatus.dataset.resumes = String(stream?.resumes ?? 0);
        streamStatus.textContent =
          status === "live" ? t("streamLive") : status === "lost" ? t("streamLost") : status === "connecting" ? t("connecting") : (detail ?? "");
      },
    });
    stream.start();
    // A language switch redraws the signed-in page in place: the stream and the slip stay.
    relabel = () => {
      renderHeader();
      view.renderAll();
      slip.render();
      wallet.render();
      bets.render();
    };
  }

  let relabel: (() => void) | null = null;
  onLangChange(() => {
    if (relabel && session) relabel();
    else render();
  });
  render();
}
