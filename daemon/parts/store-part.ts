import { chmodSync, mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../../config/load.ts';
import { LocalRetention } from '../store/local-retention.ts';
import { retentionCutoff } from '../store/retention.ts';
import { Store } from '../store/store.ts';
import { started, type DaemonPart } from './part.ts';

/** Opens the store in a private data folder and prunes what is past retention, at start and then periodically; closes it last at stop. */
export class StorePart implements DaemonPart {
  readonly name = 'store';
  private opened?: Store;
  private retention?: LocalRetention;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  get store(): Store {
    return started(this.opened, 'the store');
  }

  /** Open and taking reads (health and metrics ask before the start and after the stop too). */
  get isOpen(): boolean {
    return this.opened?.db.open ?? false;
  }

  async start(): Promise<void> {
    const { config, log } = this;
    // The data folder holds the store, the token and the models: the daemon's user only (it was 0755 under the
    // usual umask); the systemd unit also sets UMask=0077.
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    try {
      chmodSync(config.dataDir, 0o700);
    } catch (err) {
      log.warn({ dir: config.dataDir, err: String(err) }, 'could not make the data folder private (0700); other local users may read the store');
    }
    const store = new Store(config.store.path, { synchronous: config.store.synchronous });
    this.opened = store;
    log.info({ path: config.store.path, synchronous: config.store.synchronous }, 'store open');
    const cutoff = retentionCutoff(config.store.retentionDays);
    if (cutoff !== undefined) {
      log.info({ removed: store.prune(cutoff), cutoff }, 'old spectra pruned');
    }
    this.retention = new LocalRetention(store, { days: config.store.retentionDays, intervalMs: config.store.pruneIntervalMin * 60_000, log });
    this.retention.start();
  }

  async stop(): Promise<void> {
    await this.retention?.stop();
    this.opened?.close();
  }
}
