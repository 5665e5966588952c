import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { ModelRegistry, ModelVersion } from '../models/versions.ts';
import { appendChange } from './changes.ts';

/** Files of a model directory larger than this are not shared (a model is a few MB; anything bigger is not ours). */
const MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024;

type SharedEntry = Omit<ModelVersion, 'dir' | 'createdAt'>;

/**
 * Puts a model version of this node's registry on the site (its registry entry and every file of its directory:
 * model.json, weights, card) unless the site has it; idempotent. The first, shipped model (v1) is shared too, so a
 * rollback to it works on a node whose configured model differs.
 */
export async function publishModelVersion(client: pg.ClientBase, registry: ModelRegistry, version: string, node: string): Promise<boolean> {
  const entry = registry.get(version);
  if (!entry) throw new Error(`no model version ${version} in this node's registry`);
  const { dir, createdAt, ...shared } = entry;
  const made = await client.query('INSERT INTO site_models (version, model_version, entry, node, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
    version,
    entry.modelVersion ?? null,
    JSON.stringify(shared),
    node,
    createdAt,
  ]);
  if (made.rowCount === 0) return false;
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const st = statSync(file);
    if (!st.isFile() || st.size > MAX_MODEL_FILE_BYTES) continue;
    await client.query('INSERT INTO site_model_files (version, name, content) VALUES ($1, $2, $3)', [version, name, readFileSync(file)]);
  }
  await appendChange(client, { kind: 'model-added', version }, node);
  return true;
}

/** Records that `version` is the site's active model (promoted or rolled back to) and tells every node. */
export async function publishActivation(client: pg.ClientBase, version: string, how: 'promote' | 'rollback', node: string): Promise<boolean> {
  const { rows } = await client.query<{ value: string }>("SELECT value FROM site_settings WHERE key = 'active_model' FOR UPDATE");
  if (rows[0]?.value === version) return false;
  await client.query("INSERT INTO site_settings (key, value) VALUES ('active_model', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [version]);
  await appendChange(client, { kind: 'model-activated', version, how }, node);
  return true;
}

/**
 * Makes a site model version this node's: its files written into the registry's folder for it (through a temporary
 * folder renamed into place, so a crash never leaves half a model) and its entry added. Nothing when the registry
 * already has the version.
 */
export async function installSiteModel(db: pg.Pool | pg.ClientBase, registry: ModelRegistry, version: string): Promise<ModelVersion> {
  const have = registry.get(version);
  if (have) return have;
  const head = await db.query<{ entry: SharedEntry; created_at: string }>('SELECT entry, created_at FROM site_models WHERE version = $1', [version]);
  if (head.rows.length === 0) throw new Error(`the site has no model version ${version}`);
  const files = await db.query<{ name: string; content: Buffer }>('SELECT name, content FROM site_model_files WHERE version = $1', [version]);
  if (!files.rows.some((f) => f.name === 'model.json')) throw new Error(`site model version ${version} has no model.json`);
  const dir = registry.dirFor(version);
  const tmp = `${dir}.incoming`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of files.rows) {
    if (f.name.includes('/') || f.name.includes('\\') || f.name.startsWith('.')) continue;
    writeFileSync(path.join(tmp, f.name), f.content);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return registry.add({ ...head.rows[0].entry, version, dir });
}
