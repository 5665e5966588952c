import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSpectra } from '../../core/formats/index.ts';
import { exportFileName, toCsv, toJcamp } from '../../dashboard/src/export.ts';
import { filterFromQuery, filterToQuery, matchesFilter } from '../../dashboard/src/filter.ts';
import { formatAgo, formatRate, formatScore, formatSimilarity, shortSource } from '../../dashboard/src/format.ts';
import { classNameProblem, existingClass } from '../../dashboard/src/labels.ts';
import { errorLine, payloadExcerpt } from '../../dashboard/src/payload.ts';
import { mixtureModel, normalise, onGrid, resampleOnto } from '../../dashboard/src/plot-data.ts';
import { RateMeter } from '../../dashboard/src/rates.ts';
import {
  readClasses, readErrorBody, readHealth, readResultsPage, readRetrainStatus, readSpectrum, ShapeError,
} from '../../dashboard/src/shapes.ts';
import { statusTone } from '../../dashboard/src/status.ts';
import { Store } from '../../dashboard/src/store.ts';
import { makeResult } from './support/spectra.ts';

/** The dashboard's pure parts (API readers, filters, export, plot numbers), in Node. */

describe('API readers', () => {
  it('reads health with adapters as a list or a record and the queue in any of its spellings', () => {
    const a = readHealth({
      status: 'ok', modelVersion: 'm1', adapters: [{ name: 'inbox', kind: 'folder', state: 'up', since: 't' }, { name: 'bad' }],
      queue: { depth: 4, bound: 512 }, instruments: [{ name: 'r1', queueDepth: 2 }],
    });
    expect(a.adapters.map((x) => x.name)).toEqual(['inbox']);
    expect([a.queueDepth, a.queueBound, a.modelVersion]).toEqual([4, 512, 'm1']);
    expect(a.instruments).toEqual([{ name: 'r1', queueDepth: 2, ratePerMin: undefined, lastResultAt: undefined }]);

    const b = readHealth({ ok: true, model: { version: 'm2' }, adapters: { mqtt: { kind: 'mqtt-in', connected: false } }, queues: { ingest: 2, encode: { depth: 5 } } });
    expect(b.status).toBe('ok');
    expect(b.modelVersion).toBe('m2');
    expect(b.adapters).toEqual([{ name: 'mqtt', kind: 'mqtt-in', state: 'down', detail: undefined, since: '' }]);
    expect(b.queueDepth).toBe(7);
    expect(() => readHealth('up')).toThrow(ShapeError);
  });

  it('keeps a result\'s well-formed reader warnings for the answer card and drops malformed ones', () => {
    const r = makeResult({ status: 'identified', cls: 3 });
    const warnings = [{ code: 'jcamp-bare-end', message: 'the block ends with "##END" without "="', line: 40, field: 'END' }, { code: 7 }, 'x'];
    const [read] = readResultsPage([{ ...r, warnings }]).items;
    expect(read.warnings).toEqual([{ code: 'jcamp-bare-end', message: 'the block ends with "##END" without "="' }]);
    expect(readResultsPage([r]).items[0].warnings).toBeUndefined();
  });

  it('reads result pages as {items}, {results} or a bare array and drops entries that are not results', () => {
    const r = makeResult({ status: 'identified', cls: 3 });
    const bad = { id: 'x' };
    expect(readResultsPage({ items: [r, bad], nextCursor: 'c1', total: 9 })).toEqual({ items: [r], nextCursor: 'c1', total: 9 });
    expect(readResultsPage({ results: [r], next: 'c2' }).nextCursor).toBe('c2');
    expect(readResultsPage([r, r]).items).toHaveLength(2);
    expect(readResultsPage({ items: [], nextCursor: null }).nextCursor).toBeUndefined();
    const { latencyMs: _l, modelVersion: _m, ...partial } = r;
    expect(readResultsPage([partial]).items[0]).toMatchObject({ latencyMs: 0, modelVersion: '' });
  });

  it('reads a spectrum, ignoring an x that does not match y and a reference without a class', () => {
    const s = readSpectrum({ id: 's1', raw: { x: [1, 2], y: [3, 4, 5] }, preprocessed: [0, 1], reference: { y: [1] } });
    expect(s.raw?.x).toBeUndefined();
    expect(s.raw?.y).toEqual([3, 4, 5]);
    expect(s.preprocessed).toEqual({ y: [0, 1] });
    expect(s.reference).toBeUndefined();
    expect(() => readSpectrum({ raw: { y: [1] } })).toThrow(/no id/);
    expect(() => readSpectrum(null)).toThrow(ShapeError);
  });

  it('reads classes as names or objects, and retraining status with progress clamped to [0, 1]', () => {
    expect(readClasses(['a', { name: 'b', references: [1, 2] }, { class: 'c' }, 5]).map((c) => [c.name, c.references])).toEqual([['a', undefined], ['b', 2], ['c', undefined]]);
    const st = readRetrainStatus({ state: 'training', progress: 1.7, before: { version: 'v1', accuracy: 0.9, note: 'x' }, versions: [{ version: 'v1', active: true }, { nope: 1 }] });
    expect(st.progress).toBe(1);
    expect(st.before).toEqual({ modelVersion: 'v1', metrics: { accuracy: 0.9 } });
    expect(st.activeVersion).toBe('v1');
    expect(st.versions).toHaveLength(1);
  });

  it('reads error bodies in the daemon shape and falls back to the status text', () => {
    expect(readErrorBody({ error: { code: 'unauthorized', message: 'token needed' } }, 'x')).toEqual({ code: 'unauthorized', message: 'token needed' });
    expect(readErrorBody({ statusCode: 400, error: 'Bad Request', message: 'body/name must be string' }, 'x')).toEqual({ code: 'error', message: 'body/name must be string' });
    expect(readErrorBody(undefined, 'GET /api/x answered 502')).toEqual({ code: 'error', message: 'GET /api/x answered 502' });
  });
});

