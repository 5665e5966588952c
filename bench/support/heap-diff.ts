/**
 * What grew between two V8 heap snapshots (e.g. from `npm run bench:soak -- --snapshots DIR`): objects grouped by
 * type and constructor name, count and self size in each, largest growth first.
 * Usage: node bin/run-ts.js bench/support/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [TOP]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

type Groups = Map<string, { count: number; bytes: number }>;

function groups(file: string): Groups {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out: Groups = new Map();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]];
    // Strings and code are grouped by type only: their names are their contents.
    const name = type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + nameAt]] : '';
    const key = `${type}${name ? ` ${name.slice(0, 80)}` : ''}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += s.nodes[i + sizeAt];
    out.set(key, g);
  }
  return out;
}

const [before, after, topArg] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [TOP]');
  process.exit(2);
}
const a = groups(before);
const b = groups(after);
const rows = [...new Set([...a.keys(), ...b.keys()])].map((k) => {
  const x = a.get(k) ?? { count: 0, bytes: 0 };
  const y = b.get(k) ?? { count: 0, bytes: 0 };
  return { k, dCount: y.count - x.count, dBytes: y.bytes - x.bytes, count: y.count, bytes: y.bytes };
});
const total = (g: Groups) => [...g.values()].reduce((t, v) => t + v.bytes, 0);
console.log(`self size: ${(total(a) / 1048576).toFixed(1)} MB -> ${(total(b) / 1048576).toFixed(1)} MB`);
console.log(['growth KB'.padStart(10), 'count +'.padStart(9), 'now KB'.padStart(9), 'count'.padStart(8), ' type / constructor'].join(' '));
for (const r of rows.sort((p, q) => q.dBytes - p.dBytes).slice(0, Number(topArg ?? 30))) {
  console.log([(r.dBytes / 1024).toFixed(1).padStart(10), String(r.dCount).padStart(9), (r.bytes / 1024).toFixed(0).padStart(9), String(r.count).padStart(8), ` ${r.k}`].join(' '));
}
