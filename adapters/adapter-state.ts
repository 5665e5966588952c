/**
 * The state every adapter reports (starting, up, down, stopped) as a replaying stream, so the health endpoint and
 * the dashboard see the current state on subscription and every change after it; repeated equal states are folded.
 */
import { BehaviorSubject, Observable, Subject } from 'rxjs';
import type { AdapterState } from '../core/messages.ts';

export class AdapterStateTracker {
  private readonly subject: BehaviorSubject<AdapterState>;

  constructor(
    private readonly name: string,
    private readonly kind: AdapterState['kind'],
  ) {
    this.subject = new BehaviorSubject<AdapterState>({ name, kind, state: 'stopped', since: new Date().toISOString() });
  }

  get state$(): Observable<AdapterState> {
    return this.subject.asObservable();
  }

  get current(): AdapterState {
    return this.subject.value;
  }

  set(state: AdapterState['state'], detail?: string): void {
    const prev = this.subject.value;
    if (prev.state === state && prev.detail === detail) return;
    const next: AdapterState = { name: this.name, kind: this.kind, state, since: new Date().toISOString() };
    this.subject.next(detail === undefined ? next : { ...next, detail });
  }

  complete(): void {
    this.subject.complete();
  }
}

/** Exponential backoff between reconnect attempts: initial, initial*factor, ... capped at max. */
interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 250;
    this.maxMs = options.maxMs ?? 10_000;
    this.factor = options.factor ?? 2;
    if (!(this.initialMs > 0 && this.maxMs >= this.initialMs && this.factor >= 1)) {
      throw new RangeError(`bad backoff: initial ${this.initialMs} ms, max ${this.maxMs} ms, factor ${this.factor}`);
    }
  }

  /** Delay before the next attempt; grows with each call until reset(). */
  next(): number {
    const d = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    return d;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * The hot stream of an input adapter. Inputs found before anyone subscribed (files already in the folder at start)
 * are held and delivered to the first subscriber instead of being lost.
 */
export class InputSink<T> {
  private readonly subject = new Subject<T>();
  private held: T[] = [];
  readonly output$: Observable<T> = new Observable<T>((subscriber) => {
    const sub = this.subject.subscribe(subscriber);
    const held = this.held;
    this.held = [];
    for (const item of held) this.subject.next(item);
    return sub;
  });

  emit(item: T): void {
    if (this.subject.observed) this.subject.next(item);
    else this.held.push(item);
  }

  complete(): void {
    this.subject.complete();
  }
}
