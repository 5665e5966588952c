import { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { SpectrumInputError } from '../../core/errors.ts';
import { DEFAULT_PARSE_LIMITS, parseSpectrumFile, type FormatName, type ParseLimits, type ParsedBlock } from '../../core/formats/index.ts';
import type { SpectrumWarning } from '../../core/spectrum.ts';
import { positiveInt, readOptions, withReadOptions } from './arguments.ts';

/** One line of `spectrad inspect` output. */
interface InspectLine {
  file: string;
  block?: number;
  points?: number;
  xUnit?: string;
  yUnit?: string;
  xFirst?: number;
  xLast?: number;
  yMin?: number;
  yMax?: number;
  /** What the reader tolerated in a file that bends its format's rules. */
  warnings?: readonly SpectrumWarning[];
  error?: string;
  code?: string;
}

interface InspectOptions {
  format: FormatName;
  strict?: boolean;
  maxBytes: number;
  maxPoints: number;
  maxBlocks: number;
}


export function register(program: Command): void {
  withReadOptions(
    program
      .command('inspect')
      .description('Read spectrum files (JCAMP-DX, CSV/TSV/text, RRUFF, JSON) and print one JSON line per spectrum: points, units, x range, y range, or the error')
      .argument('<files...>', 'files to read; a multi-block file (JCAMP-DX LINK, NTUPLES pages, JSON array) gives one line per block'),
  )
    .option('--max-bytes <n>', 'largest file accepted, in bytes', positiveInt, DEFAULT_PARSE_LIMITS.maxBytes)
    .option('--max-points <n>', 'most data points per file', positiveInt, DEFAULT_PARSE_LIMITS.maxPoints)
    .option('--max-blocks <n>', 'most spectra per file', positiveInt, DEFAULT_PARSE_LIMITS.maxBlocks)
    .addHelpText(
      'after',
      `
Output (one JSON object per line):
  {"file","block"?,"points","xUnit","yUnit","xFirst","xLast","yMin","yMax","warnings"?}
  {"file","block"?,"error","code"}   when a file or block cannot be read
"warnings" lists what was tolerated in a file that bends its format's rules ({"code","message","line"?,"field"?});
--strict refuses such files instead.
"block" (numbered from 1) appears for files holding more than one spectrum. x is always ascending.
Exit code: 0 when every file and block was read, 1 otherwise (after printing all of them).

Examples:
  spectrad inspect sample.jdx
  spectrad inspect --format csv export.txt other.csv
  spectrad inspect inbox/*.jdx | grep error`,
    )
    .action((files: string[], options: InspectOptions) => {
      const limits: ParseLimits = { maxBytes: options.maxBytes, maxPoints: options.maxPoints, maxBlocks: options.maxBlocks };
      let failed = false;
      for (const file of files) {
        for (const line of inspectFile(file, options, limits)) {
          if (line.error) failed = true;
          process.stdout.write(JSON.stringify(line) + '\n');
        }
      }
      if (failed) process.exitCode = 1;
    });
}

function inspectFile(file: string, options: InspectOptions, limits: ParseLimits): InspectLine[] {
  let blocks: ParsedBlock[];
  try {
    // Check the size before reading so a huge file is refused without loading it.
    const size = statSync(file).size;
    if (size > limits.maxBytes) return [{ file, error: `${file}: ${size} bytes; the limit is ${limits.maxBytes} bytes`, code: 'input-too-large' }];
    blocks = parseSpectrumFile(readFileSync(file), { fileName: file, ...readOptions(options), limits });
  } catch (error) {
    if (error instanceof SpectrumInputError) return [{ file, error: error.message, code: error.code }];
    const e = error as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && e.syscall) return [{ file, error: `${file}: ${e.message}`, code: e.code }];
    throw error;
  }
  const multi = blocks.length > 1;
  return blocks.map((b) => {
    const head: InspectLine = multi ? { file, block: b.block } : { file };
    if (b.error || !b.spectrum) return { ...head, error: b.error?.message ?? 'no spectrum', code: b.error?.code };
    const { x, y, xUnit, yUnit } = b.spectrum;
    let yMin = Infinity;
    let yMax = -Infinity;
    for (const v of y) {
      if (v < yMin) yMin = v;
      if (v > yMax) yMax = v;
    }
    const warnings = b.spectrum.meta.warnings;
    return { ...head, points: y.length, xUnit, yUnit, xFirst: x[0], xLast: x[x.length - 1], yMin, yMax, ...(warnings?.length ? { warnings } : {}) };
  });
}
