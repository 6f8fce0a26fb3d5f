/**
 * One dedicated PostgreSQL connection that LISTENs on a channel and sends NOTIFYs, and comes back
 * by itself. A pooled connection cannot LISTEN (the pool hands it to other queries and closes it
 * when idle), so the relay keeps a `pg.Client` of its own. It never throws into the process: a
 * refused connect, a server that ends it (restart, `pg_terminate_backend`) or one that stops
 * answering (caught by TCP keepalive and a ping with a timeout) only schedule a reconnect, with a
 * delay that doubles up to MAX_RETRY_MS. Every new connection LISTENs again before `onConnected`.
 */
import pg from 'pg';

const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 5_000;
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5_000;
/** A server that stops answering without closing the socket is noticed within this (plus the timeout). */
const PING_MS = 15_000;

export interface PgListenerOptions {
  url: string;
  channel: string;
  /** Shown in pg_stat_activity (an operator, or a test, finds this connection by it). */
  applicationName: string;
  onNotification: (payload: string) => void;
  /** After LISTEN took effect; `first` is false after a connection loss (notifications were missed). */
  onConnected: (first: boolean) => void;
  /** A connection was lost or could not be made; `reason` is what the driver said. */
  onDisconnected: (reason: string) => void;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export class PgListener {
  private client: pg.Client | null = null;
  private connected = false;
  private closed = false;
  private everConnected = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: PgListenerOptions) {
    // LISTEN takes an identifier, not a parameter: only plain names are accepted.
    if (!CHANNEL.test(options.channel)) throw new Error(`not a channel name: ${options.channel}`);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.connect().catch(() => undefined);
  }

  /** Sends one notification; false when there is no connection now or the send failed. */
  async notify(payload: string): Promise<boolean> {
    const client = this.client;
    if (!client || !this.connected) return false;
    try {
      await client.query('SELECT pg_notify($1, $2)', [this.options.channel, payload]);
      return true;
    } catch (error) {
      this.lost(client, error);
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    const client = this.client;
    this.client = null;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: this.options.applicationName,
    });
    this.client = client;
    // Without a listener an 'error' on the client is an uncaught exception: the process would end.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.options.channel && message.payload !== undefined)
        this.options.onNotification(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client || this.closed) return;
    this.connected = true;
    this.retryMs = FIRST_RETRY_MS;
    this.pingTimer = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => this.lost(client, error));
    }, PING_MS).unref();
    const first = !this.everConnected;
    this.everConnected = true;
    this.options.onConnected(first);
  }

  /** Drops `client` (once, whatever reported it first) and schedules the next attempt. */
  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    this.connected = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.onDisconnected(error instanceof Error ? error.message : String(error));
    this.retryTimer = setTimeout(() => {
      // connect() reports every failure through lost(); nothing is left to catch.
      this.connect().catch(() => undefined);
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
