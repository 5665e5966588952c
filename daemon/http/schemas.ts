/**
 * JSON Schemas of what the API (and the MQTT and socket.io outputs) carry. They feed /api/openapi.json, and the
 * request ones validate input too, so the document cannot drift from what the server accepts.
 */

import { RESULT_SORTS } from '../store/store.ts';

const statusEnum = ['identified', 'low-confidence', 'unknown', 'mixture', 'rejected'];

export const candidateSchema = {
  type: 'object',
  required: ['class', 'score'],
  properties: {
    class: { type: 'string' },
    score: { type: 'number', minimum: 0, maximum: 1, description: 'calibrated probability that this class is the answer; candidates are sorted by it' },
    similarity: { type: 'number', description: "embedding similarity: cosine of the query to the class's nearest reference" },
    spectralMatch: { type: 'number', minimum: -1, maximum: 1, description: "spectral match (hit-quality index) of the spectrum against the class's references" },
  },
} as const;

export const componentSchema = {
  type: 'object',
  required: ['class', 'score', 'fraction'],
  properties: {
    class: { type: 'string' },
    score: { type: 'number', minimum: 0, maximum: 1 },
    fraction: { type: 'number', minimum: 0, maximum: 1, description: 'estimated share; the fractions sum to 1' },
  },
} as const;

/** What an answer carries beside its class and score (core/identify/types.ts Identification). */
const evidenceProperties = {
  fitQuality: { type: 'number', minimum: 0, maximum: 1, description: "share of the spectrum's signal the named class, or a mixture's components, explain (an unknown answer: its closest class or partial fit)" },
  decidedBy: { type: 'string', enum: ['embedding', 'peaks'], description: "what decided the answer: the embedding's calibrated scores, or the peaks between a confusable pair" },
  predictionSet: {
    type: 'array',
    items: { type: 'string' },
    description: 'conformal prediction set: the classes that hold the true one with probability coverage (one: confident; several: the alternatives; none: unknown). An identified answer\'s class is always in it, an unknown answer\'s set is empty',
  },
  coverage: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: "the prediction set's configured coverage" },
} as const;

export const errorInfoSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string', description: 'what, where, why' } },
} as const;

export const resultMessageSchema = {
  $id: 'ResultMessage',
  type: 'object',
  description: 'One identified (or rejected) spectrum, as published on MQTT `spectrad/<instrument>/result`, socket.io `result` and the API.',
  required: ['id', 'instrument', 'source', 'receivedAt', 'status', 'score', 'candidates', 'latencyMs', 'modelVersion'],
  properties: {
    id: { type: 'string', description: 'ULID of the received spectrum (time-sortable); consumers de-duplicate by it' },
    instrument: { type: 'string' },
    source: { type: 'string', description: 'file path, MQTT topic or serial port' },
    receivedAt: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: statusEnum },
    class: { type: 'string', description: 'the identified class (single compound)' },
    score: { type: 'number', minimum: 0, maximum: 1 },
    candidates: { type: 'array', items: candidateSchema },
    components: { type: 'array', items: componentSchema, description: 'mixture components, when status is mixture' },
    unknownComponent: { type: 'boolean', description: 'a mixture leaves a residual no library class explains' },
    ...evidenceProperties,
    error: { ...errorInfoSchema, description: 'why the input was rejected' },
    warnings: {
      type: 'array',
      description: 'what the format reader tolerated in a file that bends its format rules (absent for clean files)',
      items: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, line: { type: 'integer' }, field: { type: 'string' } } },
    },
    latencyMs: { type: 'number', description: 'arrival to result' },
    modelVersion: { type: 'string' },
    node: { type: 'string', description: 'the daemon (node id) that identified it' },
    label: {
      type: 'object',
      description: 'API only (never published): the class an operator labelled the spectrum as afterwards; status, class and score stay what the model said',
      required: ['class', 'at', 'enrollmentId'],
      properties: {
        class: { type: 'string' },
        at: { type: 'string', format: 'date-time' },
        by: { type: 'string', description: 'the name the operator gave, if any' },
        enrollmentId: { type: 'string', description: 'DELETE /api/enrollments/:id removes the label again' },
      },
    },
  },
} as const;

