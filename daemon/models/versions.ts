import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SpectrumInputError } from '../../core/errors.ts';

/** One trained model directory under <dataDir>/models/<version>, with its held-out kNN accuracy. */
export interface ModelVersion {
  readonly version: string;
  readonly dir: string;
  readonly createdAt: string;
  /** Held-out kNN accuracy of the model that was promoted when this one was trained (null for the first model). */
  readonly accuracyBefore: number | null;
  readonly accuracyAfter: number;
  /** The encoder's version string (card version @ weights hash), what result messages carry as modelVersion. */
  readonly modelVersion?: string;
  /** The version this one was fine-tuned from; its accuracyBefore was measured on the same held-out spectra. */
  readonly baseVersion?: string;
  /** Held-out spectra and training references of the run that made it. */
  readonly heldOut?: number;
  readonly references?: number;
  readonly epochs?: number;
}

interface RegistryFile {
  versions: ModelVersion[];
  /** Promotion history, newest last; the current model is the last entry. Rollback pops it. */
  promoted: string[];
}

export interface PromotionDecision {
  readonly promote: boolean;
  readonly candidate: number;
  readonly current: number | null;
  readonly forced: boolean;
}

/** Promote only when the candidate is at least as good on the held-out set, or when the operator forces it. */
export function decidePromotion(candidate: number, current: number | null, force = false): PromotionDecision {
  const promote = force || current === null || candidate >= current;
  return { promote, candidate, current, forced: force };
}

/**
 * The list of model versions and which one is promoted, kept in one JSON file written by rename so that a crash
 * never leaves a half-written registry (the daemon reads it at start to pick its encoder).
 */
export class ModelRegistry {
  private readonly file: string;
  private state: RegistryFile;

  constructor(readonly modelsDir: string) {
    mkdirSync(modelsDir, { recursive: true });
    this.file = join(modelsDir, 'registry.json');
    this.state = existsSync(this.file)
      ? (JSON.parse(readFileSync(this.file, 'utf8')) as RegistryFile)
      : { versions: [], promoted: [] };
  }

  list(): readonly ModelVersion[] {
    return this.state.versions;
  }

  current(): ModelVersion | undefined {
    const v = this.state.promoted.at(-1);
    return v === undefined ? undefined : this.get(v);
  }

  get(version: string): ModelVersion | undefined {
    return this.state.versions.find((m) => m.version === version);
  }

  /** Next free version name, v1, v2, ...; the directory to save the candidate into is dirFor(version). */
  nextVersion(): string {
    return `v${this.state.versions.length + 1}`;
  }

  dirFor(version: string): string {
    return join(this.modelsDir, version);
  }

  /** Records a version; `dir` defaults to dirFor(version) (the first, shipped model stays where the config names it). */
  add(entry: Omit<ModelVersion, 'dir' | 'createdAt'> & { dir?: string }, now = new Date()): ModelVersion {
    if (this.get(entry.version)) {
      throw new SpectrumInputError('model-version-exists', `model version ${entry.version} already exists`);
    }
    const full: ModelVersion = { ...entry, dir: entry.dir ?? this.dirFor(entry.version), createdAt: now.toISOString() };
    this.state.versions.push(full);
    this.save();
    return full;
  }

  /**
   * Whether version may be promoted: at least as good as the current model, or forced. A candidate fine-tuned from
   * the current model is compared with that model's accuracy on the same held-out spectra (its accuracyBefore);
   * otherwise the two versions' own held-out accuracies are compared.
   */
  decide(version: string, force = false): PromotionDecision {
    const candidate = this.get(version);
    if (!candidate) throw new SpectrumInputError('model-version-unknown', `no model version ${version}`);
    const current = this.current();
    const baseline = current && candidate.baseVersion === current.version && candidate.accuracyBefore !== null ? candidate.accuracyBefore : (current?.accuracyAfter ?? null);
    return decidePromotion(candidate.accuracyAfter, current?.version === version ? null : baseline, force);
  }

  /** Marks version as promoted unless it is worse than the current one and not forced; returns both numbers. */
  promote(version: string, force = false): PromotionDecision {
    const decision = this.decide(version, force);
    if (decision.promote) {
      this.state.promoted.push(version);
      this.save();
    }
    return decision;
  }

  /** The version a rollback would return to. */
  previous(): ModelVersion | undefined {
    const v = this.state.promoted.at(-2);
    return v === undefined ? undefined : this.get(v);
  }

  /** Back to the previously promoted version; refused when there is none to go back to. */
  rollback(): ModelVersion {
    if (this.state.promoted.length < 2) {
      throw new SpectrumInputError('model-no-previous', 'no previously promoted model version to roll back to');
    }
    this.state.promoted.pop();
    this.save();
    return this.current() as ModelVersion;
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    renameSync(tmp, this.file);
  }
}
