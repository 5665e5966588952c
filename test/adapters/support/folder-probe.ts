/**
 * Runs a folder input over one folder for a while and prints what became of each file, as JSON on stdout: run as
 * another (non-root) user by test/adapters/folder-nonroot.test.ts. Usage: node bin/run-ts.js THIS DIR [MS] [SECRET]:
 * with SECRET, each file is swapped for a symbolic link to SECRET in the ledger look-up, the last step before the read.
 */
import { symlinkSync, unlinkSync } from 'node:fs';
import { FolderInput } from '../../../adapters/folder.ts';

const [dir, ms = '2000', secret] = process.argv.slice(2);
const got: Array<{ source: string; bytes: number; payload: string; refused?: string }> = [];
const refused: Array<{ path: string; reason: string }> = [];
const swapped = new Set<string>();
const input = new FolderInput({
  name: 'probe',
  paths: [dir],
  stabilityMs: 100,
  pollMs: 30,
  rescanMs: 500,
  onRefused: (path, reason) => refused.push({ path, reason }),
  alreadyProcessed: (key) => {
    const path = key.slice('file:'.length, key.lastIndexOf(':', key.lastIndexOf(':') - 1));
    if (secret && !swapped.has(path)) {
      swapped.add(path);
      unlinkSync(path);
      symlinkSync(secret, path);
    }
    return false;
  },
});
input.inputs$.subscribe((i) => {
  got.push({ source: i.source, bytes: i.payload.length, payload: i.payload.toString('utf8'), ...(i.refused ? { refused: i.refused.code } : {}) });
  void i.ack();
});
await input.start();
await new Promise((r) => setTimeout(r, Number(ms)));
await input.stop();
process.stdout.write(JSON.stringify({ uid: process.getuid?.(), got, refused }) + '\n');
