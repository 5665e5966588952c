import { z } from 'zod';
import { FORMAT_NAMES } from '../core/formats/types.ts';

/**
 * The daemon's configuration, as written in YAML. Objects are strict so a misspelt key is an error that names it
 * rather than an option silently ignored. Secrets (passwords, tokens) can be given inline, as a file (`...File`,
 * the systemd-credentials / Docker-secrets style), or by environment variable (see config/load.ts).
 */

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, _ . - (it becomes an MQTT topic segment)');
const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const mqttUrl = z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, 'expected an MQTT URL such as mqtt://host:1883');
/** How an input's payloads are read: 'auto' looks at the content first; name one when the content misleads. */
const format = z.enum(FORMAT_NAMES).default('auto');
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http(s):// URL');

/** A secret given inline or read from a file; the loader resolves files and environment overrides. */
const secretFields = {
  password: z.string().optional(),
  passwordFile: z.string().optional(),
};

/**
 * TLS towards the broker (mqtts:// or wss://): files in PEM, read when connecting, never logged. Without caFile the
 * system's trusted CAs apply; certFile + keyFile log in with a client certificate.
 */
export const mqttTlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Refuse a broker whose certificate does not verify (default). false only for tests on a trusted network. */
    rejectUnauthorized: z.boolean().default(true),
    /** Name expected in the broker's certificate when it differs from the URL's host. */
    servername: z.string().min(1).optional(),
  })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'give certFile and keyFile together', path: ['certFile'] });

export const folderInputSchema = z.strictObject({
  type: z.literal('folder'),
  name: name.default('inbox'),
  /** Folders to watch; each may also be a glob such as `/data/*\/export`. */
  paths: z.array(z.string().min(1)).min(1),
  /** File-name globs (relative to each watched folder) that count as spectra; other files are left alone. */
  patterns: z.array(z.string().min(1)).default(['**/*.jdx', '**/*.dx', '**/*.jcamp', '**/*.csv', '**/*.txt', '**/*.json']),
  /** A file is read once its size has not changed for this long (instruments write files in several steps). */
  stabilityMs: z.number().int().min(0).default(500),
  /** What happens to a file after it is recorded: moved to processed/ or failed/, renamed with a suffix, or left. */
  after: z.enum(['move', 'mark', 'keep']).default('move'),
  processedDir: z.string().optional(),
  failedDir: z.string().optional(),
  instrument: name.optional(),
  /** Scan for files that arrived while the daemon was down. */
  scanAtStart: z.boolean().default(true),
  /** Polling instead of OS events (network shares). */
  usePolling: z.boolean().default(false),
  /** Larger files are refused unread (recorded as rejected, moved to failed/). */
  maxFileBytes: positiveInt.default(64 * 1024 * 1024),
  /** List the folders this often for files the watcher missed (events lost under load); 0: never. */
  rescanMs: z.number().int().min(0).default(30_000),
  format,
});

export const serialInputSchema = z.strictObject({
  type: z.literal('serial'),
  name: name.default('serial'),
  path: z.string().min(1),
  baudRate: positiveInt.default(9600),
  dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
  parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
  /** line: one spectrum per line of separated values; markers: text between start and end markers; jcamp: ##TITLE= .. ##END=. */
  framing: z.enum(['line', 'markers', 'jcamp']).default('line'),
  startMarker: z.string().optional(),
  endMarker: z.string().optional(),
  /** Field separator for `line` framing; by default comma, semicolon, tab or spaces. */
  separator: z.string().optional(),
  instrument: name.optional(),
  /** Reconnect backoff when the port disappears: first delay, doubling up to the maximum. */
  reconnectMinMs: positiveInt.default(500),
  reconnectMaxMs: positiveInt.default(30_000),
  format,
}).refine((s) => s.framing !== 'markers' || (s.startMarker && s.endMarker), {
  message: 'framing "markers" needs startMarker and endMarker',
  path: ['framing'],
});

