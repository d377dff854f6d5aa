import pg from 'pg';

export interface ChangeListener {
  /** True while LISTEN is in place: only then can a cache rely on being told of changes. */
  readonly listening: boolean;
  close(): Promise<void>;
}

export interface ChangeHandlers {
  /** A participant row changed (its `participantKey`); called when the change commits. */
  changed(key: string): void;
  /** Announcements stop (the connection dropped): a cache must stop trusting itself. */
  lost(): void;
  /** Announcements resume; anything changed in between went unannounced. */
  restored(): void;
}

/**
 * Listens on `handoff_participants` (migration 0004's trigger) on a connection of its own, and reconnects after
 * losing it (every 100 ms to 1 s). Starts whether or not the first connection succeeds: until LISTEN is in place
 * `lost` has been called, so the cache reads the store on every lookup instead of serving what may have changed.
 */
export async function listenForParticipantChanges(
  databaseUrl: string,
  timeoutMs: number,
  handlers: ChangeHandlers,
): Promise<ChangeListener> {
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let attempts = 0;
  let retry: NodeJS.Timeout | undefined;

  const drop = (connection: pg.Client) => {
    if (client !== connection) return;
    client = undefined;
    listening = false;
    handlers.lost();
    connection.end().catch(() => {});
    if (!closed) retry = setTimeout(connect, Math.min(++attempts * 100, 1000));
  };
  const connect = async () => {
    // TCP keep-alive: a peer that vanished without closing is noticed, not waited on forever.
    const connection = new pg.Client({
      connectionString: databaseUrl,
      connectionTimeoutMillis: timeoutMs,
      keepAlive: true,
    });
    client = connection;
    connection.on('error', () => drop(connection));
    connection.on('end', () => drop(connection));
    connection.on('notification', (message) => {
      if (message.channel === 'handoff_participants' && message.payload) handlers.changed(message.payload);
    });
    try {
      await connection.connect();
      await connection.query('LISTEN handoff_participants');
    } catch {
      drop(connection);
      return;
    }
    if (client !== connection || closed) return;
    attempts = 0;
    listening = true;
    handlers.restored();
  };

  handlers.lost();
  await connect();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const connection = client;
      client = undefined;
      listening = false;
      await connection?.end().catch(() => {});
    },
  };
}
