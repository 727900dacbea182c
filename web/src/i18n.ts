// French and English text. The language comes from the browser unless the player chose one
// (kept in localStorage); switching re-renders without a reload.

export type Lang = "fr" | "en";

const en = {
  title: "betmesh",
  skip: "Skip to the odds",
  language: "Language",
  signIn: "S'identifier avec FranceConnect",
  signInWhat: "What is FranceConnect?",
  orProvisional: "No FranceConnect? Open a provisional account now and verify your identity within a month (ANJ rules).",
  displayName: "Display name",
  openProvisional: "Open a provisional account",
  signOut: "Sign out",
  signedInAs: "Signed in as",
  signInToBet: "Sign in with FranceConnect to bet: the odds are open to everyone.",
  signInTitle: "Sign in to bet",
  loginError: "Sign-in failed",
  loginOtherBrowser: "This sign-in was not started in this browser (or took too long): no account was opened here. Sign in again from this page.",
  sessionExpired: "Your session has expired: sign in again.",
  board: "Live odds",
  connecting: "Connecting to the odds stream…",
  streamLive: "Live odds stream connected",
  streamLost: "Odds stream interrupted: reconnecting…",
  noFixtures: "No fixtures priced yet.",
  preMatch: "Pre-match",
  live: "Live",
  suspended: "Suspended",
  closed: "Closed",
  settled: "Settled",
  betDelay: "Live bet delay: {s} s",
  allMarkets: "All markets ({n})",
  priceUp: "{sel} {odds} (up)",
  priceDown: "{sel} {odds} (down)",
  marketSuspended: "{fixture}: {market} suspended",
  marketReopened: "{fixture}: {market} open again",
  addToSlip: "Add {sel} at {odds} to the bet slip",
  period: "period {p}",
  football: "Football",
  tennis: "Tennis",
  basketball: "Basketball",
  wallet: "Wallet",
  balance: "Balance",
  held: "Held for open bets",
  deposit: "Deposit",
  amount: "Amount (€)",
  deposited: "Deposited {amount}.",
  invalidAmount: "Enter an amount such as 20 or 12,50.",
  limits: "Responsible gambling limits (ANJ)",
  depositCap: "7-day deposit cap (€)",
  stakeCap: "7-day stake cap (€)",
  notSet: "not set",
  pending: "{amount} from {when}",
  saveLimits: "Save limits",
  limitsSaved: "Limits saved. Cuts apply at once, raises after 48 hours.",
  stakeCapRequired: "French rules: set a 7-day stake cap before your first bet.",
  selfExcluded: "Self-excluded until {when}",
  restrictions: "Account restrictions",
  selfExclude: "Exclude myself",
  selfExcludeDays: "Self-exclusion (days, 1 to 365)",
  kycStatus: "Identity",
  slip: "Bet slip",
  slipEmpty: "Pick a price on the board to start a bet.",
  single: "Single",
  accumulator: "Accumulator",
  stake: "Stake (€)",
  combinedOdds: "Combined odds",
  potentialPayout: "Potential payout",
  acceptance: "If the price changes before the bet is accepted",
  acceptNone: "Accept only the exact price (NONE)",
  acceptAny: "Accept any price (ANY)",
  acceptHigher: "Accept only a higher price (HIGHER)",
  liveDelayNote: "Live bet: accepted after a {s} s delay and a re-check of the price.",
  placeBet: "Place bet",
  placing: "Placing…",
  waitingDelay: "Waiting out the live bet delay…",
  remove: "Remove {sel}",
  sameFixture: "An accumulator needs legs on different fixtures.",
  suspendedLeg: "A selection is suspended.",
  myBets: "My bets",
  status_PENDING: "pending",
  status_ACCEPTED: "accepted",
  status_REJECTED: "rejected",
  status_WON: "won",
  status_LOST: "lost",
  status_VOID: "void",
  status_HALF_WON: "half won",
  status_HALF_LOST: "half lost",
  status_CASHED_OUT: "cashed out",
  noBets: "No bets yet.",
  potential: "potential {amount}",
  paid: "paid {amount}",
  accepted: "Bet accepted",
  rejected: "Bet refused",
  operator: "Operator",
  operatorTitle: "Operator console (read-only)",
  operatorSignIn: "Operator sign-in",
  clientId: "Client id",
  clientSecret: "Client secret",
  operatorHelp:
    "Client credentials issued by identity (IssueToken). For a local mesh: client betmesh-demo-operator, secret in .betmesh/demo-operator.secret.",
  replicas: "Quote replicas and consensus",
  sport: "Sport",
  quorum: "Quorum",
  replica: "Replica",
  state: "State",
  agreed: "Agreed",
  dissented: "Dissented",
  timedOut: "Timed out",
  engine: "Engine",
  majoritySuspect: "Outvoted by one engine",
  verdictMajoritySuspect: "majority suspect",
  verdictReplicaFaulty: "replica faulty",
  verdictNoMajority: "no majority",
  verdictUnconfirmed: "one engine only",
  dissents: "Recent dissents",
  noDissents: "No dissent recorded.",
  matches: "Matches",
  markets: "Markets",
  exposure: "House exposure",
  worstCase: "Worst-case loss",
  stakes: "Stakes",
  rtp: "Realised return to player",
  payouts: "Payouts",
  settledBets: "Settled bets",
  oracle: "Oracle publications",
  result: "Result",
  publication: "Publication",
  tx: "Transaction",
  block: "Block",
  noPublications: "No published result yet.",
  refresh: "Refresh",
  error: "Error",
} as const;