export const alertMessageSchema = {
  $id: 'AlertMessage',
  type: 'object',
  required: ['id', 'kind', 'instrument', 'at', 'message'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['unknown', 'low-confidence', 'rejected', 'adapter-down', 'adapter-up', 'library-quarantine'] },
    instrument: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    message: { type: 'string' },
    resultId: { type: 'string' },
    node: { type: 'string', description: 'the daemon (node id) that raised it' },
    acknowledgedAt: { type: 'string', format: 'date-time' },
    note: { type: 'string', description: "why it was closed when not by hand, e.g. 'labelled as caffeine'" },
  },
} as const;

export const adapterStateSchema = {
  type: 'object',
  required: ['name', 'kind', 'state', 'since'],
  properties: {
    name: { type: 'string' },
    kind: { type: 'string', enum: ['folder', 'serial', 'mqtt-in', 'queue-in', 'mqtt-out', 'influx', 'socketio', 'store'] },
    state: { type: 'string', enum: ['starting', 'up', 'down', 'stopped'] },
    detail: { type: 'string' },
    since: { type: 'string', format: 'date-time' },
  },
} as const;

export const healthSchema = {
  type: 'object',
  required: ['status', 'ready', 'adapters', 'queueDepth', 'queueBound'],
  properties: {
    node: { type: 'string', description: "the daemon's node id" },
    status: { type: 'string', enum: ['ok', 'starting', 'stopping', 'degraded'] },
    ready: { type: 'boolean' },
    modelVersion: { type: 'string' },
    inference: { type: 'string', enum: ['onnx', 'tfjs'], description: 'the inference engine the current model runs on (a promotion or rollback chooses again)' },
    uptimeS: { type: 'number' },
    adapters: { type: 'array', items: adapterStateSchema },
    queueDepth: { type: 'integer', description: 'spectra waiting for the encoder, in memory and spilled to the store' },
    queueBound: { type: 'integer' },
    queues: { type: 'object', additionalProperties: { type: 'integer' }, description: 'depth per pipeline stage' },
    outbox: { type: 'object', additionalProperties: { type: 'integer' }, description: 'messages waiting per output' },
    counts: { type: 'object', additionalProperties: { type: 'integer' } },
    library: { type: 'object', properties: { classes: { type: 'integer' }, references: { type: 'integer' } } },
    site: {
      type: 'object',
      description: 'only on a site (site.postgres.url): the last site revision this node applied, whether it listens for changes, its changes PostgreSQL has not taken yet',
      properties: { revision: { type: 'integer' }, listening: { type: 'boolean' }, unpublished: { type: 'integer' } },
    },
  },
} as const;

const curveSchema = {
  type: 'object',
  required: ['y'],
  properties: {
    x: { type: 'array', items: { type: 'number' } },
    y: { type: 'array', items: { type: 'number' } },
    xUnit: { type: 'string' },
    yUnit: { type: 'string' },
    meta: { type: 'object' },
  },
} as const;

