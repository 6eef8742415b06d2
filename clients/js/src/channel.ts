/**
 * A queue read as an async iterator: the socket pushes, `for await` pulls.
 * Nothing is dropped while nobody reads; `finish` ends it (with an error
 * that the reader's next `next()` throws, if given).
 */

export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly readers: {
    resolve: (r: IteratorResult<T>) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private ended: { error?: unknown } | undefined;

  constructor(private readonly onReturn?: () => void) {}

  get done(): boolean {
    return this.ended !== undefined;
  }

  push(item: T): void {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader) reader.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  finish(error?: unknown): void {
    if (this.ended) return;
    this.ended = error === undefined ? {} : { error };
    for (const r of this.readers.splice(0)) {
      if (error === undefined) r.resolve({ value: undefined, done: true });
      else r.reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.ended) {
      if ("error" in this.ended) {
        const e = this.ended.error;
        this.ended = {}; // thrown once, then plain done
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /** A `break` out of `for await` lands here: stop listening. */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.finish();
    this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
