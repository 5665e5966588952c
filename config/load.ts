import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { bundledModelNames, resolveModelRef } from '../core/encoder/bundled-models.ts';
import { SpectrumInputError } from '../core/errors.ts';
import { checkPreprocessConfig, type PreprocessConfig } from '../core/preprocess/index.ts';
import { configSchema, type SpectradConfig } from './schema.ts';

/** The package root (where models/default and dashboard/dist live), wherever the process was started from. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const defaultConfigFile = path.join(packageRoot, 'config', 'default.yaml');

/** One problem in a config: the key path as written in YAML (e.g. `inputs[0].paths`) and what is wrong with it. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`invalid configuration ${file}:\n` + problems.map((p) => `  ${p.path || '(top level)'}: ${p.message}`).join('\n'));
  }
}

/** Flags of `spectrad run` that override the config for the common cases. */
export interface ConfigOverrides {
  /** Replaces every folder input with one watching these folders. */
  watch?: readonly string[];
  /** Replaces every MQTT output with one publishing to this broker. */
  mqtt?: string;
  /** HOST:PORT of the HTTP API. */
  http?: string;
  instrument?: string;
  dataDir?: string;
  logLevel?: string;
  /** --node-id: this daemon's id on the site. */
  nodeId?: string;
  /** --mqtt-client-id: client id prefix of every MQTT connection. */
  mqttClientId?: string;
  /** --mqtt-session-expiry: seconds the broker keeps an MQTT input's session. */
  mqttSessionExpirySec?: string;
}

/** The validated config with every path absolute and every secret read: what the daemon runs on. */
export type ResolvedConfig = SpectradConfig & {
  readonly configFile: string;
  /** The node id always set: from the flag, SPECTRAD_NODE_ID, the file, or the host name. */
  readonly node: { readonly id: string };
  /** The client id prefix always set (default spectrad-<node id>). */
  readonly mqtt: SpectradConfig['mqtt'] & { clientId: string };
  readonly store: SpectradConfig['store'] & { path: string };
  readonly library: SpectradConfig['library'] & { path: string };
  readonly model: SpectradConfig['model'] & { dir: string };
  readonly http: SpectradConfig['http'] & { dashboardDir: string };
};

export interface LoadOptions {
  /** YAML file; without it the embedded default (config/default.yaml). */
  file?: string;
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  /** Relative paths in the config resolve against this folder (default: the working directory). */
  cwd?: string;
}

export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const file = path.resolve(options.cwd ?? process.cwd(), options.file ?? defaultConfigFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  return parseConfig(text, file, options);
}

/** Parses and validates YAML text; the user's file is only ever read, never rewritten. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): ResolvedConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}` : '', message: `YAML: ${e.message.split('\n')[0]}` })),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', message: 'expected a mapping of keys (e.g. `inputs:`, `http:`) at the top level' }]);
  }
  const withFlags = applyOverrides(raw as Record<string, unknown>, options.overrides ?? {}, file, options.env ?? process.env);
  const parsed = configSchema.safeParse(withFlags);
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map(toProblem));
  try {
    checkPreprocessConfig(parsed.data.preprocessing as PreprocessConfig);
  } catch (err) {
    if (!(err instanceof SpectrumInputError)) throw err;
    throw new ConfigError(file, [{ path: `preprocessing.${err.where.field ?? ''}`, message: err.message.replace(/^field [^:]*: /, '') }]);
  }
  return resolveConfig(parsed.data, file, options.cwd ?? process.cwd(), options.env ?? process.env);
}

function toProblem(issue: z.core.$ZodIssue): ConfigProblem {
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (misspelt?)`;
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    message = `"${String(issue.discriminator)}" must be one of the known kinds (${issue.message})`;
  }
  return { path: formatPath(issue.path), message };
}

function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${String(s)}` : String(s);
  return out;
}

/** A host name as a node id: letters, digits, _ . - (it becomes an MQTT topic level and a metric label). */
export function defaultNodeId(host: string = hostname()): string {
  const cleaned = host.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return cleaned || 'node';
}

/**
 * Flags, then node identity and MQTT session settings from the environment (a unit file or container sets them per
 * daemon without editing YAML): SPECTRAD_NODE_ID, SPECTRAD_MQTT_CLIENT_ID, SPECTRAD_MQTT_SESSION_EXPIRY_SEC. Flags
 * win over them, and they over the file.
 */
