import { type Command, InvalidArgumentError, Option } from 'commander';
import { FORMAT_NAMES, type FormatName } from '../../core/formats/types.ts';

/** Option parsers shared by the commands: strict, so `--per-class 2O` is an error rather than NaN or 2. */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('must be in (0, 1]');
  return n;
}

/** `--format` and `--strict`, the same on every command that reads spectrum files. */
export interface ReadOptions {
  format: FormatName;
  strict?: boolean;
}

export function withReadOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--format <format>', 'file format: auto (by content, then file name), jcamp, csv, json or rruff (RRUFF text export)')
        .choices([...FORMAT_NAMES])
        .default('auto'),
    )
    .option('--strict', 'refuse files that break the JCAMP-DX standard even where the meaning is clear (default: read them with a warning)');
}

/** The parse options of a command's --format and --strict. */
export function readOptions(opts: Partial<ReadOptions>): { format: FormatName; strict: boolean } {
  return { format: opts.format ?? 'auto', strict: opts.strict === true };
}
