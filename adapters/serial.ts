/**
 * Serial input (serialport): opens a port with the configured line settings, cuts the byte stream into frames
 * (serial-framing.ts) and emits each frame as a raw spectrum. When the port disappears (USB adapter unplugged,
 * instrument powered off) it reopens with exponential backoff until stop(). A serial line has nothing to
 * acknowledge: ack() and reject() only settle the input.
 */
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { Observable } from 'rxjs';
import type { z } from 'zod';
import type { serialInputSchema } from '../config/schema.ts';
import type { AdapterState } from '../core/messages.ts';
import { AdapterStateTracker, Backoff, InputSink } from './adapter-state.ts';
import { DEFAULT_MAX_FRAME_BYTES, FramingTransform, type FrameEvent, type SerialFraming } from './serial-framing.ts';
import type { InputAdapter, RawInput } from './types.ts';

/**
 * The serial input's options: the config's keys (config/schema.ts `serialInputSchema`: device path, line settings,
 * framing with its markers, reconnect delays), as the YAML names them, plus what only code passes. Absent keys fall
 * back to the adapter's own defaults (9600 8N1, line framing, reconnect 250 ms doubling to 10 s).
 */
export interface SerialInputOptions extends Readonly<Omit<z.input<typeof serialInputSchema>, 'type' | 'name' | 'format'>> {
  readonly name: string;
  /** Hardware flow control (RTS/CTS). */
  readonly rtscts?: boolean;
  readonly maxFrameBytes?: number;
  /** Tells the parser what a frame holds; default by framing: line 'serial.csv', jcamp 'serial.jdx', markers 'serial.txt'. */
  readonly formatHint?: string;
  /**
   * How often to check that the device node still exists, in ms (default 1000). The kernel's hangup on an unplugged
   * device does not always reach the poller (seen with a pty whose master side went away); a vanished node does.
   */
  readonly presenceCheckMs?: number;
  /** Told about frames thrown away (oversize, truncated). */
  readonly onDropped?: (event: Extract<FrameEvent, { kind: 'dropped' }>) => void;
}

/** The configured framing as the framer takes it; markers need both of theirs. */
function framingOf(o: SerialInputOptions): SerialFraming {
  switch (o.framing ?? 'line') {
    case 'markers':
      if (!o.startMarker || !o.endMarker) throw new RangeError(`serial input ${o.name}: framing "markers" needs startMarker and endMarker`);
      return { kind: 'markers', start: o.startMarker, end: o.endMarker };
    case 'jcamp':
      return { kind: 'jcamp' };
    case 'line':
      return { kind: 'line' };
  }
}

const DEFAULT_HINT: Record<SerialFraming['kind'], string> = { line: 'serial.csv', jcamp: 'serial.jdx', markers: 'serial.txt' };

export class SerialInput implements InputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly sink = new InputSink<RawInput>();
  private readonly backoff: Backoff;
  private readonly framing: SerialFraming;
  private port: SerialPort | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private frames = 0;
  private dropped = 0;

  constructor(private readonly options: SerialInputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'serial');
    this.backoff = new Backoff({ initialMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs });
    this.framing = framingOf(options);
    const baud = options.baudRate ?? 9600;
    if (!Number.isInteger(baud) || baud <= 0) throw new RangeError(`serial input ${options.name}: bad baud rate ${baud}`);
  }

  get inputs$(): Observable<RawInput> {
    return this.sink.output$;
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  /** Frames emitted and frames dropped since start, for health and tests. */
  get counts(): { frames: number; dropped: number } {
    return { frames: this.frames, dropped: this.dropped };
  }

  /** Tries to open once; when the port is not there yet, keeps retrying in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.state.set('starting');
    await this.open();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.retryTimer);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
    this.state.set('stopped');
    this.sink.complete();
  }

  private async open(): Promise<void> {
    const o = this.options;
    const port = new SerialPort({
      path: o.path,
      baudRate: o.baudRate ?? 9600,
      dataBits: o.dataBits ?? 8,
      parity: o.parity ?? 'none',
      stopBits: o.stopBits ?? 1,
      rtscts: o.rtscts ?? false,
      autoOpen: false,
    });
    const err = await new Promise<Error | null>((r) => port.open((e) => r(e ?? null)));
    if (!this.running) {
      if (port.isOpen) port.close();
      return;
    }
    if (err) {
      this.scheduleReopen(`cannot open ${o.path}: ${err.message}`);
      return;
    }
    this.port = port;
    this.backoff.reset();
    const framer = new FramingTransform(this.framing, o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    port.pipe(framer);
    framer.on('data', (ev: FrameEvent) => this.onFrame(ev));
    let gone = false;
    const lost = (reason: string) => {
      if (gone) return;
      gone = true;
      clearInterval(presence);
      port.unpipe(framer);
      framer.destroy();
      if (this.port === port) this.port = undefined;
      if (this.running) this.scheduleReopen(reason);
    };
    const presence = setInterval(() => {
      if (existsSync(o.path)) return;
      // close() fails on a descriptor the kernel already hung up; either way the port is gone.
      if (port.isOpen) port.close(() => lost(`${o.path} disappeared`));
      else lost(`${o.path} disappeared`);
    }, o.presenceCheckMs ?? 1000);
    presence.unref();
    port.on('error', () => {
      // 'close' follows and schedules the reopen; the error itself needs no handling beyond not crashing.
    });
    port.once('close', () => lost(`${o.path} closed or disappeared`));
    this.state.set('up');
  }

  private scheduleReopen(reason: string): void {
    const delay = this.backoff.next();
    this.state.set('down', `${reason}; retrying in ${delay} ms`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  private onFrame(ev: FrameEvent): void {
    if (ev.kind === 'dropped') {
      this.dropped++;
      this.options.onDropped?.(ev);
      return;
    }
    this.frames++;
    const settle = () => Promise.resolve();
    this.sink.emit({
      adapter: this.name,
      source: this.options.path,
      ...(this.options.instrument ? { instrument: this.options.instrument } : {}),
      receivedAt: new Date().toISOString(),
      formatHint: this.options.formatHint ?? DEFAULT_HINT[this.framing.kind],
      payload: ev.frame,
      ack: settle,
      reject: settle,
    });
  }
}
