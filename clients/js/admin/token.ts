/**
 * The operator's token, kept for this tab only (sessionStorage), apart from
 * the demo page's: an operator's token may act on every user's jobs, so it
 * is never handed to the demo page, and never put on disk (localStorage).
 */

export { parseToken } from "../demo/token.js";

const KEY = "jobgate.admin-token";

export class OperatorToken {
  /** When the browser refuses storage: the token lives until the page reloads. */
  private memory: string | undefined;
  private readonly storage: Storage | undefined;

  constructor(storage?: Storage) {
    if (storage !== undefined) {
      this.storage = storage;
      return;
    }
    try {
      this.storage = sessionStorage;
    } catch {
      this.storage = undefined;
    }
  }

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
