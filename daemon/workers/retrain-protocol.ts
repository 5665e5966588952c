/** Labelled spectra as row-major rows on the model grid (the shape core/training takes). */
export interface LabelledRows {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly points: number;
}

/** What the main thread hands the retraining worker. */
export interface RetrainJob {
  /** Model directory whose weights the run starts from (the promoted model). */
  readonly baseDir: string;
  /** Where the candidate is saved (the registry's directory for the new version). */
  readonly outDir: string;
  /** Version written into the candidate's model card. */
  readonly cardVersion: string;
  readonly epochs: number;
  readonly lr: number;
  readonly seed: number;
  /** tfjs backend for the worker (the daemon's model.engine). */
  readonly backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu';
  /** Nice value of the training thread (Linux; default 10) so identification on the main thread comes first. */
  readonly niceness?: number;
  readonly train: LabelledRows;
  readonly val: LabelledRows;
}

export type MainToWorker = { readonly type: 'cancel' };

export type WorkerToMain =
  | { readonly type: 'before'; readonly accuracy: number }
  | { readonly type: 'epoch'; readonly epoch: number; readonly epochs: number; readonly loss: number; readonly valAccuracy?: number }
  | { readonly type: 'evaluating' }
  | { readonly type: 'cancelled' }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'done';
      readonly accuracyBefore: number;
      readonly accuracyAfter: number;
      readonly weightsSha256: string;
      readonly wallSeconds: number;
      readonly epochsRun: number;
    };