export const mqttInputSchema = z.strictObject({
  type: z.literal('mqtt'),
  name: name.default('mqtt'),
  url: mqttUrl,
  /** Topics to subscribe; `$share/<group>/<topic>` spreads one topic over several daemons (MQTT 5). */
  topics: z.array(z.string().min(1)).min(1).default(['spectrad/+/spectrum']),
  /** Subscription QoS: 1 (and 2, subscribed as 1) acknowledges a spectrum once stored; 0: no acknowledgement, no redelivery. */
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
  /**
   * Stable client id: with clean=false the broker keeps the session (and queued messages) across restarts. By default
   * `<mqtt.clientId>-<name>`, i.e. `spectrad-<node id>-<name>`: unique per node, the same at every restart.
   */
  clientId: z.string().min(1).optional(),
  /** Start without the broker's stored session (false: keep it, so nothing is missed while away). */
  clean: z.boolean().default(false),
  /** How long the broker keeps this input's session while the daemon is away; by default mqtt.sessionExpirySec. */
  sessionExpirySec: z.number().int().min(0).max(4_294_967_295).optional(),
  /** 5, or 4 (MQTT 3.1.1: no session expiry or receive maximum; mosquitto still offers $share). */
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
  username: z.string().optional(),
  ...secretFields,
  tls: mqttTlsSchema.optional(),
  /** Instrument when the topic does not name one (`spectrad/<instrument>/spectrum` does). */
  instrument: name.optional(),
  /**
   * Topic level (0-based) that names the instrument, e.g. 1 for `spectrad/<instrument>/spectrum`. Ignored when
   * `instrument` is set; without either, the spectrum's own metadata or the daemon's instrument is used.
   */
  instrumentTopicLevel: z.number().int().min(0).max(31).optional(),
  format,
});

/**
 * The site work queue (NATS JetStream): several daemons take spectra from one queue that no daemon owns, each
 * acknowledging a spectrum only once its result is stored, so a node that dies leaves its unfinished spectra to the
 * others (docs/SCALE-OUT.md). Instruments publish to the queue over NATS or MQTT (nats-server's MQTT listener).
 */
export const queueInputSchema = z.strictObject({
  type: z.literal('queue'),
  name: name.default('queue'),
  /** nats://host:4222; several servers of one cluster separated by commas. */
  url: z.string().regex(/^nats:\/\/[^\s]+$/, 'expected a NATS URL such as nats://host:4222'),
  /** JetStream stream (created when missing, as a work queue). */
  stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('SPECTRAD'),
  /** Subjects the stream captures; `spectrad.*.spectrum` is the MQTT topic `spectrad/<instrument>/spectrum`. */
  subjects: z.array(z.string().min(1)).min(1).default(['spectrad.*.spectrum']),
  /** Copies of the stream (and its dead letters) in a JetStream cluster, when a daemon creates it. */
  replicas: z.number().int().min(1).max(5).default(1),
  /** Durable consumer shared by every node of the site. */
  consumer: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('spectrad'),
  /** How long a spectrum taken by a node stays its own without news (the node renews it while working). */
  leaseMs: z.number().int().min(1000).max(3_600_000).default(10_000),
  /** Spectra taken and not finished at once per node: what a dead node leaves for the others. */
  maxInFlight: z.number().int().min(1).max(10_000).default(64),
  /** Deliveries after which a spectrum goes to the dead letters instead of the pipeline. */
  maxAttempts: z.number().int().min(1).max(100).default(5),
  /** Dead letters are kept in the stream `<stream>_DEAD` under this subject prefix. */
  deadLetterPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('spectrad-dead'),
  username: z.string().optional(),
  ...secretFields,
  instrument: name.optional(),
  /** Topic level naming the instrument (default 1 when every subject is `spectrad.<x>.spectrum`-shaped). */
  instrumentTopicLevel: z.number().int().min(0).max(31).optional(),
  format,
});

