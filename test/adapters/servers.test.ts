import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startMosquitto, startPtyPair, startVictoriaMetrics, stopAllServers, requireBinary, freePort } from '../../support/servers.ts';
import { connect } from 'node:net';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('test server harness', () => {
  afterAll(stopAllServers);

  it('fails loudly when a binary is missing', () => {
    expect(() => requireBinary('/usr/sbin/no-such-broker')).toThrow(/ensure-test-servers/);
  });

  it('starts, stops and restarts mosquitto on the same port', async () => {
    const broker = await startMosquitto();
    expect(await accepts(broker.port)).toBe(true);
    await broker.stop();
    expect(await accepts(broker.port)).toBe(false);
    await broker.start();
    expect(await accepts(broker.port)).toBe(true);
  });

  it('starts victoria-metrics with a health endpoint', async () => {
    const vm = await startVictoriaMetrics();
    const res = await fetch(`${vm.url}/health`);
    expect(res.status).toBe(200);
  });

  it('makes a pty pair whose device nodes vanish when it stops', async () => {
    const pty = await startPtyPair();
    expect(existsSync(pty.a) && existsSync(pty.b)).toBe(true);
    await pty.stop();
    expect(existsSync(pty.a)).toBe(false);
    await pty.start();
    expect(existsSync(pty.a)).toBe(true);
  });

  it('hands out distinct free ports', async () => {
    const [p1, p2] = await Promise.all([freePort(), freePort()]);
    expect(p1).toBeGreaterThan(0);
    expect(p1).not.toBe(p2);
  });
});
