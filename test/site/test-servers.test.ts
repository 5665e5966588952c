/**
 * The site tests' own servers: a PostgreSQL 15 cluster and a JetStream nats-server, each started here on free loopback
 * ports. Fails (never skips) when scripts/ensure-test-servers.sh has not installed them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connect, StringCodec } from 'nats';
import { startNatsServer, startPostgres, stopAllServers } from '../../support/servers.ts';

afterAll(stopAllServers);

describe('site test servers', () => {
  it('runs PostgreSQL: a fresh database answers, keeps a row across a restart', async () => {
    const server = await startPostgres();
    const url = await server.createDatabase('site_probe');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    expect(Number(version.rows[0]!.server_version_num)).toBeGreaterThanOrEqual(150000);
    await client.query('CREATE TABLE t (v int)');
    await client.query('INSERT INTO t VALUES (42)');
    await client.end();
    await server.stop('SIGKILL');
    await server.start();
    const again = new pg.Client({ connectionString: url });
    await again.connect();
    expect((await again.query<{ v: number }>('SELECT v FROM t')).rows).toEqual([{ v: 42 }]);
    await again.end();
  });

  it('runs nats-server with JetStream and its MQTT listener', async () => {
    const server = await startNatsServer({ mqtt: true });
    expect(server.mqttPort).toBeTypeOf('number');
    const nc = await connect({ servers: server.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'probe', subjects: ['probe.>'] });
    const js = nc.jetstream();
    const ack = await js.publish('probe.a', StringCodec().encode('hello'));
    expect(ack.seq).toBe(1);
    await nc.close();
  });
});
