// The web app in headless Chromium against a real mesh, driven by tests/browser/test_web_app.py.
//
// What the feeds and the operator do (pricing, the match, results on chain) is asked of the
// Python side over a line protocol: this script prints `@@ {"cmd": ...}` and reads one JSON line
// back on stdin. Everything else it prints is the test's log. Any failure exits non-zero with
// the step that failed; screenshots of the key screens go to BETMESH_WEB_ARTIFACTS.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const EDGE = required("BETMESH_EDGE_URL");
const ARTIFACTS = required("BETMESH_WEB_ARTIFACTS");
const LOGIN = required("BETMESH_FC_LOGIN");
const PASSWORD = required("BETMESH_FC_PASSWORD");
const OPERATOR_ID = required("BETMESH_OPERATOR_CLIENT_ID");
const OPERATOR_SECRET = required("BETMESH_OPERATOR_SECRET");
const CHROMIUM = process.env.BETMESH_CHROMIUM ?? "/usr/bin/chromium";
const WAIT = 60_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(cmd) {
  console.log(`@@ ${JSON.stringify({ cmd })}`);
  const { value, done } = await lines.next();
  if (done) throw new Error(`no answer to ${cmd}`);
  const answer = JSON.parse(value);
  if (answer.error) throw new Error(`${cmd} failed on the mesh side: ${answer.error}`);
  return answer;
}

let stepName = "start";
function step(name) {
  stepName = name;
  console.log(`-- ${name}`);
}

mkdirSync(ARTIFACTS, { recursive: true });
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const context = await browser.newContext({ locale: "fr-FR", viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const consoleErrors = [];
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));

