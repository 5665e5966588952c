import type { SpectrumInputError } from '../../errors.ts';
import type { SpectrumWarning } from '../../spectrum.ts';
import { inputError } from '../fail.ts';
import { splitLines } from '../numbers.ts';

/**
 * JCAMP-DX files are sequences of labelled data records (LDRs): `##LABEL= value`, continued on following lines
 * until the next `##`. `$$` starts a comment to the end of the line. Blocks open with ##TITLE= and close with
 * ##END=; a LINK block (##BLOCKS=, ##DATA TYPE= LINK) holds nested blocks. This module turns text into that tree,
 * keeping every record's line number so later errors can name it.
 */
export interface DataLine {
  readonly text: string;
  readonly line: number;
}

export interface Ldr {
  /** Label compared the way the standard says: upper case, without spaces, '-', '/', '_'. */
  readonly label: string;
  /** Label as written (trimmed, upper case, single spaces), used as the key in meta.extra. */
  readonly rawLabel: string;
  /** Text after '=' on the label's own line, comment removed, trimmed. */
  readonly value: string;
  readonly line: number;
  /** Continuation lines (data tables, long text), comments removed; blank ones dropped. */
  readonly more: DataLine[];
}

export interface JcampBlock {
  readonly ldrs: Ldr[];
  readonly children: JcampBlock[];
  readonly startLine: number;
  endLine?: number;
  /** First structural problem found while tokenizing (missing ##END=, a label without '='). */
  error?: SpectrumInputError;
  /** Tolerant reading: the file ends inside this block (no ##END=); it is read only if its table proves complete. */
  truncated?: SpectrumInputError;
  /** Tolerant reading: structural slips whose meaning is clear (a bare ##END, a missing ##END= before ##TITLE=). */
  readonly warnings: SpectrumWarning[];
}

export function normalizeLabel(label: string): string {
  return label.toUpperCase().replace(/[\s\-/_]/g, '');
}

const DATA_LABELS = new Set(['XYDATA', 'XYPOINTS', 'PEAKTABLE', 'NTUPLES']);

/** A LINK block says so (##DATA TYPE= LINK) or states ##BLOCKS= without data of its own (some single-block files state ##BLOCKS=1 too). */
export function isLink(block: JcampBlock): boolean {
  if (block.ldrs.some((l) => l.label === 'DATATYPE' && /^LINK/i.test(l.value))) return true;
  return block.ldrs.some((l) => l.label === 'BLOCKS') && !block.ldrs.some((l) => DATA_LABELS.has(l.label));
}

/** Full text of a record: its first line and its continuation lines. */
export function ldrText(ldr: Ldr): string {
  return [ldr.value, ...ldr.more.map((m) => m.text.trim())].filter((s) => s !== '').join('\n');
}

function stripComment(line: string): string {
  const at = line.indexOf('$$');
  return at < 0 ? line : line.slice(0, at);
}

/**
 * With tolerant set (the default of the readers), three slips real writers make are read with a warning instead
 * of refused: `##END` without '=', a block that ends where the next ##TITLE= begins, and a file whose last block
 * has no ##END= (marked `truncated`: the reader keeps it only when its table holds every declared point).
 */
