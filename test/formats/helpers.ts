import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { SpectrumInputError } from '../../core/errors.ts';
import { parseSpectrumFile, type ParseOptions } from '../../core/formats/index.ts';

export const FIXTURES = new URL('../fixtures/formats/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export function expected<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`${name}.expected.json`, FIXTURES), 'utf8')) as T;
}

/** The error a whole-file parse throws; fails the test when it does not throw a SpectrumInputError. */
export function thrown(input: string | Buffer, opts?: ParseOptions): SpectrumInputError {
  try {
    parseSpectrumFile(input, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(SpectrumInputError);
    return error as SpectrumInputError;
  }
  throw new Error('expected parseSpectrumFile to throw');
}

/** The error of the only block, or of the whole file, whichever the parser reports. */
export function rejection(input: string | Buffer, opts?: ParseOptions): SpectrumInputError {
  let blocks;
  try {
    blocks = parseSpectrumFile(input, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(SpectrumInputError);
    return error as SpectrumInputError;
  }
  const failed = blocks.find((b) => b.error);
  if (!failed?.error) throw new Error(`expected a rejection, got ${blocks.length} good block(s)`);
  return failed.error;
}

/** A minimal valid (X++(Y..Y)) block around the given data lines. */
export function xyBlock(dataLines: string[], header: Record<string, string | number> = {}): string {
  const fields: Record<string, string | number> = {
    TITLE: 'test',
    'JCAMP-DX': '5.01',
    XUNITS: '1/CM',
    YUNITS: 'ABSORBANCE',
    XFACTOR: 1,
    YFACTOR: 1,
    FIRSTX: 100,
    LASTX: 109,
    NPOINTS: 10,
    ...header,
  };
  const lines = Object.entries(fields).map(([k, v]) => `##${k}=${v}`);
  return [...lines, '##XYDATA=(X++(Y..Y))', ...dataLines, '##END='].join('\n') + '\n';
}
