import type pg from 'pg';
import { SpectrumInputError } from '../../core/errors.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import type { ModelManager } from '../models/model-manager.ts';
import type { ModelRegistry } from '../models/versions.ts';
import type { Store } from '../store/store.ts';
import { ChangeFeed } from './change-feed.ts';
import { LocalSiteState, latestRevision, lockChangeLog, type SiteChange, type SiteChangePayload } from './changes.ts';
import { hasLocalEnrollment, publishEnrollment, publishUndo, readSiteEnrollment } from './library-sync.ts';
import { migrateSite } from './migrations.ts';
import { installSiteModel, publishActivation, publishModelVersion } from './model-sync.ts';
import { inTransaction, openSitePool, redactUrl } from './pool.ts';
import { SiteRunLock, siteToken } from './retrain-lock.ts';
import { SiteResultsOutput } from './site-output.ts';
import { SiteQueries } from './site-queries.ts';
import { SiteLiveFeed, type LiveFeedOptions } from './live-feed.ts';
import { SiteResultArbiter } from './result-arbiter.ts';
import { SiteWorkLedger } from './work-ledger.ts';

/** What the site store needs of the running daemon (daemon/run.ts provides it; late-bound, it changes at a switch). */
export interface SiteHost {
  /** The encoder version now identifying: a site reference's embedding made by it is used as is. */
  modelVersion(): string;
  /** Reloads the live library from the local store (after references were added or removed). */
  reloadLibrary(): Promise<void>;
  /** Runs a library or model change in the daemon's queue of such changes (one at a time, between micro-batches). */
  serial<T>(task: () => Promise<T>): Promise<T>;
  registry(): ModelRegistry | undefined;
  models(): ModelManager | undefined;
}

export interface SiteStoreOptions {
  readonly url: string;
  readonly node: string;
  readonly log: PipelineLogger;
  /** The node's local SQLite store: the commit-before-ack ledger, the library replica, the site outbox. */
  readonly store: Store;
  readonly pollMs?: number;
}

export interface SiteHealth {
  readonly revision: number;
  readonly listening: boolean;
  /** Library and model changes made here that PostgreSQL has not taken yet. */
  readonly unpublished: number;
}

/**
 * PostgreSQL as the site store of several daemons (docs/SCALE-OUT.md): the library (enrollments and undos), the model
 * registry and the active model, results and alerts of every node, one write token, one retraining run at a time.
 * Each node keeps its local SQLite store as the commit-before-ack ledger and as its replica of the library, so it
 * identifies on while PostgreSQL is away; changes it makes wait in a local queue (site_pending) until PostgreSQL
 * takes them, and changes made elsewhere arrive through the change log (ChangeFeed), applied in revision order
 * through the daemon's own enrollment and model-switch paths.
 */
export class SiteStore {
  readonly queries: SiteQueries;
  readonly local: LocalSiteState;
  private host: SiteHost | undefined;
  private feed: ChangeFeed | undefined;
  private workPool: pg.Pool | undefined;
  private readonly runLock: SiteRunLock;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private backoff = 250;
  private stopped = false;
  /** The version a site change is activating here: its own activation hook must not publish it back. */
  private applyingActivation: string | undefined;
  private readonly appliedListeners = new Set<(change: SiteChange) => void>();
  /** Set once the node has caught up at start: versions added from then on are prepared ahead. */
  private joined = false;
  /** Resolves once the site schema is migrated (at once, or when an unreachable PostgreSQL answers). */
  private ready: Promise<void> = Promise.resolve();

  private constructor(
    readonly pool: pg.Pool,
    private readonly o: SiteStoreOptions,
  ) {
    this.queries = new SiteQueries(pool);
    this.local = new LocalSiteState(o.store.db);
    this.runLock = new SiteRunLock(pool, o.node);
  }

