import type { Logger } from 'pino';
import type { OutputAdapter } from '../../adapters/types.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import type { HistoryReads } from '../http/services.ts';
import type { InstrumentHealth } from '../health/instrument-health.ts';
import { claimEnrollmentKey, completeEnrollmentKey, releaseEnrollmentKey, type EnrollmentKeyClaim } from '../site/enrollment-keys.ts';
import { siteInstrumentHealth } from '../site/site-instruments.ts';
import type { SiteLiveFeed } from '../site/live-feed.ts';
import { SiteRetention } from '../site/site-retention.ts';
import { SiteStore, type SiteHealth } from '../site/site-store.ts';
import type { LabelledResult } from '../store/store.ts';
import type { LibraryPart } from './library-part.ts';
import type { ModelPart } from './model.ts';
import type { DaemonPart } from './part.ts';
import type { StorePart } from './store-part.ts';

/** The output (and outbox queue) name of the results and alerts going to the site's PostgreSQL. */
export const SITE_OUTPUT = 'site';

export interface SitePartDeps {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly store: StorePart;
  readonly model: ModelPart;
  readonly library: LibraryPart;
  /** This node's dashboards (socket.io outputs): other nodes' results and alerts are shown there live too. */
  readonly live?: { readonly result: (r: ResultMessage) => void; readonly alert: (a: AlertMessage) => void };
}

/**
 * The daemon as one node of a site (site.postgres.url; docs/SCALE-OUT.md): started after the library and its model
 * manager, before the outputs and inputs, so the node has caught up with the site's library and model before it
 * identifies anything, and its results find the site output. Without the URL it does nothing (a single node).
 * Stopped after the outputs, which flush the site output's outbox while PostgreSQL is still open.
 */
export class SitePart implements DaemonPart {
  readonly name = 'site';
  private opened?: SiteStore;
  private output?: OutputAdapter;
  private retention?: SiteRetention;
  private live?: SiteLiveFeed;
  /** Instrument counts cover the results since this node started, as a single node's do. */
  private readonly startedAt = Date.now();

  constructor(private readonly deps: SitePartDeps) {}

  get enabled(): boolean {
    return this.deps.config.site.postgres.url !== undefined;
  }

  /** The site store, once started on a site. */
  get site(): SiteStore | undefined {
    return this.opened;
  }

  async start(): Promise<void> {
    const { config, log, store, model, library } = this.deps;
    const url = config.site.postgres.url;
    if (url === undefined) return;
    if (config.outputs.some((o) => o.name === SITE_OUTPUT)) {
      throw new Error(`outputs: the name "${SITE_OUTPUT}" is the site's own output (site.postgres.url); rename that output`);
    }
    const site = await SiteStore.open({ url, node: config.node.id, log, store: store.store, pollMs: config.site.postgres.pollMs });
    this.opened = site;
    await site.attach(
      {
        modelVersion: () => model.encoder.version,
        reloadLibrary: () => library.library.load(),
        serial: (task) => (library.models ? library.models.serial.run(task) : task()),
        registry: () => library.models?.registry,
        models: () => library.models?.manager,
      },
      config.site.postgres.catchUpTimeoutS * 1000,
    );
    this.output = site.resultsOutput();
    this.retention = new SiteRetention(site.pool, {
      days: config.store.retentionDays,
      keysKeepHours: config.site.postgres.keysKeepHours,
      intervalMs: config.store.pruneIntervalMin * 60_000,
      log,
    });
    this.retention.start();
    const live = this.deps.live;
    if (live) {
      this.live = site.liveFeed(live.result, live.alert);
      await this.live.start();
    }
  }

  /** The output that carries results and alerts to the site (the OutputsPart feeds it from the outbox). */
  outputs(): OutputAdapter[] {
    return this.output ? [this.output] : [];
  }

  /** The site's one write token, given this node's own (undefined: no site, or unreachable now: keep this node's). */
  async token(proposed: string): Promise<string | undefined> {
    try {
      return await this.opened?.token(proposed);
    } catch (err) {
      this.deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site store unreachable: this node keeps its own token until its next start');
      return undefined;
    }
  }

