import type Database from 'better-sqlite3';

/**
 * At start, before the pipeline reads back its pending spectra: forgets the spectra of work-queue inputs that this
 * node had taken and not finished when it stopped (crash, kill). Their jobs were never acknowledged (a queue job is
 * acknowledged only after its result), so the queue still holds them and gives them, after their lease, to a live
 * node; identifying them here too would give every such spectrum a second result on the site. Their ledger key goes
 * with them, so a job redelivered to this very node is processed as new.
 *
 * Only inputs whose every spectrum is still pending are forgotten: one with a block already done or rejected (a
 * multi-spectrum file half identified) stays and is finished here, as before.
 *
 * Returns how many spectra were forgotten.
 */
export function abandonPendingOf(db: Database.Database, adapters: readonly string[]): number {
  if (adapters.length === 0) return 0;
  const pendingRows = db.prepare<string[], { dedup_key: string }>(
    `SELECT dedup_key FROM spectra WHERE state = 'pending' AND dedup_key IS NOT NULL AND adapter IN (${adapters.map(() => '?').join(', ')})`,
  );
  // Spectra of one input share the key `<ledger key>#<block>`: within [key#, key$) ('#' + 1 is '$'), those whose
  // rest is only digits (not `<key>#x#0`, another publisher key that starts the same).
  const oneInput = "dedup_key >= ? AND dedup_key < ? AND substr(dedup_key, ?) NOT GLOB '*[^0-9]*'";
  const others = db.prepare<[string, string, number], { n: number }>(`SELECT COUNT(*) AS n FROM spectra WHERE ${oneInput} AND state <> 'pending'`);
  const dropSpectra = db.prepare<[string, string, number]>(`DELETE FROM spectra WHERE ${oneInput} AND state = 'pending'`);
  const dropLedger = db.prepare('DELETE FROM file_ledger WHERE key = ?');
  return db.transaction(() => {
    const keys = new Set(pendingRows.all(...adapters).map((r) => r.dedup_key.replace(/#\d+$/, '')));
    let dropped = 0;
    for (const key of keys) {
      const [from, to] = [`${key}#`, `${key}$`];
      if (others.get(from, to, from.length + 1)!.n > 0) continue;
      dropped += dropSpectra.run(from, to, from.length + 1).changes;
      dropLedger.run(key);
    }
    return dropped;
  })();
}