export const spectrumRecordSchema = {
  type: 'object',
  required: ['id', 'receivedAt', 'instrument', 'source', 'state'],
  properties: {
    id: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    instrument: { type: 'string' },
    adapter: { type: 'string' },
    source: { type: 'string' },
    formatHint: { type: 'string' },
    block: { type: 'integer' },
    title: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'done', 'rejected'] },
    payload: {
      type: 'object',
      description: 'the input exactly as received',
      properties: { encoding: { type: 'string', enum: ['utf8', 'base64'] }, data: { type: 'string' }, bytes: { type: 'integer' } },
    },
    raw: { ...curveSchema, description: 'the input read back as a curve' },
    preprocessed: { ...curveSchema, description: "on the model grid, max |y| = 1; xUnit is the grid's unit (index, cm-1, ...)" },
    result: { $ref: '#/components/schemas/ResultMessage' },
    reference: { ...curveSchema, description: "the identified class's mean reference on the model grid" },
    hits: {
      type: 'array',
      description: "the first candidates' library spectra (at most 3): for each, the class's reference nearest to the query (Pearson), max |y| = 1, on the preprocessed x",
      items: {
        type: 'object',
        required: ['rank', 'class', 'score', 'correlation', 'references', 'y'],
        properties: {
          rank: { type: 'integer', minimum: 1 },
          class: { type: 'string' },
          score: { type: 'number', description: "the candidate's calibrated confidence" },
          correlation: { type: 'number', minimum: -1, maximum: 1, description: 'Pearson correlation of the query with this reference' },
          references: { type: 'integer', description: 'references of the class (the nearest is given)' },
          y: { type: 'array', items: { type: 'number' } },
        },
      },
    },
  },
} as const;

export const classInfoSchema = {
  type: 'object',
  required: ['name', 'references'],
  properties: {
    name: { type: 'string' },
    references: { type: 'integer' },
    source: { type: 'string', description: 'demo, api or import' },
    enrolledAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: { error: errorInfoSchema },
} as const;

export const resultsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    instrument: { type: 'string' },
    class: { type: 'string', description: 'the class the model named or an operator labelled' },
    labelled: { type: 'string', enum: ['yes', 'no'], description: 'only spectra an operator labelled (yes) or not (no)' },
    status: { type: 'string', pattern: `^(${statusEnum.join('|')})(,(${statusEnum.join('|')}))*$`, description: 'one status or several, comma-separated' },
    q: { type: 'string', maxLength: 200, description: 'text in the id, source or error message' },
    from: { type: 'string', format: 'date-time', description: 'received at or after' },
    to: { type: 'string', format: 'date-time', description: 'received before' },
    cursor: { type: 'string', description: 'nextCursor of the previous page (newest-first order only)' },
    offset: { type: 'integer', minimum: 0, description: 'rows to skip: pages in any order' },
    sort: { type: 'string', enum: [...RESULT_SORTS], default: '-time', description: "order: time, score, latency, instrument, status or class; '-' first for descending" },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

/** GET /api/results/export: the same filter and order as a page, every matching row, streamed as CSV, a JSON array or JCAMP-DX. */
export const resultsExportQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...Object.fromEntries(Object.entries(resultsQuerySchema.properties).filter(([k]) => !['cursor', 'offset', 'limit'].includes(k))),
    format: { type: 'string', enum: ['csv', 'json', 'jcamp'], default: 'csv', description: 'jcamp: one JCAMP-DX block per spectrum (rejected files have none)' },
    curve: { type: 'string', enum: ['preprocessed', 'raw'], default: 'preprocessed', description: 'jcamp only: the model input on the daemon grid, or the file as read' },
  },
} as const;

const alertKindEnum = ['unknown', 'low-confidence', 'rejected', 'adapter-down', 'adapter-up'];

