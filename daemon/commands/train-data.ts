import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { InputGrid } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { FileFormat } from '../../core/formats/index.ts';
import type { Spectrum } from '../../core/spectrum.ts';
import { fieldValue, headerFields, parseManifestCsv, type CorpusEntry } from '../../core/training/lab-corpus.ts';

/**
 * `spectrad train --data`: finds a lab's labelled spectrum files (one folder per class, a CSV manifest, or files
 * whose class is a header field), parses them with the product's readers and puts them on the training grid with
 * the product's preprocessing, so the model trains on exactly what it will be given when identifying.
 */

export interface CorpusLayout {
  /** Header field(s) naming the class (comma-separated, case-insensitive), e.g. NAMES for RRUFF files. */
  readonly classField?: string;
  /** Header field(s) naming the physical sample, e.g. RRUFFID; without it each file is its own sample. */
  readonly sampleField?: string;
}

export interface LoadedSpectrum {
  readonly entry: CorpusEntry;
  readonly spectrum: Spectrum;
}

export interface LoadedCorpus {
  readonly spectra: LoadedSpectrum[];
  /** Files that could not be used, with why (unreadable, unparsable, no class field). */
  readonly skipped: { file: string; why: string }[];
  /** What --data was: 'folders', 'manifest' or 'class-field'. */
  readonly layout: string;
}

/** Files that are not spectra in a data folder: documentation, manifests, hidden files. */
const NOT_A_SPECTRUM = /^(\.|readme|license|manifest\.)|\.(md|json|yaml|yml|pdf|png|jpe?g)$/i;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.')) out.push(...listFiles(full));
    } else if (entry.isFile() && !NOT_A_SPECTRUM.test(entry.name)) out.push(full);
  }
  return out;
}

function readText(file: string): { bytes: Buffer; text: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new SpectrumInputError('file-unreadable', `cannot read: ${(e as Error).message}`, { file });
  }
  return { bytes, text: bytes.subarray(0, 64 * 1024).toString('latin1') };
}

/**
 * Reads the corpus at `dataPath`: a CSV manifest file (`file,class[,sample]`), a folder with `classField` (every
 * file below it, class from its header), or a folder of class folders. Every spectrum is parsed with
 * parseSpectrumFile (`format`, as `spectrad identify` would); a file that fails is skipped and reported.
 */
export async function loadLabCorpus(dataPath: string, layout: CorpusLayout, format: FileFormat | 'auto'): Promise<LoadedCorpus> {
  const { parseSpectrumFile } = await import('../../core/formats/index.ts');
  let stat;
  try {
    stat = statSync(dataPath);
  } catch {
    throw new SpectrumInputError('data-missing', `no file or folder at ${dataPath}`, { field: 'data', file: dataPath });
  }
  const skipped: LoadedCorpus['skipped'] = [];
  let candidates: { file: string; className?: string; sample?: string }[];
  let kind: string;
  if (stat.isFile()) {
    kind = 'manifest';
    const base = path.dirname(dataPath);
    candidates = parseManifestCsv(readFileSync(dataPath, 'utf8'), dataPath).map((e) => ({
      file: path.resolve(base, e.file),
      className: e.className,
      sample: e.sample === e.file ? undefined : e.sample,
    }));
  } else if (layout.classField) {
    kind = 'class-field';
    candidates = listFiles(dataPath).map((file) => ({ file }));
  } else {
    kind = 'folders';
    const classDirs = readdirSync(dataPath, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.'));
    if (classDirs.length < 2) {
      throw new SpectrumInputError(
        'bad-corpus-layout',
        `${dataPath} holds ${classDirs.length} class folder(s); give one folder per class (at least 2), a CSV manifest file,class[,sample], or --class-field NAME for files that name their class in a header field`,
        { field: 'data', file: dataPath },
      );
    }
    candidates = classDirs.flatMap((d) => listFiles(path.join(dataPath, d.name)).map((file) => ({ file, className: d.name })));
  }

  const spectra: LoadedSpectrum[] = [];
  for (const c of candidates) {
    try {
      const { bytes, text } = readText(c.file);
      const fields = layout.classField || layout.sampleField ? headerFields(text) : new Map<string, string>();
      const className = c.className ?? (layout.classField ? fieldValue(fields, layout.classField) : undefined);
      if (!className) {
        skipped.push({ file: c.file, why: `no header field ${layout.classField} naming its class` });
        continue;
      }
      const sample = c.sample ?? (layout.sampleField ? fieldValue(fields, layout.sampleField) : undefined) ?? path.relative(dataPath, c.file);
      const blocks = parseSpectrumFile(bytes, { fileName: c.file, format });
      const block = blocks.find((b) => b.spectrum);
      if (!block?.spectrum) {
        skipped.push({ file: c.file, why: blocks[0]?.error?.message ?? 'no spectrum in the file' });
        continue;
      }
      spectra.push({ entry: { file: c.file, className, sample: `${className}\u0000${sample}` }, spectrum: block.spectrum });
    } catch (e) {
      if (!(e instanceof SpectrumInputError)) throw e;
      skipped.push({ file: c.file, why: e.message });
    }
  }
  if (spectra.length === 0) {
    throw new SpectrumInputError('empty-corpus', `no usable spectrum under ${dataPath}${skipped.length ? ` (${skipped.length} skipped; first: ${skipped[0].file}: ${skipped[0].why})` : ''}`, { field: 'data' });
  }
  return { spectra, skipped, layout: kind };
}

export interface GridRows {
  /** Row-major [n, grid.points], the product's preprocessing (resampled, zero outside the measured range, max |y| = 1). */
  readonly x: Float32Array;
  readonly n: number;
  readonly kept: LoadedSpectrum[];
  readonly rejected: { file: string; why: string }[];
}

/** Preprocesses spectra onto the grid as identification will; a spectrum the grid cannot take is reported, not fatal. */
export async function toGridRows(spectra: readonly LoadedSpectrum[], grid: InputGrid, minOverlap: number): Promise<GridRows> {
  const { preprocess } = await import('../../core/preprocess/index.ts');
  const rows: Float32Array[] = [];
  const kept: LoadedSpectrum[] = [];
  const rejected: GridRows['rejected'] = [];
  for (const s of spectra) {
    try {
      rows.push(preprocess(s.spectrum, grid, { minOverlap }));
      kept.push(s);
    } catch (e) {
      if (!(e instanceof SpectrumInputError)) throw e;
      rejected.push({ file: s.entry.file, why: e.message });
    }
  }
  const x = new Float32Array(rows.length * grid.points);
  rows.forEach((r, i) => x.set(r, i * grid.points));
  return { x, n: rows.length, kept, rejected };
}