  /**
   * Connects and migrates the site schema (several nodes may start at once). An unreachable PostgreSQL does not stop
   * the node: it starts on its local state and joins the site when PostgreSQL answers (retried in the background);
   * any other failure (a schema from a newer spectrad, no right to create tables) does. The URL is never logged whole.
   */
  static async open(o: SiteStoreOptions): Promise<SiteStore> {
    const pool = openSitePool(o.url, o.log, { applicationName: `spectrad-${o.node}`.slice(0, 63) });
    const site = new SiteStore(pool, o);
    const migrate = async () => {
      const { from, to } = await migrateSite(pool);
      o.log.info({ site: redactUrl(o.url), schemaFrom: from, schemaTo: to }, 'site store ready');
    };
    try {
      await migrate();
    } catch (err) {
      if (!unreachable(err)) {
        await pool.end().catch(() => undefined);
        throw new Error(`site store ${redactUrl(o.url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      o.log.warn({ site: redactUrl(o.url), err: err instanceof Error ? err.message : String(err) }, 'site store unreachable at start: this node identifies on its local state and joins the site when PostgreSQL answers');
      site.ready = (async () => {
        for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
          await new Promise((r) => setTimeout(r, wait).unref());
          if (site.stopped) throw new Error('stopped');
          try {
            await migrate();
            return;
          } catch (again) {
            if (!unreachable(again)) o.log.error({ err: again instanceof Error ? again.message : String(again) }, 'site store: schema migration failed; retrying');
          }
        }
      })();
      site.ready.catch(() => undefined);
    }
    return site;
  }

  /** The site's one write token (see siteToken); the proposal is this node's own. */
  token(proposed: string): Promise<string> {
    return siteToken(this.pool, proposed);
  }

  /** The site's ledger of finished queue jobs, for this node's queue inputs (cross-node exactly once). */
  workLedger(): SiteWorkLedger {
    return new SiteWorkLedger(this.queuePool(), this.o.node);
  }

  /** Other nodes' results and alerts as they reach the site, for this node's dashboards (daemon/site/live-feed.ts). */
  liveFeed(onResult: LiveFeedOptions['onResult'], onAlert: LiveFeedOptions['onAlert']): SiteLiveFeed {
    return new SiteLiveFeed({ url: this.o.url, pool: this.pool, node: this.o.node, log: this.o.log, onResult, onAlert });
  }

  /** Whose result counts for each spectrum of this node's queue inputs, decided on the site before the local commit. */
  resultArbiter(queueInputs: readonly string[]): SiteResultArbiter {
    return new SiteResultArbiter(this.queuePool(), this.o.node, this.o.store.db, queueInputs, this.o.log);
  }

  /**
   * Connections of their own for the work queue's site calls (the decision before each micro-batch's commit, the
   * finished-job ledger): they sit on the pipeline's path, so the outbox, the change feed and the API, which share
   * the main pool, never make them wait for a connection.
   */
  private queuePool(): pg.Pool {
    this.workPool ??= openSitePool(this.o.url, this.o.log, { max: 3, applicationName: `spectrad-${this.o.node}-queue`.slice(0, 63) });
    return this.workPool;
  }

  /** The output that carries this node's results and alerts to PostgreSQL behind the local outbox. */
  resultsOutput(): SiteResultsOutput {
    return new SiteResultsOutput(this.pool, this.o.node, (id) => this.o.store.getSpectrum(id));
  }

  /**
   * Joins the daemon: shares this node's models and hooks its model manager, catches up with every change since the
   * node's revision (bounded by `catchUpMs`: with PostgreSQL away the node starts on its local state and catches up
   * when it is back), then listens.
   */
  async attach(host: SiteHost, catchUpMs = 30_000): Promise<void> {
    this.host = host;
    const manager = host.models();
    if (manager) {
      manager.siteHooks = {
        candidateSaved: (version) => this.queue({ kind: 'model-added', version }),
        activated: (version, how) => {
          if (this.applyingActivation === version) return;
          this.queue({ kind: 'model-activated', version, how });
        },
        claimRun: () => this.runLock.claim(),
        releaseRun: () => void this.runLock.release(),
      };
    }
    const feed = new ChangeFeed({
      url: this.o.url,
      pool: this.pool,
      log: this.o.log,
      revision: () => this.local.revision,
      apply: (change) => this.apply(change),
      pollMs: this.o.pollMs,
    });
    this.feed = feed;
    const join = (async () => {
      await this.ready;
      await this.firstSync();
      if (this.stopped) return;
      this.joined = true;
      this.prepareNewest();
      await feed.start();
      void this.flush();
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), catchUpMs)));
    const outcome = await Promise.race([join.then(() => 'joined' as const), timeout]).catch((err: unknown) => {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site: joining failed; this node goes on with its local state');
      return 'failed' as const;
    });
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.o.log.warn({ ms: catchUpMs }, 'site: not caught up in time; this node starts on its local state and applies the rest when it can');
      join.catch((err: unknown) => this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site: joining failed'));
    }
  }

  /**
   * After catching up: the newest version of the registry, when it is not the active one (a candidate added while
   * this node was away), is prepared like one added now, so its promotion finds it ready here too.
   */
  private prepareNewest(): void {
    const registry = this.host?.registry();
    const newest = registry?.list().at(-1);
    if (newest && newest.version !== registry?.current()?.version) this.host?.models()?.prepare(newest.version);
  }

  /** Models of this node the site lacks (the shipped v1 on a fresh site), then every change since the node's revision. */
  private async firstSync(): Promise<void> {
    const work = (async () => {
      const registry = this.host?.registry();
      if (registry) {
        const current = registry.current();
        const siteHasAny = Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM site_models')).rows[0].n) > 0;
        if (!siteHasAny && current) {
          // A fresh site: this node's registry is the site's first (its promoted version becomes the site's active one).
          for (const v of registry.list()) this.queue({ kind: 'model-added', version: v.version });
          this.queue({ kind: 'model-activated', version: current.version, how: 'promote' });
          await this.flush();
        }
      }
      await this.feed!.catchUp();
    })();
    await work;
    const latest = await latestRevision(this.pool).catch(() => undefined);
    this.o.log.info({ revision: this.local.revision, latest }, 'site: caught up');
  }

  /** This node enrolled (labelled by `by`): the site gets it (now, or when PostgreSQL is back). */
  enrolled(enrollmentId: string, by?: string): void {
    this.queue({ kind: 'enroll', enrollmentId, ...(by ? { by } : {}) });
  }

  /** This node undid an enrollment. */
  undone(enrollmentId: string): void {
    this.queue({ kind: 'undo', enrollmentId });
  }

  /** Calls `listener` after each site change this node applied (tests, logs). */
  onApplied(listener: (change: SiteChange) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  health(): SiteHealth {
    return { revision: this.local.revision, listening: this.feed?.listening ?? false, unpublished: this.local.pendingCount() };
  }

  private queue(change: SiteChangePayload): void {
    this.local.queue(change);
    void this.flush();
  }

  /** Publishes the queued changes in order; on failure retries with backoff (the queue is on disk). */
  private flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const run = this.flushNow().finally(() => {
      this.flushing = undefined;
      if (this.flushAgain) {
        this.flushAgain = false;
        void this.flush();
      }
    });
    this.flushing = run;
    return run;
  }

  private async flushNow(): Promise<void> {
    const registry = this.host?.registry();
    for (;;) {
      const batch = this.local.pending(20);
      if (batch.length === 0) {
        this.backoff = 250;
        return;
      }
      for (const { seq, change } of batch) {
        const t0 = performance.now();
        try {
          // An enrollment is one call of its own (one round trip, its own transaction); the rest run under the lock.
          if (change.kind === 'enroll') await publishEnrollment(this.pool, this.o.store.db, change.enrollmentId, this.o.node, change.by);
          else await inTransaction(this.pool, async (client) => {
            await lockChangeLog(client);
            switch (change.kind) {
              case 'undo':
                await publishUndo(client, change.enrollmentId, this.o.node);
                break;
              case 'model-added':
                if (registry?.get(change.version)) await publishModelVersion(client, registry, change.version, this.o.node);
                break;
              case 'model-activated':
                await publishActivation(client, change.version, change.how, this.o.node);
                break;
            }
          });
          this.local.done(seq);
          this.o.log.info({ change: change.kind, ...('enrollmentId' in change ? { enrollmentId: change.enrollmentId } : { version: change.version }), ms: Math.round(performance.now() - t0) }, 'site: change published');
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.local.failed(seq, message);
          this.o.log.warn({ err: message, change: change.kind }, 'site: could not publish a change now; it waits in the local queue');
          if (!this.stopped) {
            this.flushTimer = setTimeout(() => this.flush(), this.backoff);
            this.flushTimer.unref();
            this.backoff = Math.min(this.backoff * 2, 10_000);
          }
          return;
        }
      }
    }
  }

  /**
   * Applies one site change to this node (the change feed calls it in revision order) and records its revision. A
   * change this node refuses for what it is (a class name its library refuses, a model on another input grid) is
   * logged as an error and passed over, so it cannot hold back every later change; anything else (PostgreSQL away)
   * is retried.
   */
  private async apply(change: SiteChange): Promise<void> {
    try {
      await this.applyOne(change);
    } catch (err) {
      if (!(err instanceof SpectrumInputError)) throw err;
      this.o.log.error({ revision: change.revision, change: change.kind, from: change.node, code: err.code, err: err.message }, 'site: this node cannot apply a site change; passed over');
    }
    if (this.local.revision < change.revision) this.local.setRevision(change.revision);
    for (const l of this.appliedListeners) {
      try {
        l(change);
      } catch {
        // A listener's failure must not fail the applied change.
      }
    }
  }

  private async applyOne(change: SiteChange): Promise<void> {
    const host = this.host;
    if (!host) throw new Error('site store not attached to a daemon');
    const store = this.o.store;
    switch (change.kind) {
      case 'enroll': {
        if (hasLocalEnrollment(store.db, change.enrollmentId)) break;
        const t0 = performance.now();
        const e = await readSiteEnrollment(this.pool, change.enrollmentId, host.modelVersion());
        if (!e) break;
        const t1 = performance.now();
        let t2 = t1;
        await host.serial(async () => {
          t2 = performance.now();
          const version = host.modelVersion();
          store.db.transaction(() => {
            store.addReferences(
              e.class,
              e.origin,
              e.refs.map((r) => ({
                vector: r.vector,
                enrollmentId: change.enrollmentId,
                ...(r.spectrumId ? { spectrumId: r.spectrumId } : {}),
                // Another model's embedding is left out: the library embeds the reference with this one.
                ...(r.embedding && r.embedding.length > 0 ? { embedding: r.embedding, modelVersion: version } : {}),
              })),
              e.by ? { labelledBy: e.by } : {},
            );
            this.local.setRevision(change.revision);
          })();
          await host.reloadLibrary();
        });
        const ms = { read: Math.round(t1 - t0), queued: Math.round(t2 - t1), applied: Math.round(performance.now() - t2) };
        this.o.log.info({ class: e.class, references: e.refs.length, revision: change.revision, from: change.node, ms }, 'site: enrollment applied');
        break;
      }
      case 'undo': {
        const removed = await host.serial(async () => {
          const { removed } = store.undoEnrollment(change.enrollmentId);
          if (removed > 0) await host.reloadLibrary();
          return removed;
        });
        if (removed > 0) this.o.log.info({ enrollmentId: change.enrollmentId, removed, revision: change.revision, from: change.node }, 'site: enrollment undone');
        break;
      }
      case 'model-added': {
        const registry = host.registry();
        if (registry && !registry.get(change.version)) {
          await installSiteModel(this.pool, registry, change.version);
          this.o.log.info({ version: change.version, from: change.node }, 'site: model version added');
          // Ready before anyone activates it, so the activation is a switch of pointers here (docs/SCALE-OUT.md).
          // Not while catching up at start: an old version in the log would be prepared for nothing.
          if (this.joined) host.models()?.prepare(change.version);
        }
        break;
      }
      case 'model-activated': {
        const registry = host.registry();
        const manager = host.models();
        if (!registry || !manager || registry.current()?.version === change.version) break;
        await installSiteModel(this.pool, registry, change.version);
        this.applyingActivation = change.version;
        try {
          if (change.how === 'rollback' && registry.previous()?.version === change.version) await manager.rollback();
          else await manager.promote(change.version, true);
        } finally {
          this.applyingActivation = undefined;
        }
        this.o.log.info({ version: change.version, how: change.how, from: change.node, revision: change.revision }, 'site: model switched');
        break;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    await this.feed?.stop();
    await this.flushing?.catch(() => undefined);
    await this.runLock.release();
    await this.pool.end().catch(() => undefined);
    await this.workPool?.end().catch(() => undefined);
  }
}

/** Whether a failure means PostgreSQL cannot be reached now (worth retrying), rather than a fault of ours or its. */
export function unreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (/^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|TIMEDOUT|AI_AGAIN|NOTFOUND|PIPE)$/.test(code) || /^(08|57P0)/.test(code))) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /timeout expired|Connection terminated|connect ECONN|the database system is (starting up|shutting down|in recovery mode)/i.test(message);
}
