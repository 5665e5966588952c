import type { Encoder } from '../../core/encoder/types.ts';
import type { EngineChoice } from '../../core/engine/onnx.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import type { LibraryService } from '../library.ts';
import type { Store } from '../store/store.ts';
import { yieldToEventLoop } from '../workers/off-thread-calibration.ts';

/** A model version made ready to identify before anyone activates it. */
interface PreparedModel {
  readonly dir: string;
  readonly loaded: { readonly encoder: Encoder; readonly choice: EngineChoice };
  /** Reference id -> its embedding by this model (not yet in the store: the store's serve the active model). */
  readonly embeddings: ReadonlyMap<number, Float32Array>;
  /** The library built from those embeddings and calibrated; usable as is while the store's references are `references`. */
  readonly library: LibraryService;
  readonly references: string;
}

/** The store's live reference ids, as one string: a prepared library fits while these are unchanged. */
export function referenceIds(store: Store): string {
  return store
    .references()
    .map((r) => r.id)
    .join(',');
}

/**
 * Prepares a model version ahead of its activation: loads it (ONNX export and self-check, the slow part), embeds the
 * library with it a few references at a time and builds and calibrates its library, all in the background while the
 * active model keeps identifying. An activation of that version then only stores the embeddings and swaps (see
 * startDaemonModels' switchTo): on a site, every node prepares a version when it is added to the registry, so a
 * promotion on one node is a pointer switch on every other (docs/SCALE-OUT.md). One version is held at a time (a
 * newer one replaces it; its encoder is disposed), since each holds an encoder and a library in memory.
 */
export class ModelPreparation {
  private current: { readonly dir: string; readonly work: Promise<PreparedModel | undefined>; taken: boolean } | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: PipelineLogger,
    private readonly load: (dir: string) => Promise<PreparedModel['loaded']>,
    private readonly newLibrary: (encoder: Encoder) => LibraryService,
  ) {}

  /** Starts preparing `dir` unless it is being or has been prepared; never throws (a failure is logged, and the activation loads it as before). */
  prepare(dir: string): void {
    if (this.current?.dir === dir && !this.current.taken) return;
    const replaced = this.current;
    const t0 = performance.now();
    const work = (async () => {
      // One preparation at a time: the one replaced finishes (or fails) first and is let go unless an activation took it.
      if (replaced) {
        const old = await replaced.work;
        if (old && !replaced.taken) old.loaded.encoder.dispose();
      }
      const loaded = await this.load(dir);
      const t1 = performance.now();
      const embeddings = await embedAhead(this.store, loaded.encoder);
      const t2 = performance.now();
      const library = this.newLibrary(loaded.encoder);
      library.useEmbeddingsMadeAhead(embeddings);
      // Read in the same tick as load() reads the store's references, so the ids describe what the library holds.
      const references = referenceIds(this.store);
      await library.load();
      const ms = { load: Math.round(t1 - t0), embed: Math.round(t2 - t1), library: Math.round(performance.now() - t2) };
      this.log.info({ dir, modelVersion: loaded.encoder.version, references: embeddings.size, ms }, 'model prepared');
      return { dir, loaded, embeddings, library, references };
    })().catch((err: unknown) => {
      this.log.warn({ dir, err: err instanceof Error ? err.message : String(err) }, 'could not prepare a model version ahead; its activation loads it then');
      return undefined;
    });
    this.current = { dir, work, taken: false };
  }

  /** The preparation of `dir` (waited for when under way), now the caller's; undefined when it was not prepared or failed. */
  async take(dir: string): Promise<PreparedModel | undefined> {
    const mine = this.current;
    if (mine?.dir !== dir || mine.taken) return undefined;
    mine.taken = true;
    this.current = undefined;
    return mine.work;
  }
}

/** Embeds every live reference with `encoder` in small steps (the pipeline's micro-batches run between them). */
async function embedAhead(store: Store, encoder: Encoder, chunk = 4): Promise<Map<number, Float32Array>> {
  const points = encoder.grid.points;
  const dim = encoder.dim;
  const refs = store.references();
  const out = new Map<number, Float32Array>();
  for (let start = 0; start < refs.length; start += chunk) {
    const part = refs.slice(start, start + chunk);
    const x = new Float32Array(part.length * points);
    part.forEach((r, i) => x.set(r.vector.subarray(0, points), i * points));
    const e = await encoder.embed(x, part.length);
    part.forEach((r, i) => out.set(r.id, e.slice(i * dim, (i + 1) * dim)));
    await yieldToEventLoop();
  }
  return out;
}