export const inputSchema = z.discriminatedUnion('type', [folderInputSchema, serialInputSchema, mqttInputSchema, queueInputSchema]);

export const mqttOutputSchema = z.strictObject({
  type: z.literal('mqtt'),
  name: name.default('mqtt-out'),
  url: mqttUrl,
  /** Results go to `<prefix>/<instrument>/result`, alerts to `<prefix>/<instrument>/alert`. */
  topicPrefix: z.string().min(1).default('spectrad'),
  /** QoS of results and alerts. With 0 a publish counts as delivered once written to the socket: no PUBACK exists. */
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
  /** Retain results and alerts, so a late subscriber sees each instrument's latest. */
  retain: z.boolean().default(false),
  /** By default `<mqtt.clientId>-<name>`, i.e. `spectrad-<node id>-<name>`. */
  clientId: z.string().min(1).optional(),
  username: z.string().optional(),
  ...secretFields,
  tls: mqttTlsSchema.optional(),
});

export const influxOutputSchema = z.strictObject({
  type: z.literal('influx'),
  name: name.default('influx'),
  url: httpUrl,
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  org: z.string().min(1).default('spectrad'),
  bucket: z.string().min(1).default('spectrad'),
  measurement: z.string().min(1).default('spectrad_result'),
  /** v2: POST /api/v2/write (InfluxDB 2.x, VictoriaMetrics); v1: POST /write?db= (InfluxDB 1.x, VictoriaMetrics). */
  api: z.enum(['v2', 'v1']).default('v2'),
  /** v1: the database (default: bucket). */
  database: z.string().min(1).optional(),
  /** v1: retention policy (default: the database's default). */
  retentionPolicy: z.string().min(1).optional(),
  /** v1: login (u/p); the password also from SPECTRAD_INFLUX_PASSWORD. */
  username: z.string().min(1).optional(),
  ...secretFields,
});

export const socketioOutputSchema = z.strictObject({
  type: z.literal('socketio'),
  name: name.default('socketio'),
  /** Path of the socket.io endpoint on the daemon's HTTP server. */
  path: z.string().startsWith('/').default('/socket.io'),
});

export const outputSchema = z.discriminatedUnion('type', [mqttOutputSchema, influxOutputSchema, socketioOutputSchema]);

/**
 * Per-client HTTP request limits (429 with Retry-After), counted per client address in fixed windows. The defaults
 * leave the dashboard far below them (it polls a few times a minute) while slowing token guessing to a few a minute.
 */
export const httpRateLimitSchema = z.strictObject({
  enabled: z.boolean().default(true),
  windowMs: positiveInt.max(86_400_000).default(60_000),
  /** Requests per client per window over all read routes and the dashboard's files (GET /api/health is never limited). */
  requests: positiveInt.default(3000),
  /** Authenticated requests per client per window on each state-changing route. */
  writes: positiveInt.default(60),
  /** POST /api/identify uploads per client per window. */
  uploads: positiveInt.default(60),
  /** Failed authentications (wrong or missing token on a writing route) per client per window; then 429 until it ends. */
  authFailures: positiveInt.default(10),
  /** Client addresses never limited, e.g. a trusted automation host. */
  allowList: z.array(z.string().min(1)).default([]),
});

