/**
 * A single-consumer async queue that turns callback-style vendor sockets into async
 * iterables. Bounded: a consumer that stops reading while the vendor keeps sending ends
 * the stream with an error instead of growing memory without limit.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(private readonly capacity = 10_000) {}

  get isClosed(): boolean {
    return this.closed || this.failure !== undefined;
  }

  push(item: T): void {
    if (this.isClosed) return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.capacity) {
      this.fail(new Error(`event queue over ${this.capacity} items: the consumer stopped reading`));
      return;
    }
    this.items.push(item);
  }

  /** Ends the stream after the queued items. */
  close(): void {
    if (this.isClosed) return;
    this.closed = true;
    if (this.waiter && this.items.length === 0) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  /** Ends the stream with an error after the queued items. */
  fail(error: unknown): void {
    if (this.isClosed) return;
    this.failure = { error };
    if (this.waiter && this.items.length === 0) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.reject(error);
    }
  }

  private next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.items.length = 0;
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
