/** Validators built from the committed docs/RESULT-SCHEMA.json itself, as an outside consumer would build them. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const messageSchemaDoc = new URL('../../docs/RESULT-SCHEMA.json', import.meta.url);

export function validatorsFromDoc() {
  const doc = JSON.parse(readFileSync(messageSchemaDoc, 'utf8')) as { $defs: Record<string, Parameters<typeof z.fromJSONSchema>[0]> };
  const of = (name: string) => z.fromJSONSchema(doc.$defs[name]);
  return { result: of('ResultMessage'), alert: of('AlertMessage'), adapterState: of('AdapterState'), bridgeState: of('BridgeState') };
}
