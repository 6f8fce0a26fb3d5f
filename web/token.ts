/**
 * The API token for cancel and rebuild, kept in this browser's localStorage. The page itself never
 * sees it from the server: a reader types it once ("set token").
 */
const KEY = 'autobuilder.token';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(KEY) || null;
  } catch {
    return null; // storage disabled (private mode, policy): behave as if no token was set
  }
}

/** Asks for the token; an empty answer forgets it. Returns whether one is stored afterwards. */
export function askForToken(): boolean {
  const answer = prompt('API token for cancel and rebuild (empty to forget it):', storedToken() ?? '');
  if (answer === null) return storedToken() !== null;
  try {
    if (answer.trim() === '') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, answer.trim());
  } catch {
    return false;
  }
  return storedToken() !== null;
}

/** POSTs (`body` as JSON, when given) with `Authorization: Bearer <token>` when a token is stored. */
export function postWithToken(url: string, body?: unknown): Promise<Response> {
  const token = storedToken();
  return fetch(url, {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
