/**
 * Cutting a serial byte stream into spectrum frames. Instruments talk in one of three ways: one spectrum per line of
 * separated values, a payload between start/end markers (e.g. STX/ETX), or a whole JCAMP-DX block (##TITLE= ...
 * ##END=, nested for compound files). The framer is a small state machine fed arbitrary chunks (serial reads split
 * anywhere); a frame larger than maxFrameBytes is dropped and reported, never buffered without bound.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type SerialFraming =
  | {
      readonly kind: 'line';
      /** Line terminator; default '\n' (a trailing '\r' is stripped, so CRLF works too). */
      readonly delimiter?: string;
    }
  | {
      readonly kind: 'markers';
      /** Start and end marker, e.g. '\u0002' and '\u0003' (STX/ETX) or '<spectrum>' and '</spectrum>'. */
      readonly start: string;
      readonly end: string;
    }
  | { readonly kind: 'jcamp' };

export type FrameEvent =
  | { readonly kind: 'frame'; readonly frame: Buffer }
  /**
   * Bytes thrown away: 'oversize' (a frame grew past maxFrameBytes) or 'truncated' (a new start arrived before the
   * previous frame ended, e.g. the instrument restarted mid-transfer).
   */
  | { readonly kind: 'dropped'; readonly reason: 'oversize' | 'truncated'; readonly bytes: number };

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface Framer {
  /** Feeds a chunk; returns the frames and drops it completed. */
  push(chunk: Buffer): FrameEvent[];
  /** Bytes held for an incomplete frame. */
  readonly pending: number;
}

export function createFramer(framing: SerialFraming, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Framer {
  if (!(maxFrameBytes > 0)) throw new RangeError(`maxFrameBytes must be positive, got ${maxFrameBytes}`);
  switch (framing.kind) {
    case 'line':
      return new LineFramer(framing.delimiter ?? '\n', maxFrameBytes);
    case 'markers':
      return new MarkerFramer(framing.start, framing.end, maxFrameBytes);
    case 'jcamp':
      return new JcampFramer(maxFrameBytes);
  }
}

/** Frames a whole byte sequence at once (tests, replaying captured logs). */
export function frameAll(framing: SerialFraming, data: Buffer, maxFrameBytes?: number): FrameEvent[] {
  return createFramer(framing, maxFrameBytes).push(data);
}

/** What every framer keeps: the bytes of a frame not yet complete, grown chunk by chunk. */
abstract class BufferingFramer implements Framer {
  protected buf: Buffer = Buffer.alloc(0);

  get pending(): number {
    return this.buf.length;
  }

  abstract push(chunk: Buffer): FrameEvent[];

  protected append(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }
}

class LineFramer extends BufferingFramer {
  /** Inside a line already reported as oversize: drop bytes up to its delimiter. */
  private discarding = false;
  private readonly delim: Buffer;

  constructor(delimiter: string, private readonly max: number) {
    super();
    if (!delimiter) throw new RangeError('line delimiter must not be empty');
    this.delim = Buffer.from(delimiter, 'latin1');
  }

  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.append(chunk);
    for (;;) {
      const idx = this.buf.indexOf(this.delim);
      if (idx < 0) {
        if (this.buf.length > this.max + 1) {
          if (!this.discarding) out.push({ kind: 'dropped', reason: 'oversize', bytes: this.buf.length });
          this.discarding = true;
          this.buf = Buffer.alloc(0);
        }
        return out;
      }
      let line = this.buf.subarray(0, idx);
      this.buf = this.buf.subarray(idx + this.delim.length);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      if (isBlank(line)) continue;
      if (line.length > this.max) out.push({ kind: 'dropped', reason: 'oversize', bytes: line.length });
      else out.push({ kind: 'frame', frame: Buffer.from(line) });
    }
  }
}

class MarkerFramer extends BufferingFramer {
  private inside = false;
  /**
   * An oversize frame was dropped before its end arrived: skip to that end marker, so the end is not taken for the
   * next start (with equal markers the framer would otherwise stay out of phase, emitting the gaps between frames).
   */
  private discarding = false;
  private readonly start: Buffer;
  private readonly end: Buffer;