describe('result filter', () => {
  const t0 = Date.parse('2026-01-01T10:00:00Z');
  const results = [
    makeResult({ status: 'identified', cls: 1, instrument: 'a', at: new Date(t0) }),
    makeResult({ status: 'mixture', components: [{ cls: 2, fraction: 0.6, score: 0.9 }, { cls: 5, fraction: 0.4, score: 0.8 }], instrument: 'b', at: new Date(t0 + 60_000) }),
    makeResult({ status: 'rejected', instrument: 'a', at: new Date(t0 + 120_000), error: { code: 'bad-number', message: 'Line 3 is not a number' }, source: '/in/broken.csv' }),
  ];
  const ids = (f: Parameters<typeof matchesFilter>[1]): number[] => results.flatMap((r, i) => (matchesFilter(r, f) ? [i] : []));

  it('matches by instrument, status, class (including mixture components, any case), time and text', () => {
    expect(ids({})).toEqual([0, 1, 2]);
    expect(ids({ instrument: 'a' })).toEqual([0, 2]);
    expect(ids({ statuses: ['mixture', 'rejected'] })).toEqual([1, 2]);
    expect(ids({ class: 'CLASS-5' })).toEqual([1]);
    expect(ids({ class: 'class-1' })).toEqual([0]);
    expect(ids({ from: new Date(t0 + 30_000).toISOString() })).toEqual([1, 2]);
    expect(ids({ to: new Date(t0 + 60_000).toISOString() })).toEqual([0, 1]);
    expect(ids({ text: 'not a NUMBER' })).toEqual([2]);
    expect(ids({ text: 'broken' })).toEqual([2]);
  });

  it('survives the trip through the URL query unchanged', () => {
    const status = fc.constantFrom('identified', 'low-confidence', 'unknown', 'mixture', 'rejected' as const);
    const text = fc.string({ minLength: 1 }).filter((s) => s.trim() === s && s.length > 0);
    fc.assert(fc.property(
      fc.record({ instrument: text, class: text, statuses: fc.uniqueArray(status, { minLength: 1 }), from: fc.constant('2026-01-01T00:00:00.000Z'), text }, { requiredKeys: [] }),
      (f) => {
        const back = filterFromQuery(filterToQuery(f));
        expect(back).toEqual({ instrument: f.instrument, class: f.class, statuses: f.statuses, from: f.from, to: undefined, text: f.text });
      }));
    expect(filterToQuery({ statuses: ['unknown'] }, { limit: 50, cursor: 'abc' })).toBe('status=unknown&limit=50&cursor=abc');
  });
});

