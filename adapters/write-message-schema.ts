/** Writes docs/RESULT-SCHEMA.json from adapters/message-schema.ts (`npm run schema:messages`). */
import { writeFileSync } from 'node:fs';
import { messageJsonSchemaText } from './message-schema.ts';

const target = new URL('../docs/RESULT-SCHEMA.json', import.meta.url);
writeFileSync(target, messageJsonSchemaText());
console.log(`wrote ${target.pathname}`);
