import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine, tf } from '../../core/engine/index.ts';
import { embeddingDim } from '../../core/encoder/architectures.ts';
import { embedRows, loadModelDir, saveModelDir, MODEL_FORMAT } from '../../core/encoder/model-files.ts';
import { knnAccuracy, train } from '../../core/training/index.ts';
import type { RetrainJob, WorkerToMain, MainToWorker } from './retrain-protocol.ts';

// Runs in a worker_thread (loaded through worker-bootstrap.mjs): trains a candidate from the current model's weights
// on the library's labelled spectra while the daemon's main thread keeps identifying.
const job = (workerData as { job: RetrainJob }).job;
lowerThreadPriority();
const port = parentPort;
if (!port) throw new Error('retrain-worker runs only inside a worker_thread');
const send = (m: WorkerToMain): void => port.postMessage(m);
const abort = new AbortController();
port.on('message', (m: MainToWorker) => {
  if (m.type === 'cancel') abort.abort();
});

try {
  const engine = await initEngine({ backend: job.backend });
  const { model: base, card } = await loadModelDir(job.baseDir);
  const arch = card.architecture;
  const dim = embeddingDim(arch);
  const { train: tr, val } = job;
  // "Before": the promoted model on the same references and held-out spectra as the candidate will be measured on.
  const [trainEmb, valEmb] = [await embedRows(base, tr.x, tr.n, tr.points, dim), await embedRows(base, val.x, val.n, val.points, dim)];
  const accuracyBefore = knnAccuracy(trainEmb, tr.y, valEmb, val.y, 3);
  base.dispose();
  send({ type: 'before', accuracy: accuracyBefore });

  const classes = new Set(tr.y).size;
  const result = await train({
    train: tr,
    val,
    arch,
    epochs: job.epochs,
    batch: { p: Math.max(2, Math.min(32, classes)), k: 4 },
    lr: job.lr,
    warmupEpochs: 0,
    augment: false,
    seed: job.seed,
    initialWeights: job.baseDir,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.kind === 'epoch') {
        send({ type: 'epoch', epoch: p.record.epoch + 1, epochs: p.epochs, loss: p.record.loss, valAccuracy: p.record.valAccuracy });
      }
    },
  });
  if (result.stoppedBecause === 'aborted') {
    result.model.dispose();
    send({ type: 'cancelled' });
  } else {
    send({ type: 'evaluating' });
    const saved = await saveModelDir(
      result.model,
      {
        ...card,
        format: MODEL_FORMAT,
        version: job.cardVersion,
        createdAt: new Date().toISOString(),
        engine: { backend: engine.backend, tfjs: tf.version.tfjs },
        training: {
          description: `fine-tuned from ${card.version} on the daemon library (${tr.n} references, ${val.n} held out)`,
          dataset: 'library',
          classes: `${classes} library classes`,
          classCount: classes,
          samples: tr.n,
          dataSha256: result.trainData.sha256,
          seed: job.seed,
          epochs: result.epochsRun,
          batch: { p: Math.max(2, Math.min(32, classes)), k: 4 },
          learningRate: job.lr,
          mining: 'batch-all',
          loss: 'cosine-distance triplet, margin 1, mean over triplets with loss > 0.3 (Vorozhtsov & Kitina 2024)',
          augment: 'none',
          wallSeconds: Math.round(result.wallSeconds),
          stoppedBecause: result.stoppedBecause,
        },
        metrics: { k: 3, valKnnAccuracy: result.bestValAccuracy },
        weightsSha256: undefined,
      },
      job.outDir,
    );
    result.model.dispose();
    send({ type: 'done', accuracyBefore, accuracyAfter: result.bestValAccuracy, weightsSha256: saved.weightsSha256 ?? '', wallSeconds: result.wallSeconds, epochsRun: result.epochsRun });
  }
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}

/**
 * Training shares the machine with the daemon's main thread, which must keep identifying: on Linux a thread has its
 * own nice value, so this worker thread (where the wasm kernels run) drops to nice 10 and the main thread keeps its
 * priority. Best effort: elsewhere, or without /proc, the run goes on at normal priority.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, job.niceness ?? 10);
  } catch {
    // not Linux, or not permitted: normal priority
  }
}