  /**
   * History and alerts for the API: the site's, from PostgreSQL. A spectrum this node holds is read locally first
   * (it may still be pending, before its result reached the site); acknowledgements close the local copy too.
   */
  history(): HistoryReads | undefined {
    const site = this.opened;
    if (!site) return undefined;
    const local = () => this.deps.store.store;
    // With PostgreSQL away the node still shows what it holds itself: its own history and alerts.
    const orLocal = async <T>(fromSite: () => Promise<T>, fromLocal: () => T): Promise<T> => {
      try {
        return await fromSite();
      } catch (err) {
        this.deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site store unreachable: answering from this node’s own history');
        return fromLocal();
      }
    };
    return {
      listResults: (f) => orLocal(() => site.queries.listResults(f), () => local().listResults(f)),
      iterateResults: (f) => orLocalRows(site.queries.iterateResults(f), () => local().iterateResults(f), this.deps.log),
      instrumentTrends: (...a) => orLocal(() => site.queries.instrumentTrends(...a), () => local().instrumentTrends(...a)),
      getSpectrum: async (id) => local().getSpectrum(id) ?? orLocal(() => site.queries.getSpectrum(id), () => undefined),
      queryAlerts: (f) => orLocal(() => site.queries.queryAlerts(f), () => local().queryAlerts(f)),
      alertCounts: () => orLocal(() => site.queries.alertCounts(), () => local().alertCounts()),
      acknowledgeAlerts: async (f) => {
        const done = await site.queries.acknowledgeAlerts(f);
        if (done.ids.length > 0) local().acknowledgeAlerts({ ids: done.ids });
        return done;
      },
      acknowledgeAlert: async (id) => {
        const at = await site.queries.acknowledgeAlert(id);
        if (at) local().acknowledgeAlert(id);
        return at;
      },
    };
  }

  /**
   * Per-instrument health site-wide (every node's results since this node started, this node's adapters); this
   * node's own when PostgreSQL is away. Undefined without a site.
   */
  async instruments(local: InstrumentHealth[]): Promise<InstrumentHealth[] | undefined> {
    const site = this.opened;
    if (!site) return undefined;
    try {
      return siteInstrumentHealth(local, await site.queries.instrumentTallies(this.startedAt, Date.now() - 60_000));
    } catch (err) {
      this.deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site store unreachable: instruments from this node’s own counts');
      return local;
    }
  }

  /** A received spectrum's preprocessed vector from any node (enrolling on this node a spectrum another received). */
  async spectrumVector(id: string): Promise<Float32Array | undefined> {
    return this.opened?.queries.spectrumVector(id);
  }

  /**
   * Claims an enrollment's Idempotency-Key for this node site-wide (daemon/site/enrollment-keys.ts); undefined
   * without a site, or while PostgreSQL is away (the key then holds on this node only, as on a single node).
   */
  async claimEnrollmentKey(key: string, cls: string): Promise<EnrollmentKeyClaim | undefined> {
    const site = this.opened;
    if (!site) return undefined;
    try {
      return await claimEnrollmentKey(site.pool, key, cls, this.deps.config.node.id);
    } catch (err) {
      this.deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site store unreachable: this Idempotency-Key holds on this node only');
      return undefined;
    }
  }

  /** The answer under a key this node claimed (or the claim given back when `answer` is undefined: it failed). */
  async settleEnrollmentKey(key: string, answer: { enrollmentId: string; class: string; created: boolean; added: number } | undefined): Promise<void> {
    const site = this.opened;
    if (!site) return;
    const node = this.deps.config.node.id;
    await (answer ? completeEnrollmentKey(site.pool, key, node, answer) : releaseEnrollmentKey(site.pool, key, node)).catch((err: unknown) =>
      this.deps.log.warn({ err: err instanceof Error ? err.message : String(err), key }, 'site store: could not record an Idempotency-Key’s outcome'),
    );
  }

  enrolled(enrollmentId: string, by?: string): void {
    this.opened?.enrolled(enrollmentId, by);
  }

  undone(enrollmentId: string): void {
    this.opened?.undone(enrollmentId);
  }

  health(): SiteHealth | undefined {
    return this.opened?.health();
  }

  async stop(): Promise<void> {
    await this.live?.stop();
    await this.retention?.stop();
    await this.opened?.stop();
  }
}

/**
 * The site's rows, or this node's when PostgreSQL fails before the first row (an export started while it is away);
 * a failure after rows went out ends the download (its rows cannot be taken back).
 */
async function* orLocalRows(site: AsyncIterable<LabelledResult>, local: () => Iterable<LabelledResult>, log: Logger): AsyncGenerator<LabelledResult> {
  let yielded = false;
  try {
    for await (const r of site) {
      yielded = true;
      yield r;
    }
  } catch (err) {
    if (yielded) throw err;
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site store unreachable: exporting this node’s own history');
    yield* local();
  }
}
