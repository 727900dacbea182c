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

// The edge refuses a FranceConnect callback that did not come back to the browser that started
// the sign-in (its cookie): say so plainly, the reason kept for support.
const OTHER_BROWSER = new Set(["LOGIN_COOKIE_MISSING", "LOGIN_NOT_FROM_THIS_BROWSER"]);

function loginNotice(reason: string): string {
  const safe = reason.replace(/[^A-Za-z0-9_]/g, "").slice(0, 64);
  return OTHER_BROWSER.has(safe) ? `${t("loginOtherBrowser")} (${safe})` : `${t("loginError")}: ${safe}`;
}

export function mountPlayer(root: HTMLElement): void {
  const fragment = takeFragment(location, history);
  let session: PlayerSession | null = fragment.session ?? loadSession();
  if (fragment.session) saveSession(fragment.session);
  let notice = fragment.loginError ? loginNotice(fragment.loginError) : "";

  const api: Api = createApi(
    () => session?.accessToken,
    () => {
      // Signed out already (the public board without a token): nothing to sign out of, and a
      // redraw would only reopen the refused stream.
      if (!session) return;
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

  // Signed out: the welcome panel beside the board (sign-in, provisional account).
  function welcome(): HTMLElement {
    return h(
      "section",
      { class: "welcome", "data-testid": "welcome" },
      h("h2", {}, t("signInTitle")),
      h("p", {}, t("signInToBet")),
      franceConnectButton("/"),
      h("p", {}, t("orProvisional")),
      h(
        "form",
        { class: "inline", onsubmit: (e: Event) => void openProvisional(e) },
        h("label", { class: "field" }, t("displayName"), h("input", { name: "display_name", required: true, maxlength: 60, autocomplete: "nickname" })),
        h("button", { type: "submit" }, t("openProvisional")),
      ),
    );
  }

  function render(): void {
    relabel = null;
    stream?.stop();
    myBets?.stop();
    stream = null;
    myBets = null;
    renderHeader();
    // The odds board is public: without a session the stream goes out with no token and the
    // edge serves it with its own public credential; signed in, it carries the player's token.
    const current = session;
    const state = new OddsBoardState();
    const streamStatus = h("p", { class: "stream-status", "data-testid": "stream-status", "data-state": "connecting" }, t("connecting"));
    const boardRoot = h("div");
    const noticeLine = notice ? h("p", { class: "error", role: "alert", "data-testid": "notice" }, notice) : null;
    let board: BoardView | null = null;
    let slip: BetSlip | null = null;
    let side: HTMLElement;
    let relabelSide: () => void;
    let settled: () => void = () => undefined;
    if (current) {
      const playerId = () => current.playerId;
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
      const betSlip = new BetSlip(
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
      slip = betSlip;
      side = h("aside", { class: "side" }, slipRoot, walletRoot, betsRoot);
      relabelSide = () => {
        betSlip.render();
        wallet.render();
        bets.render();
      };
      settled = () => void bets.refresh();
      relabelSide();
      void wallet.refresh();
      void bets.refresh();
    } else {
      const welcomeRoot = h("div");
      side = h("aside", { class: "side" }, welcomeRoot);
      relabelSide = () => replaceChildren(welcomeRoot, welcome());
      relabelSide();
    }
    const picks = slip;
    board = new BoardView(
      boardRoot,
      state,
      picks
        ? { isPicked: (k, m, s) => picks.isPicked(k, m, s), toggle: (p) => picks.toggle(p) }
        : { isPicked: () => false, toggle: () => announcer.say(t("signInToBet")) },
      announcer,
    );
    replaceChildren(
      main,
      noticeLine,
      h(
        "div",
        { class: "layout" },
        h("section", { id: "board", class: "board", "aria-labelledby": "board-title", tabindex: -1 }, h("h2", { id: "board-title" }, t("board")), streamStatus, boardRoot),
        side,
      ),
    );
    const view = board;
    stream = new OddsStream(api, state, {
      // Unconflated: a suspension followed at once by the reprice is still two states to show.
      conflateMs: 0,
      onApplied: (applied) => {
        view.update(applied);
        if (applied.touched.size) picks?.refreshPrices();
        if (applied.settlementNews) settled();
      },
      onStatus: (status: StreamStatus, detail?: string) => {
        streamStatus.dataset.state = status;
        streamStatus.dataset.resumes = String(stream?.resumes ?? 0);
        streamStatus.textContent =
          status === "live" ? t("streamLive") : status === "lost" ? t("streamLost") : status === "connecting" ? t("connecting") : (detail ?? "");
      },
    });
    stream.start();
    // A language switch redraws the page in place: the stream and the slip stay.
    relabel = () => {
      renderHeader();
      view.renderAll();
      relabelSide();
    };
  }

  let relabel: (() => void) | null = null;
  onLangChange(() => {
    if (relabel) relabel();
    else render();
  });
  render();
}
