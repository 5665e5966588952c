/**
 * A mosquitto with authentication for the security tests: a self-signed CA, server and client certificates made with
 * openssl in a temporary folder, and three listeners with their own settings:
 *   plain: TCP with a password file;  tls: TLS (server certificate) with the password file;
 *   mtls: TLS requiring a client certificate signed by the CA (its CN is the user name).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BINARIES, freePort, makeTempDir, requireBinary, sleep, tcpAccepts } from '../../../support/servers.ts';

export interface TlsBroker {
  readonly dir: string;
  readonly username: string;
  readonly password: string;
  readonly plainUrl: string;
  readonly tlsUrl: string;
  readonly mtlsUrl: string;
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  log(): string;
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** CA, a server certificate for 127.0.0.1 / localhost, and a client certificate, all signed by the CA. */
export function makeCertificates(dir: string): { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=spectrad-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem']);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=spectrad-client', '-keyout', 'client.key', '-out', 'client.csr']);
  openssl(dir, ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.pem']);
  const p = (f: string) => path.join(dir, f);
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}

export async function startTlsBroker(username = 'spectrad', password = `pw-${Math.random().toString(36).slice(2)}-secret`): Promise<TlsBroker> {
  requireBinary(BINARIES.mosquitto);
  requireBinary(BINARIES.mosquittoPasswd);
  const dir = makeTempDir('tls-broker');
  const certs = makeCertificates(dir);
  const pwFile = path.join(dir, 'passwd');
  writeFileSync(pwFile, '');
  const made = spawnSync(BINARIES.mosquittoPasswd, ['-b', pwFile, username, password]);
  if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr.toString()}`);
  const [plain, tls, mtls] = [await freePort(), await freePort(), await freePort()];
  const lines = [
    'per_listener_settings true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `listener ${plain} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${pwFile}`,
    `listener ${tls} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${pwFile}`,
    `cafile ${certs.ca}`,
    `certfile ${certs.serverCert}`,
    `keyfile ${certs.serverKey}`,
    `listener ${mtls} 127.0.0.1`,
    'allow_anonymous false',
    `cafile ${certs.ca}`,
    `certfile ${certs.serverCert}`,
    `keyfile ${certs.serverKey}`,
    'require_certificate true',
    'use_identity_as_username true',
  ];
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  let output = '';
  const child: ChildProcess = spawn(BINARIES.mosquitto, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  process.once('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 15_000;
  while (!((await tcpAccepts(plain)) && (await tcpAccepts(tls)) && (await tcpAccepts(mtls)))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${output}`);
    await sleep(50);
  }
  return {
    dir,
    username,
    password,
    plainUrl: `mqtt://127.0.0.1:${plain}`,
    tlsUrl: `mqtts://127.0.0.1:${tls}`,
    mtlsUrl: `mqtts://127.0.0.1:${mtls}`,
    caFile: certs.ca,
    clientCertFile: certs.clientCert,
    clientKeyFile: certs.clientKey,
    log: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