try {
  step("the app loads in French (the browser's language) with the FranceConnect button");
  await page.goto(`${EDGE}/`);
  const fc = page.getByTestId("franceconnect");
  await fc.waitFor({ timeout: WAIT });
  await expectText(fc, "S’identifier avec");
  await expectText(fc, "FranceConnect");
  if ((await page.getAttribute("html", "lang")) !== "fr") throw new Error("the page is not in French");
  await shot(page, "01-sign-in");

  step("a sign-in callback opened in a second browser session gets no token (login binding)");
  // The victim's session signs in; its callback URL (code, state, iss) is then opened in
  // another browser session, as an attacker's link or a leaked URL would be. (Playwright
  // cannot hold back a request reached by a redirect, so the victim's own callback runs first;
  // the edge refuses the second session before asking identity either way, and
  // tests/integration/test_edge_http_routes.py opens it first.)
  const victim = await browser.newContext({ locale: "fr-FR" });
  const victimPage = await victim.newPage();
  let callbackUrl = "";
  victimPage.on("request", (request) => {
    if (request.url().includes("/auth/franceconnect/callback")) callbackUrl = request.url();
  });
  await victimPage.goto(`${EDGE}/`);
  await victimPage.getByTestId("franceconnect").click();
  await victimPage.locator('input[name="login"]').waitFor({ timeout: WAIT });
  const binding = (await victim.cookies(`${EDGE}/auth/franceconnect/callback`)).find((c) =>
    c.name.endsWith("betmesh_signin"),
  );
  if (!binding || !binding.httpOnly || binding.sameSite !== "Lax") {
    throw new Error(`the sign-in cookie is not HttpOnly and SameSite=Lax: ${JSON.stringify(binding)}`);
  }
  await victimPage.locator('input[name="login"]').fill(LOGIN);
  await victimPage.locator('input[name="password"]').fill(PASSWORD);
  await victimPage.locator("button").click();
  await victimPage.getByTestId("signed-in").waitFor({ timeout: WAIT });
  if (!callbackUrl.includes("code=")) throw new Error(`no callback seen: ${callbackUrl}`);
  const attacker = await browser.newContext({ locale: "fr-FR" });
  const attackerPage = await attacker.newPage();
  await attackerPage.goto(callbackUrl);
  await attackerPage.getByTestId("franceconnect").waitFor({ timeout: WAIT });
  await expectText(attackerPage.getByTestId("notice"), "LOGIN_COOKIE_MISSING");
  if (await attackerPage.getByTestId("signed-in").count()) throw new Error("the second session is signed in");
  if (attackerPage.url().includes("access_token")) throw new Error(`a token reached the second session: ${attackerPage.url()}`);
  if (await attackerPage.evaluate(() => sessionStorage.length)) throw new Error("the second session stored a session");
  await shot(attackerPage, "00-callback-in-another-browser");
  await attacker.close();
  await victim.close();

  step("sign in through FranceConnect (the real OpenID provider's login form)");
  await fc.click();
  await page.locator('input[name="login"]').fill(LOGIN);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator("button").click();
  await page.getByTestId("signed-in").waitFor({ timeout: WAIT });
  if (new URL(page.url()).hash) throw new Error(`the token was left in the address bar: ${page.url()}`);
  await page.getByTestId("stream-status").and(page.locator('[data-state="live"]')).waitFor({ timeout: WAIT });
  await expectText(page.getByTestId("kyc"), "VERIFIED");

  step("set the ANJ limits (7-day deposit and stake caps) and deposit");
  const wallet = page.getByTestId("wallet");
  await wallet.getByLabel("Plafond de dépôt sur 7 jours (€)").fill("500");
  await wallet.getByLabel("Plafond de mises sur 7 jours (€)").fill("200");
  await wallet.getByRole("button", { name: "Enregistrer les limites" }).click();
  await expectText(page.getByTestId("wallet-message"), "Limites enregistrées");
  await expectText(page.getByTestId("stake-cap"), "200,00");
  await expectText(page.getByTestId("deposit-cap"), "500,00");
  await wallet.getByLabel("Montant (€)").fill("100");
  await wallet.getByRole("button", { name: "Déposer" }).click();
  await expectText(page.getByTestId("wallet-message"), "Dépôt de 100,00");
  await expectText(page.getByTestId("balance"), "100,00");

  step("fixtures priced through consensus appear on the board");
  const { pre_match: preId, live: liveId } = await ask("pre_match");
  const preHome = price(preId, "pre", "home");
  await enabled(preHome);
  const preOdds = await preHome.getByTestId("odds").textContent();
  console.log(`pre-match ${preId} home at ${preOdds}`);

  step("an anonymous visitor sees the prices on the board without signing in");
  const anonymous = await browser.newContext({ locale: "fr-FR" });
  const guest = await anonymous.newPage();
  await guest.goto(`${EDGE}/`);
  await guest.getByTestId("franceconnect").waitFor({ timeout: WAIT });
  await guest.getByTestId("stream-status").and(guest.locator('[data-state="live"]')).waitFor({ timeout: WAIT });
  const guestHome = guest.locator(
    `article[data-key="${preId}|pre"] [data-market="${preId}/MATCH_RESULT"][data-selection="home"]`,
  );
  await guestHome.and(guest.locator(":enabled")).waitFor({ timeout: WAIT });
  const guestOdds = (await guestHome.getByTestId("odds").textContent()) ?? "";
  if (!/\d/.test(guestOdds)) throw new Error(`no price on the anonymous board: ${guestOdds}`);
  if (await guest.getByTestId("signed-in").count()) throw new Error("the visitor appears signed in");
  console.log(`anonymous board: ${preId} home at ${guestOdds}`);
  await shot(guest, "01b-anonymous-board");
  await anonymous.close();

  step("a pre-match single with the acceptance policy, accepted");
  await preHome.click();
  if ((await preHome.getAttribute("aria-pressed")) !== "true") throw new Error("the pick is not pressed");
  const slip = page.getByTestId("slip");
  await slip.getByLabel("Mise (€)").fill("5");
  await slip.getByLabel("Accepter toute cote (ANY)").check();
  await expectText(slip.getByTestId("payout"), "€");
  await placeUntilDecided(slip);
  await expectText(slip.getByTestId("slip-message"), "Pari accepté");
  await expectBet(preId, ["ACCEPTED"]);
  await expectText(page.getByTestId("balance"), "95,00");
  await shot(page, "02-pre-match-bet");

  step("an accumulator over two fixtures: combined odds as the bets service computes them");
  const otherHome = price(liveId, "pre", "home");
  await enabled(otherHome);
  await preHome.click();
  await otherHome.click();
  await slip.getByLabel("Combiné").check();
  const combined = await slip.getByTestId("combined-odds").textContent();
  await slip.getByLabel("Mise (€)").fill("2");
  await slip.getByLabel("Accepter toute cote (ANY)").check();
  await placeUntilDecided(slip);
  await expectText(slip.getByTestId("slip-message"), `Pari accepté · ${combined}`);
  const acca = page.getByTestId("my-bets").locator(`li.bet[data-fixtures="${preId} ${liveId}"], li.bet[data-fixtures="${liveId} ${preId}"]`);
  await expectText(acca, `@ ${combined}`);
  await expectText(acca, "2,00");
  await expectText(page.getByTestId("balance"), "93,00");
  console.log(`accumulator at ${combined}`);

  step("kick-off: the live book opens and the pre-match book is handed over");
  await ask("kick_off");
  const liveMarket = page.locator(`article[data-key="${liveId}|live"] [data-market-id="${liveId}/MATCH_RESULT"]`);
  await liveMarket.locator("button.price:enabled").first().waitFor({ timeout: WAIT });
  await page
    .locator(`article[data-key="${liveId}|pre"] [data-market-id="${liveId}/MATCH_RESULT"][data-status="HANDED_OVER"]`)
    .waitFor({ timeout: WAIT });
  const oddsOf = () => liveMarket.getByTestId("odds").allTextContents();
  const before = await oddsOf();

  step("a goal: the markets are visibly suspended, then reopen at new prices");
  await page.evaluate((id) => {
    const seen = { suspended: false, badge: "", disabled: false };
    window.__seen = seen;
    new MutationObserver(() => {
      const market = document.querySelector(`article[data-key="${id}|live"] [data-market-id="${id}/MATCH_RESULT"]`);
      if (!seen.suspended && market?.getAttribute("data-status") === "SUSPENDED") {
        seen.suspended = true;
        seen.badge = market.querySelector(".badge")?.textContent ?? "";
        seen.disabled = [...market.querySelectorAll("button.price")].every((b) => b.disabled);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  }, liveId);
  // The suspension lasts as long as the reprice through consensus, a fraction of a second: if
  // the stream delivered it together with the reprice, the next dangerous event is watched.
  for (let attempt = 1; ; attempt += 1) {
    await ask("dangerous_event");
    const shown = await page
      .waitForFunction(() => window.__seen?.suspended, null, { timeout: 10_000 })
      .then(() => true, () => false);
    if (shown) break;
    if (attempt === 4) throw new Error("no suspension shown after 4 dangerous events");
    console.log("suspension and reprice arrived together; watching the next dangerous event");
  }
  const seen = await page.evaluate(() => window.__seen);
  if (seen.badge !== "Suspendu" || !seen.disabled) throw new Error(`suspension not shown: ${JSON.stringify(seen)}`);
  await liveMarket.and(page.locator('[data-status="ACTIVE"]')).waitFor({ timeout: WAIT });
  const deadline = Date.now() + WAIT;
  let after = await oddsOf();
  while (JSON.stringify(after) === JSON.stringify(before) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    after = await oddsOf();
  }
  if (JSON.stringify(after) === JSON.stringify(before)) throw new Error(`live prices did not move: ${before}`);
  await liveMarket.locator("button.price[data-moved]").first().waitFor({ timeout: WAIT });
  const score = await page.locator(`article[data-key="${liveId}|live"]`).getByTestId("score").textContent();
  if (score.startsWith("0-0")) throw new Error(`the score did not change: ${score}`);
  console.log(`live 1X2 moved ${before.join(" / ")} -> ${after.join(" / ")} after the goal`);
  await shot(page, "03-live-odds");

  step("the stream resumes with its token after a drop");
  await context.setOffline(true);
  await page.getByTestId("stream-status").and(page.locator('[data-state="lost"]')).waitFor({ timeout: WAIT });
  await context.setOffline(false);
  await page.waitForFunction(
    () => {
      const s = document.querySelector("[data-testid=stream-status]");
      return s?.getAttribute("data-state") === "live" && Number(s.getAttribute("data-resumes")) >= 1;
    },
    null,
    { timeout: WAIT },
  );

  step("a live single, picked with the keyboard, waits out the live bet delay");
  const livePick = liveMarket.locator("button.price:enabled").first();
  const liveSelection = await livePick.getAttribute("data-selection");
  await livePick.focus();
  await page.keyboard.press("Enter");
  if ((await livePick.getAttribute("aria-pressed")) !== "true") throw new Error("Enter did not pick the price");
  await expectText(slip.getByTestId("live-delay"), "6 s");
  await slip.getByLabel("Mise (€)").fill("4");
  await slip.getByLabel("Accepter toute cote (ANY)").check();
  await placeUntilDecided(slip);
  await expectText(slip.getByTestId("slip-message"), "Pari accepté");
  await expectBet(liveId, ["ACCEPTED"]);
  await expectText(page.getByTestId("balance"), "89,00");

  step("the operator console mid-match: replicas, the live match, house exposure");
  const ops = await context.newPage();
  await ops.goto(`${EDGE}/operator`);
  await ops.getByLabel("Identifiant client").fill(OPERATOR_ID);
  await ops.getByLabel("Secret client").fill(OPERATOR_SECRET);
  await ops.getByRole("button", { name: "Connexion opérateur" }).click();
  await ops.locator('[data-testid=replicas] tr[data-state="HEALTHY"]').nth(2).waitFor({ timeout: WAIT });
  await ops.locator(`[data-testid=matches] tr[data-fixture="${liveId}"][data-phase="live"]`).waitFor({ timeout: WAIT });
  for (const fixtureId of [preId, liveId]) {
    await ops.waitForFunction(
      (id) => Number(document.querySelector(`[data-testid=exposure] tr[data-fixture="${id}"]`)?.getAttribute("data-stakes")) > 0,
      fixtureId,
      { timeout: WAIT },
    );
  }
  await shot(ops, "05-operator");

  step("results published on chain settle both bets while the page watches");
  const hashes = await ask("results");
  await expectBet(preId, ["WON"], 120_000);
  await acca.and(page.locator('[data-status="WON"]')).waitFor({ timeout: 120_000 });
  // The script's match ends 2-1 to the home side (the result the oracle is given).
  await expectBet(liveId, [liveSelection === "home" ? "WON" : "LOST"], 120_000);
  // 100 deposited, 5 + 2 + 4 staked: the balance is 89,00 plus exactly what "my bets" says was paid.
  const cents = (text) => Number((text.match(/(\d[\d\s\u202f]*),(\d\d)/) ?? ["", "0", "0"]).slice(1).join("").replace(/\D/g, ""));
  let paid = 0;
  let balance = 0;
  const settledBy = Date.now() + WAIT;
  do {
    await new Promise((r) => setTimeout(r, 300));
    paid = (await page.getByTestId("paid").allTextContents()).reduce((sum, text) => sum + cents(text), 0);
    balance = cents((await page.getByTestId("balance").textContent()) ?? "");
  } while (balance !== 8900 + paid && Date.now() < settledBy);
  if (balance !== 8900 + paid || paid === 0) throw new Error(`balance ${balance} != 8900 + paid ${paid}`);
  console.log(`balance after settlement: ${balance / 100} (paid ${paid / 100})`);
  await shot(page, "04-settled");

  step("English on request");
  await page.getByLabel("Langue").selectOption("en");
  await page.getByRole("heading", { name: "My bets" }).waitFor({ timeout: WAIT });
  if ((await page.getAttribute("html", "lang")) !== "en") throw new Error("lang attribute not switched");

  step("every form control has a label");
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, button")]
      .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim()))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  if (unlabelled.length) throw new Error(`controls without a label: ${unlabelled.join(" | ")}`);

  step("without FranceConnect: a provisional account (RegisterPlayer) sees the odds too");
  const other = await browser.newContext({ locale: "en-GB" });
  const visitor = await other.newPage();
  await visitor.goto(`${EDGE}/`);
  await visitor.getByLabel("Display name").fill("Visitor");
  await visitor.getByRole("button", { name: "Open a provisional account" }).click();
  await visitor.getByTestId("signed-in").waitFor({ timeout: WAIT });
  await expectText(visitor.getByTestId("kyc"), "PROVISIONAL");
  await visitor.locator(`article[data-key="${preId}|pre"]`).waitFor({ timeout: WAIT });
  await other.close();

  step("the operator console after the results: return to player and oracle transactions");
  await ops.waitForFunction(() => Number(document.querySelector("[data-testid=rtp-count]")?.textContent) >= 3, null, { timeout: WAIT });
  for (const [fixtureId, hash] of Object.entries(hashes)) {
    const row = ops.locator(`[data-testid=oracle] tr[data-fixture="${fixtureId}"]`);
    await row.waitFor({ timeout: WAIT });
    await expectText(row.getByTestId("tx-hash"), hash);
    if ((await row.getAttribute("data-publication")) !== "FINAL") throw new Error(`${fixtureId} not final`);
  }
  await shot(ops, "06-operator-settled");

  if (consoleErrors.length) console.log(`browser console errors (not fatal): ${consoleErrors.join(" | ")}`);
  await ask("done");
  console.log("OK");
} catch (error) {
  console.error(`FAILED at "${stepName}": ${error?.stack ?? error}`);
  if (consoleErrors.length) console.error(`browser console: ${consoleErrors.join(" | ")}`);
  await shot(page, "failure").catch(() => undefined);
  process.exitCode = 1;
} finally {
  await browser.close();
  lines.return?.();
  process.stdin.destroy();
}

function price(fixtureId, phase, selection) {
  return page.locator(
    `article[data-key="${fixtureId}|${phase}"] [data-market="${fixtureId}/MATCH_RESULT"][data-selection="${selection}"]`,
  );
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function enabled(locator) {
  await locator.and(page.locator(":enabled")).waitFor({ timeout: WAIT });
}

async function expectText(locator, text, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    last = (await locator.textContent({ timeout }).catch(() => "")) ?? "";
    if (last.includes(text)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`expected "${text}", found "${last}"`);
}

async function expectBet(fixtureId, statuses, timeout = WAIT) {
  const bets = page.getByTestId("my-bets").locator(`li.bet[data-fixtures~="${fixtureId}"]`);
  const deadline = Date.now() + timeout;
  let found = [];
  while (Date.now() < deadline) {
    found = await bets.evaluateAll((items) => items.map((i) => i.getAttribute("data-status")));
    if (found.some((s) => statuses.includes(s))) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no bet on ${fixtureId} in ${statuses.join("/")}; found ${found.join(", ") || "none"}`);
}

// The bets service learns the stake cap from identity's event: a bet placed the instant the cap
// is saved may still be refused STAKE_CAP_NOT_SET, and the slip keeps the pick to try again.
async function placeUntilDecided(slip) {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await slip.getByRole("button", { name: "Parier" }).click();
    await page.waitForFunction(() => document.querySelector("[data-testid=slip-message]")?.textContent, null, { timeout: WAIT });
    const message = await slip.getByTestId("slip-message").textContent();
    if (!message.includes("STAKE_CAP_NOT_SET")) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