export const httpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Loopback by default: the API answers other machines only when the operator says so. */
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  /** Bearer token required by the writing endpoints (POST /api/classes); without one they are refused. */
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  /** Without token/tokenFile: create a random token once in <dataDir>/http-token and require it (the default config does). */
  autoToken: z.boolean().default(false),
  /** Largest upload accepted by POST /api/identify and POST /api/classes. */
  uploadLimitBytes: positiveInt.default(10 * 1024 * 1024),
  /** Built dashboard to serve at /; by default dashboard/dist of the package when present. */
  dashboardDir: z.string().optional(),
  rateLimit: httpRateLimitSchema.prefault({}),
  /**
   * Host names answered besides the localhost names and the bound address (DNS rebinding: any other Host is refused
   * with 403), e.g. the public name a reverse proxy forwards; '*' answers any (docs/SECURITY.md).
   */
  allowedHosts: z.array(z.string().min(1)).default([]),
  /**
   * Origins whose pages may use the API and socket.io besides the daemon's own (a page on another origin is refused
   * with 403), e.g. 'https://lab.example.org' behind a proxy or 'http://localhost:5173' for the dashboard's dev server.
   */
  allowedOrigins: z.array(z.string().min(1)).default([]),
});

export const modelSchema = z.strictObject({
  /** Model directory (weights + model card) or a bundled model's name (default, raman-532, ir); by default the bundled models/default. */
  dir: z.string().optional(),
  /** Force an engine; auto picks the fastest one available. */
  engine: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Inference engine: auto = onnxruntime when it loads and its export matches tfjs within 1e-4, else tfjs (docs/ENGINE.md). */
  inference: z.enum(['auto', 'tfjs', 'onnx']).default('auto'),
  /** onnxruntime intra-op threads (1 measured best per spectrum on a shared 2-core machine). */
  inferenceThreads: z.number().int().min(1).max(64).default(1),
});

export const librarySchema = z.strictObject({
  /** Library file; by default <dataDir>/library.json. Classes enrolled through the API are written here. */
  path: z.string().optional(),
  /** Build a demo library from generated benchmark spectra when there is none yet. */
  demo: z.boolean().default(true),
  /** Benchmark classes the demo library holds: all 500 by default, so any benchmark test file is in it. */
  demoClasses: z.union([z.literal('all'), z.array(z.number().int().min(0).max(499)).min(1)]).default('all'),
  /**
   * Generated reference spectra per demo class (benchmark train split, seed demoSeed). 20, as many as the bundled
   * model's card measured its accuracy with; with 3 a class's few references missed many of its test spectra.
   */
  demoPerClass: positiveInt.max(50).default(20),
  /**
   * Seed of the demo references. Not 1: the bundled model was trained on seed 1's spectra, which it packs tighter
   * than any new spectrum of their class, so thresholds calibrated on them flagged known spectra as doubtful.
   */
  demoSeed: z.number().int().default(2),
});

/** One preprocessing step; core/preprocess checks each kind's parameters (see checkPreprocessConfig). */
export const preprocessStepSchema = z.looseObject({ kind: z.enum(['savitzkyGolay', 'airPLS', 'rollingBall']) });

export const preprocessingSchema = z.strictObject({
  /** Steps between resampling onto the model grid and max-normalisation (which always happen). */
  steps: z.array(preprocessStepSchema).default([]),
  resample: z.enum(['auto', 'linear', 'smooth']).default('auto'),
  /**
   * Smallest fraction of the model's x range a spectrum must cover; unset: 0.5 on an index grid, 0.08 on a physical
   * one (cm-1, ...), where the uncovered part is masked (core/preprocess PREPROCESS_DEFAULTS).
   */
  minOverlap: z.number().gt(0).max(1).optional(),
  minPoints: z.number().int().min(2).default(16),
  /** Spectra without a known x unit (bare two-column files) are taken to be in the model's unit. */
  acceptUnknownXUnit: z.boolean().default(true),
});

