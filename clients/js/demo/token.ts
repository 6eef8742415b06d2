/**
 * The token the demo page sends when the server's /config.js carries none
 * (a server listening on a network address hands out no demo token).
 *
 * It is kept in sessionStorage: it lasts as long as the tab, is not shared
 * with other tabs and is gone when the tab closes. localStorage would keep a
 * bearer token on disk for any later visitor of the same browser profile.
 */

const KEY = "jobgate.token";

/** A pasted token, or the reason it cannot be one. */
export type Parsed = { token: string } | { problem: string };

/** Trims the pasted text and drops a leading "Bearer " (a copied header value). */
export function parseToken(raw: string): Parsed {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  if (token === "") return { problem: "Paste a token first." };
  // A header value: visible ASCII only, else fetch refuses to send it.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return { problem: "That is not a token: it may hold only visible ASCII, no spaces." };
  }
  return { token };
}

export class TokenStore {
  /** Used when the browser refuses storage (some private modes): the token lives until reload. */
  private memory: string | undefined;

  constructor(private readonly storage: Storage | undefined) {}

  get(): string | undefined {
    try {
      return this.storage?.getItem(KEY) || this.memory;
    } catch {
      return this.memory;
    }
  }

  set(token: string): void {
    this.memory = token;
    try {
      this.storage?.setItem(KEY, token);
    } catch {
      // memory only
    }
  }

  clear(): void {
    this.memory = undefined;
    try {
      this.storage?.removeItem(KEY);
    } catch {
      // nothing stored
    }
  }
}

/** The tab's store; also removes the copy earlier versions of the page left in localStorage. */
export function sessionTokenStore(): TokenStore {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing was kept there either
  }
  let storage: Storage | undefined;
  try {
    storage = sessionStorage;
  } catch {
    storage = undefined;
  }
  return new TokenStore(storage);
}