export const alertsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['open', 'all'], default: 'all', description: 'open: not acknowledged (adapter-up notices are never open)' },
    instrument: { type: 'string', maxLength: 200 },
    kind: { type: 'string', enum: alertKindEnum },
    cursor: { type: 'string', maxLength: 100, description: 'nextCursor of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

export const alertCountsSchema = {
  type: 'object',
  required: ['total', 'open', 'openByInstrument', 'openByKind'],
  properties: {
    total: { type: 'integer', description: 'every stored alert' },
    open: { type: 'integer', description: 'not acknowledged' },
    openByInstrument: { type: 'object', additionalProperties: { type: 'integer' } },
    openByKind: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

export const alertsPageSchema = {
  type: 'object',
  required: ['items', 'counts'],
  properties: {
    items: { type: 'array', items: { $ref: '#/components/schemas/AlertMessage' } },
    nextCursor: { type: 'string' },
    counts: alertCountsSchema,
  },
} as const;

export const alertsAckBodySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'which open alerts to acknowledge: ids, or a filter (instrument, kind, upTo); at least one field',
  minProperties: 1,
  properties: {
    ids: { type: 'array', items: { type: 'string', maxLength: 100 }, minItems: 1, maxItems: 10000 },
    instrument: { type: 'string', maxLength: 200 },
    kind: { type: 'string', enum: alertKindEnum },
    upTo: { type: 'string', maxLength: 100, description: 'only alerts up to this id (the newest one the operator saw): later ones stay open' },
    all: { type: 'boolean', description: 'true: every open alert (with no other field)' },
  },
} as const;

export const alertsAckAnswerSchema = {
  type: 'object',
  required: ['acknowledged', 'ids', 'acknowledgedAt'],
  properties: {
    acknowledged: { type: 'integer' },
    ids: { type: 'array', items: { type: 'string' } },
    acknowledgedAt: { type: 'string', format: 'date-time' },
    counts: alertCountsSchema,
  },
} as const;

export const enrollBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'not only white space (checked by the library rule, core/identify/knn/library.ts validateClassName: 422)' },
    by: { type: 'string', maxLength: 100, description: 'who labels (shown with the label in History)' },
    allOrNothing: { type: 'boolean', description: 'refuse the whole request when any file cannot be read (default: enroll the good files, 207 with the refused ones)' },
    spectrumIds: { type: 'array', items: { type: 'string' }, maxItems: 1000, description: 'received spectra to enroll' },
    files: {
      type: 'array',
      maxItems: 100,
      description: 'spectrum files as text (JCAMP-DX, CSV, JSON)',
      items: { type: 'object', required: ['content'], additionalProperties: false, properties: { name: { type: 'string' }, content: { type: 'string' } } },
    },
  },
} as const;

