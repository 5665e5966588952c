import type { Command } from 'commander';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Encoder } from '../../core/encoder/types.ts';
import type { InferenceEngine } from '../../core/engine/onnx.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { deserializeLibrary, serializeLibrary, ReferenceLibrary } from '../../core/identify/library.ts';

/**
 * `spectrad library add|list|remove|rename|reembed`: a reference library file (LIB) edited from the command line.
 * Helpers here (reading and writing LIB, turning files into preprocessed spectra) are shared with `spectrad identify`.
 */

export const DEFAULT_MODEL = 'models/default';

export function readLibrary(file: string): ReferenceLibrary {
  return deserializeLibrary(new Uint8Array(readFileSync(file)), file);
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written library. */
export function writeLibrary(file: string, library: ReferenceLibrary): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, serializeLibrary(library));
  renameSync(tmp, file);
}

/** The model's Encoder on the chosen inference engine (auto: onnxruntime when it loads and matches tfjs, docs/ENGINE.md). */
export async function openEncoder(dir: string, engine: InferenceEngine = 'auto', threads = 1): Promise<Encoder> {
  const { initEngine } = await import('../../core/engine/index.ts');
  const { loadInferenceEncoder } = await import('../../core/engine/onnx.ts');
  await initEngine();
  if (!existsSync(dir)) {
    throw new SpectrumInputError('model-missing', `no model directory at ${dir} (give --model DIR)`, { file: dir });
  }
  // Only a fallback is worth a line on stderr; the chosen engine is the expected case.
  const { encoder } = await loadInferenceEncoder(dir, { engine, threads, logger: (m) => (/using tfjs/.test(m) ? process.stderr.write(`spectrad: ${m}\n`) : undefined) });
  return encoder;
}

export interface PreparedSpectrum {
  readonly file: string;
  /** 1-based block number when the file holds several spectra. */
  readonly block?: number;
  readonly values: Float32Array;
}

/**
 * Parses each file (any supported format, every block; `format` overrides the detection) and preprocesses onto the
 * encoder's grid.
 */
export async function prepareFiles(files: readonly string[], encoder: Encoder, format?: FileFormatOption): Promise<PreparedSpectrum[]> {
  const { parseSpectra } = await import('../../core/formats/index.ts');
  const { preprocess } = await import('../../core/preprocess/index.ts');
  const out: PreparedSpectrum[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new SpectrumInputError('file-unreadable', `cannot read: ${(e as Error).message}`, { file });
    }
    const spectra = parseSpectra(bytes, { fileName: file, ...(format && format !== 'auto' ? { format } : {}) });
    spectra.forEach((s, i) => out.push({ file, block: spectra.length > 1 ? i + 1 : undefined, values: preprocess(s, encoder.grid) }));
  }
  return out;
}

export type FileFormatOption = 'auto' | 'jcamp' | 'csv' | 'json';
export const FORMAT_OPTION_HELP = 'file format: auto (detected) | jcamp | csv | json';

export function stackRows(rows: readonly Float32Array[], points: number): Float32Array {
  const out = new Float32Array(rows.length * points);
  rows.forEach((r, i) => out.set(r, i * points));
  return out;
}

/** Reports a rejected input as one line on stderr and sets a failing exit code; anything else is a bug: rethrow. */
export function reportError(error: unknown): void {
  if (error instanceof SpectrumInputError) {
    console.error(`spectrad: ${error.code}: ${error.message}`);
    process.exitCode = 1;
    return;
  }
  throw error;
}

interface LibraryOpts {
  library: string;
  model?: string;
  class?: string;
  to?: string;
  json?: boolean;
  format?: FileFormatOption;
}

