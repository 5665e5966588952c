import type pg from 'pg';

/**
 * What the site's LISTEN connections (the change feed, the live feed) share: doubling waits between reconnects
 * (first `firstMs`, at most 10 s, back to the first once connected) and the two ways a listening client is let go.
 */
export class ReconnectBackoff {
  private wait: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly firstMs: number,
    private readonly reconnect: () => void,
  ) {
    this.wait = firstMs;
  }

  /** One reconnect after the current wait (a second call while one is due does nothing). */
  schedule(): void {
    if (this.timer) return;
    const wait = this.wait;
    this.wait = Math.min(this.wait * 2, 10_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reconnect();
    }, wait);
    this.timer.unref();
  }

  connected(): void {
    this.wait = this.firstMs;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A client that failed to connect or to LISTEN: closed in the background, its late errors ignored. */
export function abandonClient(client: pg.Client): void {
  client.removeAllListeners();
  client.on('error', () => undefined);
  void client.end().catch(() => undefined);
}

/** Ends a listening client on stop: its end and errors no longer count as a lost connection to reconnect. */
export async function endListening(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  client.removeAllListeners('end');
  client.removeAllListeners('error');
  client.on('error', () => undefined);
  await client.end().catch(() => undefined);
}
