/**
 * The published message contract as zod schemas, mirroring core/messages.ts (the compile-time checks below fail the
 * type-check when the two drift apart), and the JSON Schema document generated from them: docs/RESULT-SCHEMA.json,
 * written by `npm run schema:messages`, is what MQTT and socket.io consumers validate against.
 */
import { z } from 'zod';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';

const className = z.string().min(1).describe('Library class (compound) name');
const unitScore = z.number().min(0).max(1);
const nodeId = z.string().min(1).describe('Node id of a spectrad daemon (node.id, --node-id, SPECTRAD_NODE_ID; default the host name)');

export const candidateSchema = z
  .object({
    class: className,
    score: unitScore.describe('Calibrated probability in [0, 1] that this class is the answer; candidates are sorted by it'),
    similarity: z.number().min(-1).max(1).optional().describe("Embedding similarity: cosine of the query to the class's nearest reference"),
    spectralMatch: z
      .number()
      .min(-1)
      .max(1)
      .optional()
      .describe("Spectral hit-quality index: Pearson correlation with the class's best reference after baseline removal and the technique's intensity transform (models on a physical grid)"),
  })
  .strict();

export const mixtureComponentSchema = z
  .object({
    class: className,
    score: unitScore,
    fraction: unitScore.describe('Estimated share of the spectrum; the fractions of a mixture sum to 1'),
  })
  .strict();

export const resultStatusSchema = z.enum(['identified', 'low-confidence', 'unknown', 'mixture', 'rejected']);

export const resultMessageSchema = z
  .object({
    id: z.string().min(1).describe('Stable, time-sortable id of the received spectrum; consumers de-duplicate by it'),
    instrument: z.string().min(1),
    source: z.string().describe('Where the spectrum came from: file path, MQTT topic, serial port'),
    receivedAt: z.iso.datetime({ offset: true }).describe('ISO 8601 time the daemon accepted the spectrum'),
    status: resultStatusSchema,
    class: className.optional().describe('The identified class (single compound)'),
    score: unitScore,
    candidates: z.array(candidateSchema).readonly(),
    components: z.array(mixtureComponentSchema).readonly().optional().describe('Mixture components (status mixture)'),
    unknownComponent: z.boolean().optional().describe('A mixture residual that no library class explains'),
    fitQuality: unitScore.optional().describe("Mixtures: share of the spectrum's signal its components explain"),
    decidedBy: z
      .enum(['embedding', 'peaks'])
      .optional()
      .describe("What decided the answer: the embedding's calibrated scores, or the peaks between a confusable pair"),
    predictionSet: z
      .array(className)
      .readonly()
      .optional()
      .describe('Conformal prediction set: the classes that hold the true one with probability coverage (one: confident; none: unknown)'),
    coverage: z.number().gt(0).lt(1).optional().describe("The prediction set's configured coverage"),
    error: z
      .object({ code: z.string().min(1), message: z.string() })
      .strict()
      .optional()
      .describe("Why the input was rejected (status 'rejected'): what, where, why"),
    warnings: z
      .array(
        z
          .object({ code: z.string().min(1), message: z.string(), line: z.number().int().optional(), field: z.string().optional() })
          .strict(),
      )
      .readonly()
      .optional()
      .describe('What the format reader tolerated in a file that bends its format rules (e.g. a bare ##END); absent for clean files'),
    latencyMs: z.number().min(0).describe('From arrival to result'),
    modelVersion: z.string().describe('Model card hash and version of the encoder'),
    node: nodeId.optional().describe('The daemon (node id) that identified the spectrum; absent in results recorded before node ids'),
  })
  .strict()
  .describe('Published on spectrad/<instrument>/result (MQTT, QoS 1) and as socket.io event "result"');

export const alertKindSchema = z.enum(['unknown', 'low-confidence', 'rejected', 'adapter-down', 'adapter-up', 'library-quarantine']);

export const alertMessageSchema = z
  .object({
    id: z.string().min(1),
    kind: alertKindSchema,
    instrument: z.string().min(1),
    at: z.iso.datetime({ offset: true }),
    message: z.string(),
    resultId: z.string().min(1).optional().describe('The result the alert is about, when there is one'),
    node: nodeId.optional().describe('The daemon (node id) that raised the alert'),
  })
  .strict()
  .describe('Published on spectrad/<instrument>/alert (MQTT, QoS 1) and as socket.io event "alert"');

export const adapterStateSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(['folder', 'serial', 'mqtt-in', 'queue-in', 'mqtt-out', 'influx', 'socketio', 'store']),
    state: z.enum(['starting', 'up', 'down', 'stopped']),
    detail: z.string().optional(),
    since: z.iso.datetime({ offset: true }),
  })
  .strict()
  .describe('Retained on spectrad/bridge/<node>/adapters/<name> (MQTT) and socket.io event "adapter-state"');

export const bridgeStateSchema = z
  .object({ state: z.enum(['online', 'offline']), at: z.iso.datetime({ offset: true }).optional(), node: nodeId.optional() })
  .strict()
  .describe("Retained on spectrad/bridge/<node>/state; 'offline' is also the MQTT last will");

// Compile-time mirror checks: each direction must be assignable, or tsc fails here.
type Mirror<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const mirrors: [
  Mirror<z.infer<typeof resultMessageSchema>, ResultMessage>,
  Mirror<z.infer<typeof alertMessageSchema>, AlertMessage>,
  Mirror<z.infer<typeof adapterStateSchema>, AdapterState>,
] = [true, true, true];
void mirrors;

/** The JSON Schema (draft 2020-12) document for every message spectrad publishes. */
export function buildMessageJsonSchema(): Record<string, unknown> {
  const def = (schema: z.ZodType) => {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<string, unknown>;
    return rest;
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'spectrad published messages',
    description:
      'Messages spectrad publishes on MQTT (topics spectrad/<instrument>/result, spectrad/<instrument>/alert, ' +
      'spectrad/bridge/<node>/state, spectrad/bridge/<node>/adapters/<name>) and socket.io (events result, alert, adapter-state). ' +
      'Generated from adapters/message-schema.ts by `npm run schema:messages`; do not edit by hand.',
    $defs: {
      ResultMessage: def(resultMessageSchema),
      AlertMessage: def(alertMessageSchema),
      AdapterState: def(adapterStateSchema),
      BridgeState: def(bridgeStateSchema),
    },
    anyOf: ['ResultMessage', 'AlertMessage', 'AdapterState', 'BridgeState'].map((n) => ({ $ref: `#/$defs/${n}` })),
  };
}

export function messageJsonSchemaText(): string {
  return JSON.stringify(buildMessageJsonSchema(), null, 2) + '\n';
}
