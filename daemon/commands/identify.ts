import type { Command } from 'commander';
import { SpectrumInputError } from '../../core/errors.ts';
import type { InferenceEngine } from '../../core/engine/onnx.ts';
import type { ReadOptions } from './arguments.ts';
import { withReadOptions } from './arguments.ts';
import { DEFAULT_MODEL, openEncoder, prepareFiles, readLibrary, stackRows } from './library.ts';

/**
 * `spectrad identify --model DIR --library LIB FILE...`: one JSON object per spectrum on stdout,
 * {file, status, class?, score, candidates: [{class, score}], components?: [{class, score, fraction}], warnings?}.
 * A file that cannot be read or parsed gives {file, status: 'rejected', error} and exit code 1; the others still run.
 */

interface IdentifyOpts extends Partial<ReadOptions> {
  model: string;
  engine: string;
  library: string;
  k: string;
  mixtures: boolean;
  maxComponents: string;
  falseUnknownRate: string;
}

export function register(program: Command): void {
  withReadOptions(program.command('identify'))
    .description('identify the compound or mixture in each spectrum file against a reference library')
    .requiredOption('--library <LIB>', 'library file (made with `spectrad library add`)')
    .option('--model <DIR|NAME>', 'model directory or bundled model name (default, raman-532, ir, ...)', DEFAULT_MODEL)
    .option('--engine <name>', 'inference engine: auto | tfjs | onnx (docs/ENGINE.md)', 'auto')
    .option('--k <n>', 'neighbours that vote', '3')
    .option('--no-mixtures', 'single compounds only')
    .option('--max-components <n>', 'most mixture components considered', '5')
    .option('--false-unknown-rate <r>', 'target share of known compounds called unknown', '0.01')
    .argument('<FILE...>', 'spectrum files (JCAMP-DX, CSV/TSV, JSON)')
    .action(async (files: string[], opts: IdentifyOpts) => {
      await run(files, opts);
    });
}

async function run(files: string[], opts: IdentifyOpts): Promise<void> {
  const { calibrate, identify, spectralRankingFor, synthesizeMixtureEmbeddings } = await import('../../core/identify/index.ts');
  const k = Number(opts.k);
  const maxComponents = Number(opts.maxComponents);
  const rate = Number(opts.falseUnknownRate);
  if (!Number.isInteger(k) || k < 1) return usage('--k must be a positive integer');
  if (!Number.isInteger(maxComponents) || maxComponents < 2 || maxComponents > 8) return usage('--max-components must be 2-8');
  let encoder;
  let library;
  try {
    encoder = await openEncoder(opts.model, opts.engine as InferenceEngine);
    library = readLibrary(opts.library);
    if (library.modelVersion !== encoder.version) {
      console.error(`spectrad: library was embedded with model ${library.modelVersion}; re-embedding in memory for ${encoder.version}`);
      await library.reembed(encoder);
    }
  } catch (e) {
    if (e instanceof SpectrumInputError) return usage(`${e.code}: ${e.message}`);
    throw e;
  }
  // Physical grids (Raman, IR): library search (HQI) beside the embedding, which then answers single compounds only.
  const spectral = spectralRankingFor(encoder.grid);
  // Mixtures of the library's own reference spectra, embedded by this model, set the unknown-component threshold.
  const mixtureEmbeddings = !spectral && opts.mixtures && library.classCount >= 2 ? await synthesizeMixtureEmbeddings(library, encoder, 200, Math.min(4, maxComponents)) : undefined;
  // The spectral ranking calibrates itself per library state; the embedding's calibration serves the rest.
  const calibration =
    !spectral && library.classCount >= 2 ? calibrate(library, { targetFalseUnknownRate: rate, maxComponents, mixtureEmbeddings }) : undefined;
  for (const file of files) {
    try {
      const prepared = await prepareFiles([file], encoder, opts);
      const embeddings = await encoder.embed(stackRows(prepared.map((p) => p.values), encoder.grid.points), prepared.length);
      prepared.forEach((p, i) => {
        const r = identify(
          { embedding: embeddings.subarray(i * encoder.dim, (i + 1) * encoder.dim), spectrum: p.values },
          library,
          { k, calibration, mixtures: opts.mixtures, maxComponents, spectral: spectral ?? false },
        );
        console.log(
          JSON.stringify({
            file,
            ...(p.block !== undefined ? { block: p.block } : {}),
            status: r.status,
            ...(r.class !== undefined ? { class: r.class } : {}),
            score: r.score,
            candidates: r.candidates,
            ...(r.components ? { components: r.components, unknownComponent: r.unknownComponent, fitQuality: r.fitQuality } : {}),
            ...(r.decidedBy ? { decidedBy: r.decidedBy } : {}),
            ...(r.predictionSet ? { predictionSet: r.predictionSet, coverage: r.coverage } : {}),
            ...(p.warnings ? { warnings: p.warnings } : {}),
          }),
        );
      });
    } catch (e) {
      if (!(e instanceof SpectrumInputError)) throw e;
      console.log(JSON.stringify({ file, status: 'rejected', error: { code: e.code, message: e.message } }));
      process.exitCode = 1;
    }
  }
  encoder.dispose();
}

function usage(message: string): void {
  console.error(`spectrad identify: ${message}`);
  process.exitCode = 2;
}
