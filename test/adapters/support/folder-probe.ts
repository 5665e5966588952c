/**
 * Runs a folder input over one folder for a while and prints what became of each file, as JSON on stdout: run as
 * another (non-root) user by test/adapters/folder-nonroot.test.ts. Usage: node bin/run-ts.js THIS DIR [ms].
 */
import { FolderInput } from '../../../adapters/folder.ts';

const [dir, ms = '2000'] = process.argv.slice(2);
const got: Array<{ source: string; bytes: number }> = [];
const refused: Array<{ path: string; reason: string }> = [];
const input = new FolderInput({ name: 'probe', folders: [dir], stableMs: 100, pollMs: 30, rescanMs: 500, onRefused: (path, reason) => refused.push({ path, reason }) });
input.inputs$.subscribe((i) => {
  got.push({ source: i.source, bytes: i.payload.length });
  void i.ack();
});
await input.start();
await new Promise((r) => setTimeout(r, Number(ms)));
await input.stop();
process.stdout.write(JSON.stringify({ uid: process.getuid?.(), got, refused }) + '\n');