export const identificationSchema = z.strictObject({
  /** Neighbours that vote when rank is 'vote' (the paper's rule, k = 3). */
  k: positiveInt.max(50).default(3),
  /**
   * How classes are ranked: 'mean-of-best' (the mean of a class's meanOfBest best similarities; fewer errors than the
   * vote on every benchmark protocol, docs/RESULTS.notes.md) or 'vote' (the paper's k-nearest-neighbour vote).
   */
  rank: z.enum(['mean-of-best', 'vote']).default('mean-of-best'),
  meanOfBest: positiveInt.max(50).default(5),
  /** A near-duplicate top pair (references overlapping in embedding space) is decided by the spectrum's peaks. */
  pairDecision: z.boolean().default(true),
  /** Share of known spectra the calibrated threshold may call unknown. */
  targetFalseUnknownRate: z.number().gt(0).lt(0.5).default(0.01),
  /** off: single compounds only; auto: mixture search when the single answer is poor; always: every spectrum. */
  mixture: z.enum(['off', 'auto', 'always']).default('auto'),
  /** Most components a mixture is searched with: 4, the most the benchmark mixtures hold. */
  maxComponents: z.number().int().min(2).max(5).default(4),
  /**
   * Probability that an answer's prediction set holds the true class (split conformal, calibrated on the library).
   * An identified answer's class is always in its set, an unknown answer's set is empty: 0.99 matches the unknown
   * gate's 1 % (docs/CALIBRATION.md).
   */
  predictionSetCoverage: z.number().gt(0.5).lt(1).default(0.99),
});

export const pipelineSchema = z.strictObject({
  /** Spectra encoded together (one model call). */
  batchSize: positiveInt.max(1024).default(32),
  /** Longest wait for a batch to fill, after its first spectrum arrived. */
  windowMs: z.number().int().min(0).max(10_000).default(25),
  /** Spectra held in memory awaiting the encoder; beyond it inputs are paused and the backlog waits in the store. */
  queueBound: positiveInt.default(512),
  /**
   * Inputs taken at once (parsed, committed, awaiting acknowledgement). Inputs arriving together are committed in
   * one transaction, so this is also the largest group commit: measured 44 -> 130 spectra/s going from 4 to 64.
   */
  ingestConcurrency: positiveInt.max(1024).default(64),
  /** Every this many seconds the daemon logs its pipeline stats (counts, time per stage, RSS) at info; 0: never. */
  statsIntervalS: z.number().int().min(0).max(86_400).default(60),
});

export const storeSchema = z.strictObject({
  /** SQLite file; by default <dataDir>/spectrad.db. */
  path: z.string().optional(),
  /** FULL survives power loss with WAL; NORMAL only survives process crashes (see docs/CONFIGURATION.md). */
  synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /** Results older than this many days are deleted (0 keeps everything). */
  retentionDays: z.number().int().min(0).default(0),
  /** How often retention runs again after the start, in minutes (the node's store and, on a site, PostgreSQL). */
  pruneIntervalMin: z.number().int().min(1).max(10_080).default(60),
});

/** Background retraining (daemon/retrain): a run fine-tunes the promoted model on the library's labelled spectra. */
export const retrainSchema = z.strictObject({
  /** Epoch budget of a run (POST /api/retrain may give its own). */
  epochs: positiveInt.max(200).default(3),
  /** Share of each class's labelled spectra held out to measure the candidate and the current model on. */
  holdOut: z.number().gt(0).lt(1).default(0.2),
  /** Peak learning rate; small, because a run starts from trained weights. */
  learningRate: z.number().positive().max(0.1).default(2e-4),
  seed: z.number().int().default(1),
  /** Promote the candidate at once when it is at least as good on the held-out spectra as the current model. */
  autoPromote: z.boolean().default(false),
  /** Start a run by itself once this many spectra have been labelled since the last run (0: only on demand). */
  afterLabels: z.number().int().min(0).default(0),
});

/** Who this daemon is among several on a site: its id goes into every result, alert, health answer and metric. */
export const nodeSchema = z.strictObject({
  /** Node id; by default the host name (sanitised to letters, digits, _ . -). Also --node-id, SPECTRAD_NODE_ID. */
  id: name.max(64).optional(),
});

