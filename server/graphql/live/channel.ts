// Fan-out to subscribers that never queues: each subscriber holds at most one
// pending value, merged with newer ones (the latest snapshot wins, counts add
// up), so a slow WebSocket costs O(1) memory whatever the event rate.

/** How a pending value and a newer one combine. */
export type Merge<T> = (pending: T, next: T) => T;

/** Keeps only the newest value. */
export const latest = <T>(_pending: T, next: T): T => next;

/** One subscriber's stream. */
export class LiveChannel<T> implements AsyncIterableIterator<T> {
  private pending: { value: T } | null = null;
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private closed = false;

  constructor(private readonly merge: Merge<T>, private readonly onClose: () => void) {}

  /** Delivers a value now if the subscriber is waiting, or merges it into the pending one. */
  push(value: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else {
      this.pending = { value: this.pending ? this.merge(this.pending.value, value) : value };
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.pending) {
      const { value } = this.pending;
      this.pending = null;
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends the stream (the subscriber sees done). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    this.onClose();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** A set of subscribers receiving the same values. */
export class Broadcaster<T> {
  private readonly channels = new Set<LiveChannel<T>>();

  constructor(private readonly merge: Merge<T> = latest) {}

  /** A new subscriber, optionally primed with a first value. */
  subscribe(first?: T): LiveChannel<T> {
    const ch: LiveChannel<T> = new LiveChannel<T>(this.merge, () => this.channels.delete(ch));
    this.channels.add(ch);
    if (first !== undefined) ch.push(first);
    return ch;
  }

  /** Sends a value to every subscriber. */
  publish(value: T): void {
    for (const ch of this.channels) ch.push(value);
  }

  /** Subscribers right now. */
  get size(): number {
    return this.channels.size;
  }

  /** Ends every subscriber's stream. */
  closeAll(): void {
    for (const ch of [...this.channels]) ch.close();
  }
}
