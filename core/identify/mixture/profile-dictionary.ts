/**
 * The read-only view of per-class reference profiles that class templates (mixture-templates.ts) are built from and
 * containment is scored against. ReferenceProfiles (mixture-spectral.ts) is the one implementation; the templates
 * depend on this view instead of on that class because ReferenceProfiles builds and caches its own templates, so
 * naming it here would make the two modules import each other.
 */

export interface ProfileSpec {
  /** Points summed per bin. */
  readonly pool: number;
  /** Gaussian blur over bins (sigma in bins). */
  readonly sigma: number;
}

export interface ProfileDictionary {
  readonly spec: ProfileSpec;
  /** Bins per profile. */
  readonly dim: number;
  readonly classCount: number;
  /** Reference profiles of class index c, row-major [references, dim]. */
  referencesOf(c: number): Float32Array;
  /** Unit-norm mean profile per class, row-major [classes, dim]. */
  unitMeans(): Float32Array;
}