export type Key = keyof typeof en;

const fr: Record<Key, string> = {
  title: "betmesh",
  skip: "Aller aux cotes",
  language: "Langue",
  signIn: "S'identifier avec FranceConnect",
  signInWhat: "Qu'est-ce que FranceConnect ?",
  orProvisional: "Pas de FranceConnect ? Ouvrez un compte provisoire maintenant et vérifiez votre identité sous un mois (règles de l'ANJ).",
  displayName: "Nom affiché",
  openProvisional: "Ouvrir un compte provisoire",
  signOut: "Se déconnecter",
  signedInAs: "Connecté·e :",
  signInToBet: "Identifiez-vous avec FranceConnect pour parier : les cotes sont visibles par tous.",
  signInTitle: "S'identifier pour parier",
  loginError: "Échec de l'identification",
  loginOtherBrowser: "Cette identification n'a pas été commencée dans ce navigateur (ou a expiré) : aucune session n'a été ouverte ici. Identifiez-vous à nouveau depuis cette page.",
  sessionExpired: "Votre session a expiré : identifiez-vous à nouveau.",
  board: "Cotes en direct",
  connecting: "Connexion au flux de cotes…",
  streamLive: "Flux de cotes connecté",
  streamLost: "Flux de cotes interrompu : reconnexion…",
  noFixtures: "Aucune rencontre cotée pour l'instant.",
  preMatch: "Avant-match",
  live: "En direct",
  suspended: "Suspendu",
  closed: "Fermé",
  settled: "Réglé",
  betDelay: "Délai des paris en direct : {s} s",
  allMarkets: "Tous les marchés ({n})",
  priceUp: "{sel} {odds} (en hausse)",
  priceDown: "{sel} {odds} (en baisse)",
  marketSuspended: "{fixture} : {market} suspendu",
  marketReopened: "{fixture} : {market} rouvert",
  addToSlip: "Ajouter {sel} à {odds} au coupon",
  period: "période {p}",
  football: "Football",
  tennis: "Tennis",
  basketball: "Basket-ball",
  wallet: "Portefeuille",
  balance: "Solde",
  held: "Bloqué pour les paris en cours",
  deposit: "Déposer",
  amount: "Montant (€)",
  deposited: "Dépôt de {amount} effectué.",
  invalidAmount: "Saisissez un montant comme 20 ou 12,50.",
  limits: "Limites de jeu responsable (ANJ)",
  depositCap: "Plafond de dépôt sur 7 jours (€)",
  stakeCap: "Plafond de mises sur 7 jours (€)",
  notSet: "non défini",
  pending: "{amount} à partir du {when}",
  saveLimits: "Enregistrer les limites",
  limitsSaved: "Limites enregistrées. Une baisse s'applique tout de suite, une hausse après 48 heures.",
  stakeCapRequired: "Règles françaises : fixez un plafond de mises sur 7 jours avant votre premier pari.",
  selfExcluded: "Auto-exclu·e jusqu'au {when}",
  restrictions: "Restrictions du compte",
  selfExclude: "M'auto-exclure",
  selfExcludeDays: "Auto-exclusion (jours, de 1 à 365)",
  kycStatus: "Identité",
  slip: "Coupon",
  slipEmpty: "Choisissez une cote pour commencer un pari.",
  single: "Simple",
  accumulator: "Combiné",
  stake: "Mise (€)",
  combinedOdds: "Cote totale",
  potentialPayout: "Gain potentiel",
  acceptance: "Si la cote change avant l'acceptation du pari",
  acceptNone: "Accepter seulement la cote exacte (NONE)",
  acceptAny: "Accepter toute cote (ANY)",
  acceptHigher: "Accepter seulement une cote plus haute (HIGHER)",
  liveDelayNote: "Pari en direct : accepté après un délai de {s} s et une nouvelle vérification de la cote.",
  placeBet: "Parier",
  placing: "Envoi…",
  waitingDelay: "Délai des paris en direct en cours…",
  remove: "Retirer {sel}",
  sameFixture: "Un combiné doit porter sur des rencontres différentes.",
  suspendedLeg: "Une sélection est suspendue.",
  myBets: "Mes paris",
  status_PENDING: "en attente",
  status_ACCEPTED: "accepté",
  status_REJECTED: "refusé",
  status_WON: "gagné",
  status_LOST: "perdu",
  status_VOID: "annulé",
  status_HALF_WON: "à moitié gagné",
  status_HALF_LOST: "à moitié perdu",
  status_CASHED_OUT: "encaissé",
  noBets: "Aucun pari pour l'instant.",
  potential: "gain potentiel {amount}",
  paid: "payé {amount}",
  accepted: "Pari accepté",
  rejected: "Pari refusé",
  operator: "Opérateur",
  operatorTitle: "Console opérateur (lecture seule)",
  operatorSignIn: "Connexion opérateur",
  clientId: "Identifiant client",
  clientSecret: "Secret client",
  operatorHelp:
    "Identifiants client délivrés par identity (IssueToken). Pour un maillage local : client betmesh-demo-operator, secret dans .betmesh/demo-operator.secret.",
  replicas: "Réplicas de cotation et consensus",
  sport: "Sport",
  quorum: "Quorum",
  replica: "Réplica",
  state: "État",
  agreed: "D'accord",
  dissented: "Divergents",
  timedOut: "Hors délai",
  engine: "Moteur",
  majoritySuspect: "Mis en minorité par un seul moteur",
  verdictMajoritySuspect: "majorité suspecte",
  verdictReplicaFaulty: "réplique fautive",
  verdictNoMajority: "pas de majorité",
  verdictUnconfirmed: "un seul moteur",
  dissents: "Divergences récentes",
  noDissents: "Aucune divergence enregistrée.",
  matches: "Rencontres",
  markets: "Marchés",
  exposure: "Exposition de la maison",
  worstCase: "Perte maximale",
  stakes: "Mises",
  rtp: "Taux de retour aux joueurs réalisé",
  payouts: "Gains versés",
  settledBets: "Paris réglés",
  oracle: "Publications de l'oracle",
  result: "Résultat",
  publication: "Publication",
  tx: "Transaction",
  block: "Bloc",
  noPublications: "Aucun résultat publié pour l'instant.",
  refresh: "Actualiser",
  error: "Erreur",
};

const dictionaries: Record<Lang, Record<Key, string>> = { en, fr };
const STORAGE_KEY = "betmesh.lang";

export function detectLang(stored: string | null, browser: readonly string[]): Lang {
  if (stored === "fr" || stored === "en") return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "fr" || base === "en") return base;
  }
  return "fr";
}

let current: Lang = "fr";
const listeners = new Set<() => void>();

export function initLang(): Lang {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be blocked (private mode policies): the browser's language then decides.
  }
  current = detectLang(stored, navigator.languages ?? [navigator.language]);
  document.documentElement.lang = current;
  return current;
}

export function lang(): Lang {
  return current;
}

/** BCP 47 tag for Intl formatting. */
export function locale(): string {
  return current === "fr" ? "fr-FR" : "en-GB";
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered, still switched.
  }
  for (const listener of listeners) listener();
}

export function onLangChange(listener: () => void): void {
  listeners.add(listener);
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text = dictionaries[current][key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`));
}

export function keysOf(which: Lang): string[] {
  return Object.keys(dictionaries[which]).sort();
}