  constructor(start: string, end: string, private readonly max: number) {
    super();
    if (!start || !end) throw new RangeError('start and end markers must not be empty');
    this.start = Buffer.from(start, 'latin1');
    this.end = Buffer.from(end, 'latin1');
  }

  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.append(chunk);
    for (;;) {
      if (this.discarding) {
        const e = this.buf.indexOf(this.end);
        const s = this.start.equals(this.end) ? -1 : this.buf.indexOf(this.start);
        if (s >= 0 && (e < 0 || s < e)) {
          // A new frame began before the dropped one ended: as 'truncated' would, start over there.
          this.discarding = false;
          this.buf = this.buf.subarray(s + this.start.length);
          this.inside = true;
          continue;
        }
        if (e < 0) {
          this.buf = this.buf.subarray(Math.max(0, this.buf.length - (Math.max(this.start.length, this.end.length) - 1)));
          return out;
        }
        this.buf = this.buf.subarray(e + this.end.length);
        this.discarding = false;
        continue;
      }
      if (!this.inside) {
        const s = this.buf.indexOf(this.start);
        if (s < 0) {
          // Keep only what could be the beginning of a marker split across reads; the rest is line noise.
          this.buf = this.buf.subarray(Math.max(0, this.buf.length - (this.start.length - 1)));
          return out;
        }
        this.buf = this.buf.subarray(s + this.start.length);
        this.inside = true;
      }
      const e = this.buf.indexOf(this.end);
      const restart = this.buf.indexOf(this.start);
      if (restart >= 0 && (e < 0 || restart < e) && !this.start.equals(this.end)) {
        out.push({ kind: 'dropped', reason: 'truncated', bytes: restart });
        this.buf = this.buf.subarray(restart + this.start.length);
        continue;
      }
      if (e < 0) {
        if (this.buf.length > this.max + this.end.length) {
          out.push({ kind: 'dropped', reason: 'oversize', bytes: this.buf.length });
          // Keep a possibly split end marker; the rest of the frame is skipped up to its end.
          this.buf = this.buf.subarray(this.buf.length - (this.end.length - 1));
          this.inside = false;
          this.discarding = true;
          continue;
        }
        return out;
      }
      const frame = this.buf.subarray(0, e);
      this.buf = this.buf.subarray(e + this.end.length);
      this.inside = false;
      if (frame.length > this.max) out.push({ kind: 'dropped', reason: 'oversize', bytes: frame.length });
      else out.push({ kind: 'frame', frame: Buffer.from(frame) });
    }
  }
}

/** A JCAMP-DX label, normalized as the standard says: case, spaces, dashes, slashes and underscores do not count. */
export function jcampLabel(line: string): string | undefined {
  const m = /^\s*##([^=]*)=/.exec(line);
  return m ? m[1].replace(/[\s\-/_]/g, '').toUpperCase() : undefined;
}

class JcampFramer extends BufferingFramer {
  /** Open ##TITLE= blocks; compound files nest blocks inside a LINK block. */
  private depth = 0;
  private parts: Buffer[] = [];
  private size = 0;
  /** The current block grew too big: keep counting its nesting but throw its lines away. */
  private discarding = false;
  /**
   * An endless line was taken (as far as it had come) and dropped: skip the rest of it, so its middle is not read as
   * the start of a line (a "##TITLE=" inside noise would otherwise open a block, depending on how reads were split).
   */
  private midLine = false;

  constructor(private readonly max: number) {
    super();
  }

  override get pending(): number {
    return this.buf.length + this.size;
  }

  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.append(chunk);
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (this.midLine) {
        this.buf = nl < 0 ? Buffer.alloc(0) : this.buf.subarray(nl + 1);
        if (nl < 0) return out;
        this.midLine = false;
        continue;
      }
      if (nl < 0) {
        // An endless line: its start counts as the line (its label, its size: inside a block it makes the block
        // oversize; between blocks it is noise); the rest of it is skipped.
        if (this.size + this.buf.length > this.max) {
          const partial = this.buf;
          this.buf = Buffer.alloc(0);
          this.midLine = true;
          this.takeLine(partial, out);
        }
        return out;
      }
      const line = this.buf.subarray(0, nl + 1);
      this.buf = this.buf.subarray(nl + 1);
      this.takeLine(line, out);
    }
  }

  private takeLine(line: Buffer, out: FrameEvent[]): void {
    const label = jcampLabel(line.toString('latin1'));
    if (this.depth === 0) {
      if (label !== 'TITLE') return; // noise between blocks
      this.depth = 1;
      this.discarding = false;
      this.parts = [];
      this.size = 0;
    } else if (label === 'TITLE') {
      this.depth++;
    } else if (label === 'END') {
      this.depth--;
    }
    if (!this.discarding) {
      this.parts.push(Buffer.from(line));
      this.size += line.length;
      if (this.size > this.max) {
        out.push({ kind: 'dropped', reason: 'oversize', bytes: this.size });
        this.startDiscarding();
      }
    }
    if (this.depth === 0 && !this.discarding) {
      out.push({ kind: 'frame', frame: Buffer.concat(this.parts) });
      this.parts = [];
      this.size = 0;
    }
  }

  private startDiscarding(): void {
    this.discarding = true;
    this.parts = [];
    this.size = 0;
  }
}

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

/** The framer as a stream: bytes in, FrameEvent objects out. */
export class FramingTransform extends Transform {
  private readonly framer: Framer;

  constructor(framing: SerialFraming, maxFrameBytes?: number) {
    super({ readableObjectMode: true });
    this.framer = createFramer(framing, maxFrameBytes);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    for (const ev of this.framer.push(chunk)) this.push(ev);
    done();
  }
}
