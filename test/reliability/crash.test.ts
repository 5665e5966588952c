import { afterAll, describe, expect, it } from 'vitest';
import { stopAllServers } from '../../support/servers.ts';
import { runCrashHarness } from '../../support/reliability/crash-harness.ts';

/**
 * Crash safety with the folder AND MQTT in the loop: the real daemon is SIGKILLed at seeded random moments while both
 * inputs are fed; at the end every accepted spectrum has exactly one stored result, every file sits in processed/,
 * and every result reached the MQTT result topic under the id the store gave it (a QoS 1 redelivery repeats the same
 * id and body, so consumers de-duplicate by `id`). The long run is `npm run reliability:crash` (>= 20 kills).
 */
const KILLS = Number(process.env.SPECTRAD_CRASH_KILLS ?? 5);

afterAll(() => stopAllServers());

describe('crash safety: SIGKILL while a folder and MQTT are fed', () => {
  it(`loses nothing, stores each accepted input once and publishes it under one stable id over ${KILLS} kills`, async () => {
    // A slower feed than the npm script's (80 ms): the restart backlog stays small, so the suite stays short on a loaded machine.
    const f = await runCrashHarness({ kills: KILLS, seed: 7, feedGapMs: 150, progress: (l) => console.log(l) });
    console.log(JSON.stringify(f));
    expect(f.kills).toBe(KILLS);
    expect(f.fedFiles).toBeGreaterThan(KILLS * 10);
    expect(f.fedMqtt).toBeGreaterThan(KILLS * 10);
    expect(f.lostNames).toEqual([]);
    expect(f.lost).toBe(0);
    expect(f.duplicatedStored).toBe(0);
    expect(f.storedResults).toBe(f.fed);
    expect(f.processedFiles).toBe(f.fedFiles);
    expect(f.unpublished).toBe(0);
    expect(f.mqttDistinctIds).toBe(f.fed);
    expect(f.unstableIds).toBe(0);
    expect(f.redeliveriesDiffering).toBe(0);
  }, 150_000 + KILLS * 10_000); // generous: start-up and drain take several times longer at a load of 10+
});