function applyOverrides(raw: Record<string, unknown>, o: ConfigOverrides, file: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const section = (key: string): Record<string, unknown> => (typeof out[key] === 'object' && out[key] !== null && !Array.isArray(out[key]) ? (out[key] as Record<string, unknown>) : {});
  const nodeId = o.nodeId || env.SPECTRAD_NODE_ID;
  if (nodeId) out.node = { ...section('node'), id: nodeId };
  const clientId = o.mqttClientId || env.SPECTRAD_MQTT_CLIENT_ID;
  if (clientId) out.mqtt = { ...section('mqtt'), clientId };
  const expiry = o.mqttSessionExpirySec || env.SPECTRAD_MQTT_SESSION_EXPIRY_SEC;
  if (expiry) {
    const where = o.mqttSessionExpirySec ? '--mqtt-session-expiry' : 'SPECTRAD_MQTT_SESSION_EXPIRY_SEC';
    if (!/^\d+$/.test(expiry.trim())) throw new ConfigError(file, [{ path: where, message: `expected whole seconds, got "${expiry}"` }]);
    out.mqtt = { ...section('mqtt'), sessionExpirySec: Number(expiry.trim()) };
  }
  const list = (key: string): unknown[] => (Array.isArray(out[key]) ? (out[key] as unknown[]) : []);
  const isType = (t: string) => (v: unknown) => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === t;
  if (o.watch && o.watch.length > 0) {
    out.inputs = [...list('inputs').filter((v) => !isType('folder')(v)), { type: 'folder', name: 'watch', paths: [...o.watch] }];
  }
  if (o.mqtt) {
    out.outputs = [...list('outputs').filter((v) => !isType('mqtt')(v)), { type: 'mqtt', name: 'mqtt-out', url: o.mqtt }];
  }
  if (o.http) {
    const m = /^(.*):(\d+)$/.exec(o.http);
    if (!m) throw new ConfigError(file, [{ path: '--http', message: `expected HOST:PORT, got "${o.http}"` }]);
    const host = m[1].replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    out.http = { ...(typeof out.http === 'object' && out.http ? out.http : {}), host, port: Number(m[2]) };
  }
  if (o.instrument) out.instrument = o.instrument;
  if (o.dataDir) out.dataDir = o.dataDir;
  if (o.logLevel) out.logLevel = o.logLevel;
  return out;
}

// Secrets from the environment win over the file, so a unit file or container can inject them without editing YAML:
// SPECTRAD_MQTT_USERNAME, SPECTRAD_MQTT_PASSWORD (every MQTT input and output), SPECTRAD_INFLUX_TOKEN,
// SPECTRAD_INFLUX_PASSWORD (api v1), SPECTRAD_HTTP_TOKEN, SPECTRAD_SITE_URL (the site's PostgreSQL connection
// string, which carries its password), each also as `..._FILE` naming a file that holds it
// (resolveConfig reads them).