describe('export', () => {
  const y = [0.5, 1e-9, -3.25, 123456.789, 0.1 + 0.2];
  const x = [400, 400.5, 401, 401.5, 402];

  it('writes JCAMP-DX that the project reader reads back to the same numbers, axis unit and title', () => {
    const r = makeResult({ status: 'identified', cls: 4, score: 0.93 });
    const text = toJcamp({ id: r.id, curve: { x, y, xUnit: 'cm-1', yUnit: 'absorbance' }, title: 'sample 7\n##END=', result: r });
    const [s] = parseSpectra(text, { fileName: 'export.jdx' });
    expect(Array.from(s.x)).toEqual(x);
    expect(Array.from(s.y)).toEqual(y);
    expect(s.xUnit).toBe('cm-1');
    expect(s.yUnit).toBe('absorbance');
    expect(s.meta.title).toBe('sample 7 ##END=');
    expect(text).toContain('##$SPECTRAD CLASS=class-4');
    expect(text.match(/^##END=$/gm)).toHaveLength(1);
  });

  it('writes CSV that the project reader reads back, with the point index when there is no x axis', () => {
    const [s] = parseSpectra(toCsv({ id: 'a', curve: { y } }), { fileName: 'a.csv' });
    expect(Array.from(s.x)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(s.y)).toEqual(y);
    expect(() => toCsv({ id: 'a', curve: { y: [] } })).toThrow(/no points/);
    expect(() => toJcamp({ id: 'a', curve: { x: [1], y: [1, 2] } })).toThrow(/x has 1 points/);
  });

  it('names files after the source, safe on any file system', () => {
    expect(exportFileName({ id: 'x', curve: { y }, title: 'run 5/ä.jdx' }, 'csv')).toBe('run_5.csv');
    expect(exportFileName({ id: '01ABC', curve: { y } }, 'jdx')).toBe('01ABC.jdx');
    expect(exportFileName({ id: 'x', curve: { y }, title: '///' }, 'jdx')).toBe('spectrum.jdx');
  });
});

describe('plot numbers', () => {
  it('interpolates linearly inside the source range and leaves gaps outside it', () => {
    expect(resampleOnto([0, 10, 20], [0, 10, 40], [-1, 0, 5, 10, 15, 20, 21])).toEqual([null, 0, 5, 10, 25, 40, null]);
    expect(onGrid({ y: [1, 2, 3] }, [0, 1, 2])).toEqual([1, 2, 3]);
    expect(normalise([2, -4, null])).toEqual([0.5, -1, null]);
  });

  it('sums fraction-weighted component references into the mixture model, scaled to max 1', () => {
    const refs = new Map([['a', { y: [0, 2, 0, 0] }], ['b', { y: [0, 0, 0, 5] }]]);
    const m = mixtureModel([{ class: 'a', fraction: 0.75, score: 1 }, { class: 'b', fraction: 0.25, score: 1 }, { class: 'gone', fraction: 0.1, score: 1 }], refs, [0, 1, 2, 3]);
    expect(m.sum).toEqual([0, 1, 0, 0.25 / 0.75]);
    expect(m.parts.map((p) => p.class)).toEqual(['a', 'b']);
    expect(m.parts[1].y[3]).toBeCloseTo(1 / 3, 12);
  });
});

describe('rejected file excerpt', () => {
  it('finds the line an error names and shows a window around it, marked', () => {
    expect(errorLine('a.jdx, block 1, line 14: "x" is not a number')).toBe(14);
    expect(errorLine('file ends inside ##XYDATA')).toBeUndefined();
    const text = Array.from({ length: 100 }, (_, i) => `row ${i + 1}`).join('\r\n') + '\r\n';
    const ex = payloadExcerpt(text, 60, 10);
    expect(ex.totalLines).toBe(100);
    expect(ex.lines.map((l) => l.n)).toEqual([55, 56, 57, 58, 59, 60, 61, 62, 63, 64]);
    expect(ex.lines.filter((l) => l.bad).map((l) => l.text)).toEqual(['row 60']);
    expect([ex.before, ex.after]).toEqual([54, 36]);
    expect(payloadExcerpt(text, 99, 10).lines.at(-1)?.n).toBe(100);
    expect(payloadExcerpt(text, undefined, 10).lines[0].n).toBe(1);
    expect(payloadExcerpt('x'.repeat(1000)).lines[0].text).toHaveLength(301);
  });
});

describe('small rules', () => {
  it('counts spectra per minute over a sliding window', () => {
    const meter = new RateMeter(60_000);
    for (let i = 0; i < 30; i++) meter.record('r1', i * 1000);
    meter.record('r1', 500); // late arrival
    expect(meter.perMinute('r1', 30_000)).toBe(31);
    expect(meter.perMinute('r1', 75_000)).toBe(15);
    expect(meter.perMinute('nobody', 0)).toBe(0);
  });

  it('checks class names and finds an existing class whatever the case', () => {
    expect(classNameProblem('  ')).toMatch(/Type/);
    expect(classNameProblem('.x')).toMatch(/dot/);
    expect(classNameProblem('a\u0007b')).toMatch(/control/);
    expect(classNameProblem('x'.repeat(101))).toMatch(/at most/);
    expect(classNameProblem(' Caffeine anhydrous ')).toBeUndefined();
    expect(existingClass(' nacl ', ['KCl', 'NaCl'])).toBe('NaCl');
    expect(existingClass('nacl2', ['NaCl'])).toBeUndefined();
  });

  it('formats scores, rates, ages and sources as operators read them', () => {
    expect([formatScore(0.97), formatScore(0.999), formatScore(0.08), formatScore(Number.NaN)]).toEqual(['97.0%', '99.9%', '8.0%', '—']);
    // One decimal everywhere; a score that is not exactly 0 or 1 never reads as such.
    expect([formatScore(0.0001), formatScore(0), formatScore(0.99996), formatScore(1)]).toEqual(['<0.1%', '0.0%', '>99.9%', '100.0%']);
    expect([formatSimilarity(0.97234), formatSimilarity(undefined)]).toEqual(['0.972', '—']);
    expect([formatRate(3), formatRate(45), formatRate(600)]).toEqual(['3.0/min', '45/min', '10.0/s']);
    expect(formatAgo(new Date(100_000).toISOString(), 190_000)).toBe('2 min ago');
    expect(shortSource('/lab/inbox/run 5.jdx')).toBe('run 5.jdx');
    expect(shortSource('spectrad/raman-1/spectrum')).toBe('spectrum');
    expect([statusTone('identified'), statusTone('low-confidence'), statusTone('unknown'), statusTone('rejected'), statusTone('mixture'), statusTone('?')])
      .toEqual(['ok', 'warn', 'bad', 'bad', 'mix', 'idle']);
  });

  it('keeps results de-duplicated, newest first and bounded', () => {
    const store = new Store();
    const t = Date.parse('2026-01-01T00:00:00Z');
    const batch = Array.from({ length: 1200 }, (_, i) => makeResult({ status: 'identified', cls: 1, at: new Date(t + i * 1000) }));
    expect(store.addResults(batch.slice(0, 600))).toHaveLength(600);
    expect(store.addResults(batch.slice(500))).toHaveLength(600);
    expect(store.results).toHaveLength(1000);
    expect(store.results[0].id).toBe(batch[1199].id);
    expect(store.results.at(-1)?.id).toBe(batch[200].id);
    expect(store.addResults([batch[1199]])).toEqual([]);
  });
});

describe('enrollment requests', () => {
  it('send the Idempotency-Key of the request, and none without one', async () => {
    const { createApi, newIdempotencyKey } = await import('../../dashboard/src/api.ts');
    const seen: Array<Record<string, string>> = [];
    const api = createApi('', async (_input, init) => {
      seen.push({ ...(init?.headers as Record<string, string>) });
      return new Response(JSON.stringify({ class: 'x', created: true, added: 1, enrollmentId: 'e1' }), { status: 201, headers: { 'content-type': 'application/json' } });
    });
    const key = newIdempotencyKey();
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(newIdempotencyKey()).not.toBe(key);
    await api.enroll({ name: 'x', spectrumIds: ['a'], idempotencyKey: key }, 'tok');
    await api.enroll({ name: 'x', spectrumIds: ['a'] }, 'tok');
    expect(seen[0]['idempotency-key']).toBe(key);
    expect(seen[0].authorization).toBe('Bearer tok');
    expect(seen[1]['idempotency-key']).toBeUndefined();
  });
});
