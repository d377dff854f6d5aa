interface Call<I, O> {
  item: I;
  resolve: (result: O) => void;
  reject: (error: unknown) => void;
}

export interface BatchOptions {
  /** Executions under way at once (each holds a database connection). */
  maxInFlight: number;
  maxBatch: number;
}

/**
 * Many calls of one statement as few executions (group commit): while `maxInFlight` executions are under way, calls
 * wait, and the next execution takes all that wait (up to `maxBatch`). Alone, a call runs at once; under load, one
 * round trip and one commit serve many. `run` answers its items in order; if it fails, every call in it fails.
 */
export function batchedStatement<I, O>(
  run: (items: I[]) => Promise<O[]>,
  options: BatchOptions,
): (item: I) => Promise<O> {
  const waiting: Array<Call<I, O>> = [];
  let inFlight = 0;

  async function execute(batch: Array<Call<I, O>>): Promise<void> {
    try {
      const results = await run(batch.map((call) => call.item));
      for (const [i, call] of batch.entries()) call.resolve(results[i] as O);
    } catch (error) {
      for (const call of batch) call.reject(error);
    } finally {
      inFlight -= 1;
      next();
    }
  }

  function next(): void {
    if (inFlight >= options.maxInFlight || waiting.length === 0) return;
    inFlight += 1;
    void execute(waiting.splice(0, options.maxBatch));
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      next();
    });
}

/** `batchedStatement` with one batcher per database handle (each store, and each test's database, its own). */
export function batchedPerDatabase<D extends object, I, O>(
  run: (db: D, items: I[]) => Promise<O[]>,
  options: BatchOptions,
): (db: D, item: I) => Promise<O> {
  const batchers = new WeakMap<D, (item: I) => Promise<O>>();
  return (db, item) => {
    let call = batchers.get(db);
    if (!call) {
      call = batchedStatement((items: I[]) => run(db, items), options);
      batchers.set(db, call);
    }
    return call(item);
  };
}
