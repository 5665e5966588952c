import type { Command } from 'commander';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Encoder } from '../../core/encoder/types.ts';
import type { InferenceEngine } from '../../core/engine/onnx.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { SpectrumWarning } from '../../core/spectrum.ts';
import { deserializeLibrary, serializeLibrary, ReferenceLibrary, validateClassName } from '../../core/identify/knn/library.ts';
import { readOptions, withReadOptions, type ReadOptions } from './arguments.ts';

/** `library add` exit code when some files were enrolled and others refused (each refusal printed on stderr). */
export const EXIT_PARTIAL = 3;

/**
 * `spectrad library add|list|remove|rename|reembed`: a reference library file (LIB) edited from the command line.
 * Helpers here (reading and writing LIB, turning files into preprocessed spectra) are shared with `spectrad identify`.
 */

/** The bundled benchmark model (a bundled name: resolves wherever spectrad is started from). */
export const DEFAULT_MODEL = 'default';

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
  // A bundled model's name (e.g. raman-532) or a directory; unknown ones fail listing the bundled names.
  const { resolveModelRef } = await import('../../core/encoder/bundled-models.ts');
  dir = resolveModelRef(dir);
  // Only a fallback is worth a line on stderr; the chosen engine is the expected case.
  const { encoder } = await loadInferenceEncoder(dir, { engine, threads, logger: (m) => (/using tfjs/.test(m) ? process.stderr.write(`spectrad: ${m}\n`) : undefined) });
  return encoder;
}

export interface PreparedSpectrum {
  readonly file: string;
  /** 1-based block number when the file holds several spectra. */
  readonly block?: number;
  readonly values: Float32Array;
  /** What the reader tolerated in the file (meta.warnings), for the command's output. */
  readonly warnings?: readonly SpectrumWarning[];
}

/**
 * Parses each file (any supported format, every block) and preprocesses onto the encoder's grid, the daemon's way
 * (pipelines/spectrum-preparation.ts); throws at the first refusal.
 */
export async function prepareFiles(files: readonly string[], encoder: Encoder, read: Partial<ReadOptions> = {}): Promise<PreparedSpectrum[]> {
  const { prepared, refused } = await prepareEachFile(files, encoder, read, true);
  if (refused.length) throw refused[0].error;
  return prepared;
}

export interface RefusedFile {
  readonly file: string;
  readonly error: SpectrumInputError;
}

/**
 * Each file on its own: the files that read and preprocess come back prepared, each refused one with its reason
 * (a file with any unreadable block is refused whole, so a class never gets half a file). stopAtFirst: stop there.
 */
export async function prepareEachFile(
  files: readonly string[],
  encoder: Encoder,
  read: Partial<ReadOptions> = {},
  stopAtFirst = false,
): Promise<{ prepared: PreparedSpectrum[]; refused: RefusedFile[] }> {
  // The daemon's own parse-and-preprocess path (pipelines/spectrum-preparation.ts), with its default chain.
  const { spectrumPreparation } = await import('../../pipelines/spectrum-preparation.ts');
  const { format, strict } = readOptions(read);
  const preparation = spectrumPreparation({ strict, grid: () => encoder.grid });
  const prepared: PreparedSpectrum[] = [];
  const refused: RefusedFile[] = [];
  for (const file of files) {
    try {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        throw new SpectrumInputError('file-unreadable', `cannot read: ${(e as Error).message}`, { file });
      }
      const blocks = preparation.prepareFile(bytes, file, format);
      const rows = blocks.map(({ spectrum, values }, i) => ({
        file,
        block: blocks.length > 1 ? i + 1 : undefined,
        values,
        ...(spectrum.meta.warnings?.length ? { warnings: spectrum.meta.warnings } : {}),
      }));
      prepared.push(...rows);
    } catch (e) {
      if (!(e instanceof SpectrumInputError)) throw e;
      refused.push({ file, error: e });
      if (stopAtFirst) break;
    }
  }
  return { prepared, refused };
}

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

interface LibraryOpts extends Partial<ReadOptions> {
  allOrNothing?: boolean;
  library: string;
  model?: string;
  class?: string;
  to?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const library = program.command('library').description('manage a reference library file: enroll, list, remove, rename classes');

  withReadOptions(
    library
      .command('add')
      .description('enroll a class from labelled spectra (creates LIB when missing); no retraining')
      .requiredOption('--library <LIB>', 'library file')
      .requiredOption('--class <NAME>', 'class name')
      .option('--model <DIR|NAME>', 'model directory or bundled model name (default, raman-532, ir, ...)', DEFAULT_MODEL)
      .argument('<FILE...>', 'spectrum files (JCAMP-DX, CSV/TSV, RRUFF, JSON)'),
  )
    .option('--all-or-nothing', 'enroll nothing when any file is refused (default: enroll the good files, report the others)')
    .addHelpText(
      'after',
      `
Each file is read on its own: the good ones are enrolled, each refused one is reported on stderr with its reason
and listed under "refused" in the JSON line. Exit code: 0 all enrolled, ${EXIT_PARTIAL} some enrolled and some refused
(partial), 1 nothing enrolled.`,
    )
    .action(async (files: string[], opts: LibraryOpts) => {
      try {
        // The library's own rule, before the model is loaded and the files are read.
        validateClassName(opts.class);
        const encoder = await openEncoder(opts.model ?? DEFAULT_MODEL);
        let lib = existsSync(opts.library) ? readLibrary(opts.library) : null;
        if (!lib || lib.classCount === 0) {
          lib = new ReferenceLibrary({ dim: encoder.dim, points: encoder.grid.points, modelVersion: encoder.version });
        } else if (lib.modelVersion !== encoder.version) {
          // Embeddings of two models are not comparable: bring the library to this model first.
          await lib.reembed(encoder);
        }
        const { prepared, refused } = await prepareEachFile(files, encoder, opts, opts.allOrNothing === true);
        for (const r of refused) console.error(`spectrad: refused ${r.file}: ${r.error.code}: ${r.error.message}`);
        if (prepared.length === 0 || (opts.allOrNothing && refused.length > 0)) {
          encoder.dispose();
          if (refused.length === 1 && files.length === 1) throw refused[0].error;
          throw new SpectrumInputError('nothing-enrolled', opts.allOrNothing ? `${refused.length} file(s) refused; --all-or-nothing enrolls none` : 'no file could be enrolled', { field: 'FILE' });
        }
        const count = await lib.enroll(opts.class!, stackRows(prepared.map((p) => p.values), encoder.grid.points), encoder);
        writeLibrary(opts.library, lib);
        console.log(
          JSON.stringify({
            library: opts.library,
            class: opts.class,
            added: prepared.length,
            references: count,
            classes: lib.classCount,
            ...(refused.length ? { refused: refused.map((r) => ({ file: r.file, code: r.error.code, message: r.error.message })) } : {}),
          }),
        );
        if (refused.length) process.exitCode = EXIT_PARTIAL;
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
    .option('--model <DIR|NAME>', 'model directory or bundled model name (default, raman-532, ir, ...)', DEFAULT_MODEL)
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