export function tokenizeJcamp(text: string, file?: string, tolerant = false): JcampBlock[] {
  const lines = splitLines(text);
  const roots: JcampBlock[] = [];
  const stack: JcampBlock[] = [];
  let current: Ldr | undefined;
  let seenBlock = false;

  const open = (lineNo: number): JcampBlock => {
    const block: JcampBlock = { ldrs: [], children: [], startLine: lineNo, warnings: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(block);
    else roots.push(block);
    stack.push(block);
    seenBlock = true;
    return block;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    let trimmed = raw.trimStart();
    if (!trimmed.startsWith('##')) {
      const content = stripComment(raw);
      if (current && content.trim() !== '') current.more.push({ text: content, line: lineNo });
      continue;
    }
    let eq = trimmed.indexOf('=');
    if (eq < 0 && tolerant && normalizeLabel(stripComment(trimmed.slice(2)).trim()) === 'END' && stack.length > 0) {
      // `##END` without '=' (several NMR and chromatography writers): the block end is meant, nothing else.
      stack[stack.length - 1].warnings.push({ code: 'jcamp-bare-end', message: 'the block ends with "##END" without "="', line: lineNo, field: 'END' });
      trimmed = `${stripComment(trimmed).trimEnd()}=`;
      eq = trimmed.length - 1;
    }
    if (eq < 0 && tolerant && /^##\s*\$/.test(trimmed) && stack.length > 0) {
      // A vendor's private label (##$...) written without "=" (JEOL Delta): it holds nothing a spectrum needs.
      stack[stack.length - 1].warnings.push({ code: 'jcamp-private-label', message: `the private label "${trimmed.slice(0, 40).trim()}" has no "=" and is ignored`, line: lineNo });
      current = undefined;
      continue;
    }
    if (eq < 0) {
      // '##' alone or '##$$ comment' lines occur in the wild; a real label without '=' is an error.
      if (stripComment(trimmed.slice(2)).trim() === '') continue;
      const top = stack[stack.length - 1];
      const error = inputError('jcamp-bad-label', `a "##" label line without "=": "${trimmed.slice(0, 40)}"`, {
        file,
        line: lineNo,
      });
      if (!top) throw error;
      top.error ??= error;
      current = undefined;
      continue;
    }
    const rawLabel = trimmed.slice(2, eq).trim().toUpperCase().replace(/\s+/g, ' ');
    const label = normalizeLabel(rawLabel);
    const ldr: Ldr = { label, rawLabel, value: stripComment(trimmed.slice(eq + 1)).trim(), line: lineNo, more: [] };
    current = ldr;

    if (label === 'TITLE') {
      let top = stack[stack.length - 1];
      if (top && top.ldrs.some((l) => l.label === 'TITLE') && !isLink(top) && tolerant) {
        // MestReNova and others start the next block without closing this one: the new ##TITLE= closes it.
        top.warnings.push({ code: 'jcamp-missing-end', message: `no ##END= before the next ##TITLE= at line ${lineNo}`, line: lineNo, field: 'END' });
        top.endLine = lineNo - 1;
        stack.pop();
        top = stack[stack.length - 1];
      } else if (top && top.ldrs.some((l) => l.label === 'TITLE') && !isLink(top)) {
        top.error ??= inputError('jcamp-missing-end', `the block that starts at line ${top.startLine} has no ##END= before the next ##TITLE=`, {
          file,
          line: lineNo,
          field: 'END',
        });
        stack.pop();
        top = stack[stack.length - 1];
      }
      const block = top && !top.ldrs.some((l) => l.label === 'TITLE') ? top : open(lineNo);
      block.ldrs.push(ldr);
      continue;
    }
    if (label === 'END') {
      const top = stack.pop();
      if (top) {
        top.endLine = lineNo;
        top.ldrs.push(ldr);
      }
      current = undefined;
      continue;
    }
    let top = stack[stack.length - 1];
    if (!top) {
      // Records before the first ##TITLE= still belong to it; stray records after the last ##END= are ignored.
      if (seenBlock) {
        current = undefined;
        continue;
      }
      top = open(lineNo);
    }
    top.ldrs.push(ldr);
  }

  const lastLine = lines.length;
  while (stack.length) {
    const block = stack.pop() as JcampBlock;
    const missing = inputError('jcamp-missing-end', `the file ends (line ${lastLine}) inside the block that starts at line ${block.startLine}: no ##END=, the file looks truncated`, {
      file,
      line: lastLine,
      field: 'END',
    });
    // Tolerant: the reader decides from the table (complete: a warning; short or undeclared: this error).
    // A file cut inside its last line cannot prove that line complete, so only a clean line end qualifies.
    if (tolerant && /[\r\n]\s*$/.test(text.slice(-256)) && !block.error) block.truncated = missing;
    else block.error ??= missing;
  }
  if (roots.length === 0) {
    throw inputError('jcamp-no-block', 'no JCAMP-DX block found: the text has no "##TITLE=" record', { file });
  }
  return roots;
}