/** Defaults for every MQTT connection of this daemon (inputs and outputs). */
export const mqttDefaultsSchema = z.strictObject({
  /**
   * Client id prefix: each MQTT adapter without its own clientId connects as `<clientId>-<adapter name>`. By default
   * `spectrad-<node id>`, so two daemons on one host (different node ids) never take over each other's session.
   * Also --mqtt-client-id, SPECTRAD_MQTT_CLIENT_ID.
   */
  clientId: z.string().min(1).max(200).optional(),
  /**
   * How long the broker keeps an MQTT input's persistent session (and the messages queued in it) while the daemon is
   * away; default 7 days. Also --mqtt-session-expiry, SPECTRAD_MQTT_SESSION_EXPIRY_SEC.
   */
  sessionExpirySec: z.number().int().min(0).max(4_294_967_295).default(7 * 24 * 3600),
});

/**
 * Several daemons as one site (docs/SCALE-OUT.md): with site.postgres.url they share the library, the model registry,
 * results, alerts and the write token through PostgreSQL; without it the daemon is a single node on its SQLite store.
 */
export const siteSchema = z.strictObject({
  postgres: z
    .strictObject({
      /** postgres://user:password@host:5432/database: a secret (never logged); also urlFile, SPECTRAD_SITE_URL(_FILE). */
      url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected a PostgreSQL URL such as postgres://user@host:5432/spectrad').optional(),
      urlFile: z.string().min(1).optional(),
      /** Also read the site's change log this often, in case a notification was lost. */
      pollMs: z.number().int().min(100).max(600_000).default(5000),
      /** Longest a start waits to catch up with the site before it identifies on its local state (the rest follows). */
      catchUpTimeoutS: z.number().int().min(1).max(3600).default(30),
      /**
       * How long the site keeps its bookkeeping keys: the work-queue spectra decided (a redelivery or a node's restart
       * comes within a few leases) and the enrollment Idempotency-Keys answered (a client's retry comes within minutes).
       */
      keysKeepHours: z.number().int().min(1).max(8760).default(24),
    })
    .prefault({}),
});

/** How the format readers treat files that break their format's rules. */
export const formatsSchema = z.strictObject({
  /**
   * false (default): a file that bends the JCAMP-DX standard where the meaning is clear is read and its result
   * carries warnings; true: such files are refused as the standard demands (the CLI's --strict).
   */
  strict: z.boolean().default(false),
});

export const configSchema = z.strictObject({
  node: nodeSchema.prefault({}),
  mqtt: mqttDefaultsSchema.prefault({}),
  /** Instrument name for inputs that do not name one. */
  instrument: name.default('default'),
  /** Folder for the store, the library and other state. */
  dataDir: z.string().min(1).default('./data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  inputs: z.array(inputSchema).default([]),
  outputs: z.array(outputSchema).default([]),
  http: httpSchema.prefault({}),
  model: modelSchema.prefault({}),
  library: librarySchema.prefault({}),
  preprocessing: preprocessingSchema.prefault({}),
  identification: identificationSchema.prefault({}),
  pipeline: pipelineSchema.prefault({}),
  store: storeSchema.prefault({}),
  retrain: retrainSchema.prefault({}),
  formats: formatsSchema.prefault({}),
  site: siteSchema.prefault({}),
}).superRefine((config, ctx) => {
  const seen = new Map<string, string>();
  const check = (list: ReadonlyArray<{ name: string }>, key: 'inputs' | 'outputs') =>
    list.forEach((item, i) => {
      const where = `${key}[${i}]`;
      const earlier = seen.get(item.name);
      if (earlier) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `name "${item.name}" is already used by ${earlier}; names must be unique` });
      else seen.set(item.name, where);
    });
  check(config.inputs, 'inputs');
  check(config.outputs, 'outputs');
});

export type SpectradConfig = z.output<typeof configSchema>;
export type InputConfig = SpectradConfig['inputs'][number];
export type OutputConfig = SpectradConfig['outputs'][number];
