// The player's session: the token the edge hands over in the URL fragment after FranceConnect
// (never sent to a server, never logged), kept in sessionStorage for this tab only.

export interface PlayerSession {
  accessToken: string;
  expiresAt: number; // unix seconds
  playerId: string;
  sessionId: string;
}

const KEY = "betmesh.player";

/** Reads a sign-in result or error from the fragment and removes it from the address bar. */
export function takeFragment(location: Location, history: History): { session?: PlayerSession; loginError?: string } {
  const hash = location.hash.startsWith("#") ? location.hash.slice(1) : location.hash;
  if (!hash) return {};
  const params = new URLSearchParams(hash);
  const found: { session?: PlayerSession; loginError?: string } = {};
  const token = params.get("access_token");
  if (token) {
    found.session = {
      accessToken: token,
      expiresAt: Number(params.get("expires_at") ?? "0"),
      playerId: params.get("player_id") ?? "",
      sessionId: params.get("session_id") ?? "",
    };
  }
  const error = params.get("login_error");
  if (error) found.loginError = error;
  if (token || error || params.has("logged_out")) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  return found;
}

export function saveSession(session: PlayerSession | null): void {
  try {
    if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Without storage the session lives in memory for this page only.
  }
}

export function loadSession(now: number = Date.now() / 1000): PlayerSession | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as PlayerSession;
    if (!session.accessToken || (session.expiresAt && session.expiresAt <= now)) return null;
    return session;
  } catch {
    return null;
  }
}

export function loginUrl(returnTo: string): string {
  return `/auth/franceconnect/login?return_to=${encodeURIComponent(returnTo)}`;
}

export function logoutUrl(session: PlayerSession): string {
  return `/auth/franceconnect/logout?session_id=${encodeURIComponent(session.sessionId)}`;
}
