import { existsSync, readdirSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderInput } from '../../adapters/folder.ts';
import { MqttInput } from '../../adapters/mqtt-input.ts';
import type { InputAdapter } from '../../adapters/types.ts';
import type { Identification } from '../../core/identify/types.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { PipelineDomain } from '../../pipelines/domain.ts';
import { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import { makeTempDir, startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../../support/servers.ts';

/**
 * Backpressure with real inputs and the real store: a slowed identify stage (40 ms per batch of at most 4) behind a
 * queue bound of 8 cannot keep up with a burst, so the pipeline pauses the inputs. Files must stay in the folder and
 * MQTT messages at the broker while paused, and every input must still come out exactly once.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const BURST = 80;

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await stopAllServers();
});

/** identify waits for the gate (so the queue surely fills, however loaded the machine), then delayMs per batch. */
function slowDomain(delayMs: number, gate: Promise<void>): PipelineDomain {
  return {
    modelVersion: 'slow-1',
    parse: (input) => [{ block: 0, spectrum: createSpectrum({ y: (JSON.parse(input.payload.toString()) as { y: number[] }).y }) }],
    preprocess: (s) => Float32Array.from(s.y),
    async identify(vectors) {
      await gate;
      await new Promise((r) => setTimeout(r, delayMs));
      return vectors.map((v): Identification => ({ status: 'identified', class: `c${v[0]}`, score: 0.9, candidates: [{ class: `c${v[0]}`, score: 0.9 }] }));
    },
  };
}

/** The daemon's wiring in small: pipeline pressure pauses and resumes the inputs. */
function slowPipeline(input: InputAdapter, delayMs = 40) {
  const dir = makeTempDir('bp-store');
  const store = new Store(path.join(dir, 'spectrad.db'), { outputs: ['out'] });
  const pressure: boolean[] = [];
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  /** How many inputs the source still held (not taken) each time the pipeline paused. */
  const pipeline = new SpectrumPipeline({
    store,
    domain: slowDomain(delayMs, gate),
    batchSize: 4,
    windowMs: 5,
    queueBound: 8,
    ingestConcurrency: 4,
    defaultInstrument: 'bp',
    newId: () => ulid(),
    log: silent,
    onPressure: (high) => {
      pressure.push(high);
      if (high) input.pause?.();
      else input.resume?.();
    },
  });
  const results: ResultMessage[] = [];
  pipeline.results$.subscribe((r) => results.push(r));
  pipeline.attach(input.inputs$);
  pipeline.start();
  return { store, pipeline, pressure, results, openGate };
}

function payload(i: number): string {
  return JSON.stringify({ y: [i, 0.5, 1] });
}

describe('backpressure from a slow stage to real inputs', () => {
  it('folder: pauses reading, files wait in the folder, every file is processed once', async () => {
    const inbox = makeTempDir('bp-inbox');
    const staging = makeTempDir('bp-staging');
    // At most 8 files read and unacknowledged at once (default 256): on a quiet machine the watcher reports the whole
    // burst at once, and with room for all of it every file was read before the pause could leave one in the folder.
    const folder = new FolderInput({ name: 'inbox', paths: [inbox], patterns: ['*.json'], stabilityMs: 50, pollMs: 20, maxInFlight: 8 });
    const { store, pipeline, pressure, results, openGate } = slowPipeline(folder);
    await folder.start();
    for (let i = 0; i < BURST; i++) {
      writeFileSync(path.join(staging, `s${i}.json`), payload(i));
      renameSync(path.join(staging, `s${i}.json`), path.join(inbox, `s${i}.json`));
    }
    // The identify stage is held: the queue fills and the folder input is paused, with unread files left in the folder.
    await waitFor('the folder input paused', () => folder.paused, 60_000, 5);
    // The files read before the pause are committed and acknowledged (moved out of the inbox); after that nothing
    // moves until the gate opens, so what is left in the inbox now was never read.
    await waitFor('the reads under way at the pause ingested', () => pipeline.stats().ingesting === 0, 60_000, 5);
    const waitingWhilePaused = readdirSync(inbox).filter((f) => f.endsWith('.json')).length;
    expect(folder.paused).toBe(true);
    openGate();
    await waitFor('every file identified', () => results.filter((r) => r.status === 'identified').length >= BURST, 120_000, 50);
    await folder.stop();
    await pipeline.drain();

    expect(pressure[0]).toBe(true);
    expect(pressure.at(-1)).toBe(false);
    expect(pipeline.stats().pressureEvents).toBeGreaterThan(0);
    // While paused, unread files were still in the inbox (not in memory).
    expect(waitingWhilePaused).toBeGreaterThan(0);
    expect(folder.paused).toBe(false);
    const classes = results.map((r) => r.class).sort();
    expect(new Set(classes).size).toBe(BURST);
    expect(results).toHaveLength(BURST);
    expect(store.counts()).toMatchObject({ spectra: BURST, pending: 0, results: BURST });
    expect(existsSync(path.join(inbox, 'processed')) ? readdirSync(path.join(inbox, 'processed')).length : 0).toBe(BURST);
    store.close();
  });

  it('MQTT: holds messages unacknowledged while paused (the broker keeps the rest), every message processed once', async () => {
    mkdirSync(makeTempDir('bp-mqtt'), { recursive: true });
    const input = new MqttInput({ name: 'mqtt', url: broker.url, clientId: `bp-${ulid()}`, topics: ['bp/+/spectrum'], instrumentTopicLevel: 1, receiveMaximum: 16, stopGraceMs: 0 });
    const { store, pipeline, pressure, results, openGate } = slowPipeline(input);
    let maxHeld = 0;
    let maxUnacked = 0;
    const probe = setInterval(() => {
      maxHeld = Math.max(maxHeld, input.heldCount);
      maxUnacked = Math.max(maxUnacked, input.unacked);
    }, 5);
    await input.start();
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const publish = (from: number, to: number) =>
      Promise.all(Array.from({ length: to - from }, (_, k) => publisher.publishAsync(`bp/inst${(from + k) % 3}/spectrum`, payload(from + k), { qos: 1 })));
    // The first half fills the queue (the broker window lets it all in at once); the second half arrives while paused.
    await publish(0, BURST / 2);
    await waitFor('the input paused', () => input.paused, 60_000, 2);
    await publish(BURST / 2, BURST);
    await waitFor('messages held while paused', () => input.heldCount > 0, 60_000, 5);
    expect(input.paused).toBe(true);
    openGate();
    await waitFor('every message identified', () => results.filter((r) => r.status === 'identified').length >= BURST, 120_000, 50);
    clearInterval(probe);
    await publisher.endAsync();
    await pipeline.drain();
    await input.stop();

    expect(pressure[0]).toBe(true);
    expect(pressure.at(-1)).toBe(false);
    // Paused: messages were held back, never more than the broker may send un-acknowledged.
    expect(maxHeld).toBeGreaterThan(0);
    // Un-acknowledged messages stay within the broker's in-flight window (mosquitto in test/support: 100; 2.0.11
    // does not lower it to the client's receiveMaximum), so what the daemon holds in memory is bounded by the broker.
    expect(maxUnacked).toBeLessThanOrEqual(100);
    expect(new Set(results.map((r) => r.class)).size).toBe(BURST);
    expect(results).toHaveLength(BURST);
    // The instrument comes from topic level 1.
    expect(new Set(results.map((r) => r.instrument))).toEqual(new Set(['inst0', 'inst1', 'inst2']));
    expect(store.counts()).toMatchObject({ spectra: BURST, pending: 0, results: BURST });
    store.close();
  });
});