export function register(program: Command): void {
  const library = program.command('library').description('manage a reference library file: enroll, list, remove, rename classes');

  library
    .command('add')
    .description('enroll a class from labelled spectra (creates LIB when missing); no retraining')
    .requiredOption('--library <LIB>', 'library file')
    .requiredOption('--class <NAME>', 'class name')
    .option('--model <DIR>', 'model directory', DEFAULT_MODEL)
    .option('--format <name>', FORMAT_OPTION_HELP, 'auto')
    .argument('<FILE...>', 'spectrum files (JCAMP-DX, CSV/TSV, JSON)')
    .action(async (files: string[], opts: LibraryOpts) => {
      try {
        const encoder = await openEncoder(opts.model ?? DEFAULT_MODEL);
        let lib = existsSync(opts.library) ? readLibrary(opts.library) : null;
        if (!lib || lib.classCount === 0) {
          lib = new ReferenceLibrary({ dim: encoder.dim, points: encoder.grid.points, modelVersion: encoder.version });
        } else if (lib.modelVersion !== encoder.version) {
          // Embeddings of two models are not comparable: bring the library to this model first.
          await lib.reembed(encoder);
        }
        const prepared = await prepareFiles(files, encoder, opts.format);
        const count = await lib.enroll(opts.class!, stackRows(prepared.map((p) => p.values), encoder.grid.points), encoder);
        writeLibrary(opts.library, lib);
        console.log(JSON.stringify({ library: opts.library, class: opts.class, added: prepared.length, references: count, classes: lib.classCount }));
        encoder.dispose();
      } catch (e) {
        reportError(e);
      }
    });

  library
    .command('list')
    .description('list the classes of a library')
    .requiredOption('--library <LIB>', 'library file')
    .option('--json', 'one JSON object per class')
    .action((opts: LibraryOpts) => {
      try {
        const lib = readLibrary(opts.library);
        if (opts.json) {
          for (const c of lib.list()) console.log(JSON.stringify(c));
          return;
        }
        console.log(`${lib.classCount} classes, ${lib.referenceCount} references, dim ${lib.dim}, model ${lib.modelVersion}`);
        for (const c of lib.list()) console.log(`${c.name}\t${c.references}${c.hasSpectra ? '' : '\t(no spectra)'}`);
      } catch (e) {
        reportError(e);
      }
    });

  library
    .command('remove')
    .description('remove a class')
    .requiredOption('--library <LIB>', 'library file')
    .requiredOption('--class <NAME>', 'class name')
    .action((opts: LibraryOpts) => {
      try {
        const lib = readLibrary(opts.library);
        lib.removeClass(opts.class!);
        writeLibrary(opts.library, lib);
        console.log(JSON.stringify({ library: opts.library, removed: opts.class, classes: lib.classCount }));
      } catch (e) {
        reportError(e);
      }
    });

  library
    .command('rename')
    .description('rename a class')
    .requiredOption('--library <LIB>', 'library file')
    .requiredOption('--class <NAME>', 'current name')
    .requiredOption('--to <NEW>', 'new name')
    .action((opts: LibraryOpts) => {
      try {
        const lib = readLibrary(opts.library);
        lib.renameClass(opts.class!, opts.to!);
        writeLibrary(opts.library, lib);
        console.log(JSON.stringify({ library: opts.library, renamed: opts.class, to: opts.to }));
      } catch (e) {
        reportError(e);
      }
    });

  library
    .command('reembed')
    .description('re-embed every reference with another model (from the stored spectra)')
    .requiredOption('--library <LIB>', 'library file')
    .option('--model <DIR>', 'model directory', DEFAULT_MODEL)
    .action(async (opts: LibraryOpts) => {
      try {
        const encoder = await openEncoder(opts.model ?? DEFAULT_MODEL);
        const lib = readLibrary(opts.library);
        await lib.reembed(encoder);
        writeLibrary(opts.library, lib);
        console.log(JSON.stringify({ library: opts.library, model: encoder.version, references: lib.referenceCount }));
        encoder.dispose();
      } catch (e) {
        reportError(e);
      }
    });
}
