#!/usr/bin/env node
// The sources are TypeScript; tsx compiles them on load (cached), so `npx spectrad` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../daemon/cli.ts');
