/**
 * Deterministic class folds for "never seen in training" evaluation on real corpora: a class (mineral) belongs to
 * fold `classFold(name, folds)` by a hash of its name, so a model trained without fold k and a benchmark that
 * queries fold k agree on the split without sharing a file list, and adding classes to a corpus moves none.
 */

/** FNV-1a (32-bit) of the UTF-8 bytes of a string. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The fold (0 .. folds-1) of a class name. */
export function classFold(className: string, folds = 5): number {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer >= 2, got ${folds}`);
  return fnv1a32(className) % folds;
}

/** True when the class is held out of training in fold `heldOut` of `folds`. */
export function isHeldOut(className: string, heldOut: number, folds = 5): boolean {
  return classFold(className, folds) === heldOut;
}
