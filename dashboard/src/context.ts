import type { Api } from './api.ts';
import type { SpectrumSource } from './spectra.ts';
import type { Store } from './store.ts';

/** What every view gets: the API, the live store, the spectrum cache, and navigation between views. */
export interface AppContext {
  readonly api: Api;
  readonly store: Store;
  readonly spectra: SpectrumSource;
  openSpectrum(id: string): void;
  /** Opens the labelling view with these results selected. */
  labelResults(ids: readonly string[]): void;
  navigate(hash: string): void;
}
