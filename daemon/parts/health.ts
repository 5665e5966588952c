import type { InputAdapter } from '../../adapters/types.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import type { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import { rescuedFiles } from '../adapters.ts';
import type { HealthReport } from '../http/services.ts';
import type { AdapterHealth } from './adapter-health.ts';
import type { LibraryPart } from './library-part.ts';
import type { ModelPart } from './model.ts';
import type { DaemonPhase } from './part.ts';
import type { SitePart } from './site-part.ts';
import type { StorePart } from './store-part.ts';

export interface HealthDeps {
  readonly config: ResolvedConfig;
  readonly phase: DaemonPhase;
  readonly startedAt: number;
  readonly store: StorePart;
  readonly model: ModelPart;
  readonly library: LibraryPart;
  readonly pipeline: SpectrumPipeline;
  readonly adapterHealth: AdapterHealth;
  readonly inputs: () => readonly InputAdapter[];
  readonly site?: SitePart;
}

/** GET /api/health: the daemon's phase, adapters, queues, counts and library, readable at any phase. */
export function healthReporter(deps: HealthDeps): () => HealthReport {
  const { config, phase, store, model, library, pipeline, adapterHealth } = deps;
  return () => {
    const counts = store.isOpen ? store.store.counts() : { spectra: 0, pending: 0, results: 0, rejected: 0 };
    const stats = pipeline.stats();
    const adapters = adapterHealth.list();
    const lib = library.loaded;
    return {
      node: config.node.id,
      status: phase.value === 'running' ? (adapters.some((a) => a.state === 'down') ? 'degraded' : 'ok') : phase.value,
      ready: phase.running,
      modelVersion: model.loaded?.version,
      inference: (library.models?.engine() ?? model.engineAtStart)?.engine,
      uptimeS: Math.round((Date.now() - deps.startedAt) / 1000),
      adapters,
      queueDepth: counts.pending,
      queueBound: config.pipeline.queueBound,
      queues: { ingesting: stats.ingesting, inMemory: stats.inMemory, pending: counts.pending },
      outbox: store.isOpen ? store.store.outboxDepths() : {},
      counts: { ...counts, identified: stats.identified, duplicates: stats.duplicates, rescuedFiles: rescuedFiles(deps.inputs()) },
      library: lib ? { classes: lib.library.classCount, references: lib.library.referenceCount } : undefined,
      ...(deps.site?.health() ? { site: deps.site.health() } : {}),
    };
  };
}