export const enrollAnswerSchema = {
  type: 'object',
  properties: {
    class: { type: 'string' },
    created: { type: 'boolean' },
    added: { type: 'integer' },
    enrollmentId: { type: 'string', description: 'DELETE /api/enrollments/:id undoes it' },
    replayed: { type: 'boolean', description: 'true: the answer of an earlier request with the same Idempotency-Key; nothing was added now' },
    refused: {
      type: 'array',
      description: 'uploaded files that were not enrolled, each with its reason (HTTP 207: the others were)',
      items: { type: 'object', properties: { file: { type: 'string' }, block: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

export const uploadAnswerSchema = {
  type: 'object',
  required: ['block', 'status', 'score', 'candidates', 'modelVersion'],
  properties: {
    block: { type: 'integer' },
    status: { type: 'string', enum: statusEnum },
    class: { type: 'string' },
    score: { type: 'number' },
    candidates: { type: 'array', items: candidateSchema },
    components: { type: 'array', items: componentSchema },
    unknownComponent: { type: 'boolean' },
    ...evidenceProperties,
    error: errorInfoSchema,
    modelVersion: { type: 'string' },
  },
} as const;

const metricsSchema = {
  type: 'object',
  additionalProperties: { type: 'number' },
  description: 'accuracy: held-out kNN (k = 3) accuracy; accuracyBefore: the base model on the same held-out spectra',
} as const;

export const modelVersionSchema = {
  type: 'object',
  required: ['version', 'createdAt', 'active', 'metrics'],
  properties: {
    version: { type: 'string', description: 'registry version, v1 (the shipped model), v2, ...' },
    createdAt: { type: 'string', format: 'date-time' },
    active: { type: 'boolean', description: 'the promoted version, the one identifying now' },
    modelVersion: { type: 'string', description: 'what result messages carry as modelVersion' },
    baseVersion: { type: 'string', description: 'the version it was fine-tuned from' },
    metrics: metricsSchema,
  },
} as const;

export const retrainStatusSchema = {
  type: 'object',
  required: ['state', 'versions'],
  properties: {
    state: { type: 'string', enum: ['idle', 'training', 'evaluating', 'promoted', 'kept', 'failed', 'cancelled'] },
    progress: { type: 'number', minimum: 0, maximum: 1 },
    epoch: { type: 'integer' },
    epochs: { type: 'integer' },
    loss: { type: 'number', description: "mean triplet loss of the last epoch" },
    message: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    candidate: { type: 'string', description: 'version the run saves its model as' },
    before: { type: 'object', properties: { modelVersion: { type: 'string' }, metrics: metricsSchema } },
    after: { type: 'object', properties: { modelVersion: { type: 'string' }, metrics: metricsSchema } },
    activeVersion: { type: 'string' },
    inference: {
      type: 'object',
      description: 'the inference engine the active model runs on, and why (model.inference: auto|tfjs|onnx)',
      properties: { engine: { type: 'string', enum: ['onnx', 'tfjs'] }, reason: { type: 'string' }, maxDifference: { type: 'number' } },
    },
    versions: { type: 'array', items: modelVersionSchema },
    labelsSinceLast: { type: 'integer', description: 'spectra labelled since the last run started' },
    rollbackTo: { type: 'string', description: 'the version a rollback returns to; absent when there is none' },
    threshold: { type: 'integer', description: 'labels that start a run by itself (retrain.afterLabels); absent when runs start only on demand' },
  },
} as const;

export const retrainBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    epochs: { type: 'integer', minimum: 1, maximum: 200, description: 'epoch budget (default 3)' },
    holdOut: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: "share of each class's labelled spectra held out (default 0.2)" },
  },
} as const;

export const modelSwitchSchema = {
  type: 'object',
  required: ['version', 'modelVersion'],
  properties: {
    version: { type: 'string' },
    modelVersion: { type: 'string' },
    decision: { type: 'object', properties: { promote: { type: 'boolean' }, candidate: { type: 'number' }, current: { type: ['number', 'null'] }, forced: { type: 'boolean' } } },
  },
} as const;

export const instrumentHealthSchema = {
  type: 'object',
  required: ['name', 'ratePerMin', 'counts', 'adapters', 'state'],
  properties: {
    name: { type: 'string' },
    lastSpectrumAt: { type: 'string', format: 'date-time' },
    ratePerMin: { type: 'number', description: 'spectra identified in the last minute' },
    counts: {
      type: 'object',
      description: 'since the daemon started',
      properties: Object.fromEntries(['results', 'identified', 'unknown', 'lowConfidence', 'mixture', 'rejected'].map((k) => [k, { type: 'integer' }])),
    },
    adapters: { type: 'array', items: adapterStateSchema },
    state: { type: 'string', enum: ['up', 'down', 'idle'], description: 'down when an input feeding it is down' },
  },
} as const;

export const trendsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    minutes: { type: 'integer', minimum: 1, maximum: 1440, default: 60, description: 'the window, ending now' },
    bucketS: { type: 'integer', minimum: 10, maximum: 3600, default: 60, description: 'seconds per bucket' },
  },
} as const;

export const trendsSchema = {
  type: 'object',
  required: ['from', 'bucketS', 'items'],
  properties: {
    from: { type: 'string', format: 'date-time' },
    bucketS: { type: 'integer' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['instrument', 'buckets'],
        properties: {
          instrument: { type: 'string' },
          buckets: {
            type: 'array',
            items: {
              type: 'object',
              required: ['at', 'n', 'status'],
              properties: {
                at: { type: 'string', format: 'date-time' },
                n: { type: 'integer', description: 'results in the bucket' },
                status: { type: 'object', additionalProperties: { type: 'integer' }, description: 'results per status' },
                p50Ms: { type: 'number' },
                p95Ms: { type: 'number' },
                meanScore: { type: 'number', description: 'mean score of the answers (rejected input left out)' },
              },
            },
          },
        },
      },
    },
  },
} as const;