function resolveConfig(c: SpectradConfig, file: string, cwd: string, env: NodeJS.ProcessEnv): ResolvedConfig {
  const problems: ConfigProblem[] = [];
  const abs = (p: string) => path.resolve(cwd, p);
  // model.dir: a directory (relative to the config's folder) or a bundled model's name (raman-532, ir, default).
  const modelDir = (ref: string): string => {
    try {
      return resolveModelRef(ref, cwd);
    } catch (err) {
      if (!(err instanceof SpectrumInputError)) throw err;
      // A path that does not exist (yet) fails when the model loads, as before; an unknown bare name fails here.
      if (!/[\\/]/.test(ref)) problems.push({ path: 'model.dir', message: `no model "${ref}": not a model directory and not a bundled model; bundled models: ${bundledModelNames().join(', ')}` });
      return abs(ref);
    }
  };
  const readSecret = (at: string, inline: string | undefined, fromFile: string | undefined, envName: string) => {
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const envFile = env[`${envName}_FILE`];
    const secretFile = envFile || fromFile;
    if (inline !== undefined && fromFile !== undefined) {
      problems.push({ path: at, message: 'give the secret inline or as a file, not both' });
    }
    if (secretFile) {
      try {
        return readFileSync(abs(secretFile), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        problems.push({ path: envFile ? `${envName}_FILE` : at + 'File', message: `cannot read the secret file: ${(err as Error).message}` });
        return undefined;
      }
    }
    return inline;
  };

  /** TLS files made absolute and checked readable now, so a wrong path is a config error, not a silent reconnect loop. */
  const tlsFiles = <T extends { caFile?: string; certFile?: string; keyFile?: string }>(at: string, tls: T | undefined): T | undefined => {
    if (!tls) return undefined;
    const out: T = { ...tls };
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      const given = tls[key];
      if (given === undefined) continue;
      out[key] = abs(given) as T[typeof key];
      try {
        readFileSync(abs(given));
      } catch (err) {
        problems.push({ path: `${at}.tls.${key}`, message: `cannot read the file: ${(err as Error).message}` });
      }
    }
    return out;
  };

  const dataDir = abs(c.dataDir);
  const nodeId = c.node.id ?? defaultNodeId();
  const mqttClientPrefix = c.mqtt.clientId ?? `spectrad-${nodeId}`;
  const inputs = c.inputs.map((input, i) => {
    if (input.type === 'folder') {
      return {
        ...input,
        paths: input.paths.map(abs),
        processedDir: input.processedDir ? abs(input.processedDir) : undefined,
        failedDir: input.failedDir ? abs(input.failedDir) : undefined,
      };
    }
    if (input.type === 'mqtt') {
      return {
        ...input,
        clientId: input.clientId ?? `${mqttClientPrefix}-${input.name}`,
        sessionExpirySec: input.sessionExpirySec ?? c.mqtt.sessionExpirySec,
        username: env.SPECTRAD_MQTT_USERNAME || input.username,
        password: readSecret(`inputs[${i}].password`, input.password, input.passwordFile, 'SPECTRAD_MQTT_PASSWORD'),
        passwordFile: undefined,
        tls: tlsFiles(`inputs[${i}]`, input.tls),
      };
    }
    if (input.type === 'queue') {
      return { ...input, password: readSecret(`inputs[${i}].password`, input.password, input.passwordFile, 'SPECTRAD_QUEUE_PASSWORD'), passwordFile: undefined };
    }
    return input;
  });
  const outputs = c.outputs.map((output, i) => {
    if (output.type === 'mqtt') {
      return {
        ...output,
        clientId: output.clientId ?? `${mqttClientPrefix}-${output.name}`,
        username: env.SPECTRAD_MQTT_USERNAME || output.username,
        password: readSecret(`outputs[${i}].password`, output.password, output.passwordFile, 'SPECTRAD_MQTT_PASSWORD'),
        passwordFile: undefined,
        tls: tlsFiles(`outputs[${i}]`, output.tls),
      };
    }
    if (output.type === 'influx') {
      const token = readSecret(`outputs[${i}].token`, output.token, output.tokenFile, 'SPECTRAD_INFLUX_TOKEN');
      // InfluxDB 1.x (api v1) logs in with username/password, or takes anonymous writes; 2.x always needs a token.
      if (token === undefined && output.api === 'v2') problems.push({ path: `outputs[${i}].token`, message: 'InfluxDB needs a token (token, tokenFile or SPECTRAD_INFLUX_TOKEN)' });
      const password = readSecret(`outputs[${i}].password`, output.password, output.passwordFile, 'SPECTRAD_INFLUX_PASSWORD');
      return { ...output, token, tokenFile: undefined, password, passwordFile: undefined };
    }
    return output;
  });
  const token = readSecret('http.token', c.http.token, c.http.tokenFile, 'SPECTRAD_HTTP_TOKEN');
  const siteUrl = readSecret('site.postgres.url', c.site.postgres.url, c.site.postgres.urlFile, 'SPECTRAD_SITE_URL');
  if (siteUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(siteUrl)) {
    // The value is a secret: the problem names where it came from, never what it is.
    problems.push({ path: 'site.postgres.url', message: 'expected a PostgreSQL URL such as postgres://user@host:5432/spectrad (from the file, urlFile or SPECTRAD_SITE_URL)' });
  }
  const resolvedModelDir = c.model.dir ? modelDir(c.model.dir) : path.join(packageRoot, 'models', 'default');
  if (problems.length > 0) throw new ConfigError(file, problems);
  return {
    ...c,
    configFile: file,
    node: { id: nodeId },
    mqtt: { ...c.mqtt, clientId: mqttClientPrefix },
    dataDir,
    inputs,
    outputs,
    store: { ...c.store, path: c.store.path ? abs(c.store.path) : path.join(dataDir, 'spectrad.db') },
    library: { ...c.library, path: c.library.path ? abs(c.library.path) : path.join(dataDir, 'library.json') },
    model: { ...c.model, dir: resolvedModelDir },
    site: { postgres: { ...c.site.postgres, url: siteUrl, urlFile: undefined } },
    http: {
      ...c.http,
      token,
      tokenFile: undefined,
      dashboardDir: c.http.dashboardDir ? abs(c.http.dashboardDir) : path.join(packageRoot, 'dashboard', 'dist'),
    },
  };
}
