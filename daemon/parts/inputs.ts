import type { Logger } from 'pino';
import type { InputAdapter } from '../../adapters/types.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import type { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import { createInputs } from '../adapters.ts';
import type { AdapterHealth } from './adapter-health.ts';
import type { DaemonPart } from './part.ts';
import type { SitePart } from './site-part.ts';
import type { StorePart } from './store-part.ts';

export interface InputsPartDeps {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly store: StorePart;
  readonly pipeline: SpectrumPipeline;
  readonly adapterHealth: AdapterHealth;
  /** On a site, its queue inputs share the site's ledger of finished jobs. */
  readonly site?: SitePart;
}

/**
 * Where spectra come from (folder, serial, MQTT): each input feeds the pipeline and reports its state. Started once
 * the pipeline and outputs run; stopped first, so nothing new arrives while the pipeline drains.
 */
export class InputsPart implements DaemonPart {
  readonly name = 'inputs';
  private started: InputAdapter[] = [];

  constructor(private readonly deps: InputsPartDeps) {}

  get inputs(): readonly InputAdapter[] {
    return this.started;
  }

  async start(): Promise<void> {
    const { config, log, pipeline, adapterHealth } = this.deps;
    this.started = await createInputs(config.inputs, this.deps.store.store, config.instrument, log, config.node.id, this.deps.site?.site?.workLedger());
    for (const input of this.started) {
      adapterHealth.watch(input);
      pipeline.attach(input.inputs$, input.name);
      try {
        await input.start();
      } catch (err) {
        log.error({ err, input: input.name }, 'input failed to start; the daemon goes on without it');
      }
    }
  }

  async stop(): Promise<void> {
    const { log } = this.deps;
    await Promise.all(
      this.started.map(async (i) => {
        try {
          await i.stop();
        } catch (err) {
          log.error({ err, input: i.name }, 'input stop failed');
        }
      }),
    );
  }
}
