import type Database from 'better-sqlite3';
import type { PipelineStore } from '../../pipelines/ports.ts';
import { AlertStore } from './alerts.ts';
import { openDatabase, type StoreOptions } from './connection.ts';
import { EnrollmentStore } from './enrollments.ts';
import { IngestStore } from './ingest.ts';
import { OutboxQueue } from './outbox-queue.ts';
import { ClassStore } from './classes.ts';
import { ResultStore } from './results.ts';

export type { AlertCounts, AlertFilter, StoredAlert } from './alerts.ts';
export { fromBlob, toBlob, type StoreOptions } from './connection.ts';
export type { EnrollmentRecord, LabelChange } from './enrollments.ts';
export type { OutboxRow } from './outbox-queue.ts';
export type { ClassSummary, NewReference, QuarantinedClass, ReferenceRow } from './classes.ts';
export type { InstrumentTrend, LabelledResult, ResultFilter, ResultLabel, ResultSort, StoredSpectrum, TrendBucket } from './results.ts';
export { RESULT_SORTS } from './results.ts';

/**
 * The daemon's durable state in one SQLite file (better-sqlite3, WAL): received spectra (raw and preprocessed),
 * results, library classes and references, alerts, the input ledger and the per-output outbox. One connection and
 * its transactions are shared by one module per job:
 * - `ingest` (ingest.ts): what the pipeline writes (PipelineStore): ledger, spectra, results and their alerts;
 * - `outbox` (outbox-queue.ts): the per-output copies of results and alerts, taken and deleted by the dispatchers;
 * - `alerts` (alerts.ts): adapter alerts, paging, counts, acknowledgement;
 * - `results` (results.ts): spectra and results as the API reads them, trends, counts, retention (prune);
 * - `classes` (classes.ts): library classes and references, embeddings, quarantine;
 * - `enrollments` (enrollments.ts): enrollment with its labels and idempotency keys, undo, label listeners.
 * Synchronous by design: a call returns once its transaction is committed, which is what lets the pipeline
 * acknowledge an input only after it is safe. The methods below each delegate to one module, for existing callers.
 */
export class Store implements PipelineStore {
  readonly db: Database.Database;
  readonly outbox: OutboxQueue;
  readonly alerts: AlertStore;
  readonly ingest: IngestStore;
  readonly results: ResultStore;
  readonly classes: ClassStore;
  readonly enrollments: EnrollmentStore;

  constructor(file: string, options: StoreOptions = {}) {
    this.db = openDatabase(file, options);
    this.outbox = new OutboxQueue(this.db, options.outputs);
    this.alerts = new AlertStore(this.db, this.outbox);
    this.ingest = new IngestStore(this.db, this.alerts, this.outbox);
    this.results = new ResultStore(this.db);
    this.classes = new ClassStore(this.db);
    this.enrollments = new EnrollmentStore(this.db);
  }

  // ingest
  readonly ledgerOutcome: IngestStore['ledgerOutcome'] = (...a) => this.ingest.ledgerOutcome(...a);
  readonly commitIngest: IngestStore['commitIngest'] = (...a) => this.ingest.commitIngest(...a);
  readonly commitIngestMany: IngestStore['commitIngestMany'] = (...a) => this.ingest.commitIngestMany(...a);
  readonly commitResults: IngestStore['commitResults'] = (...a) => this.ingest.commitResults(...a);
  readonly pending: IngestStore['pending'] = (...a) => this.ingest.pending(...a);
  // outbox
  readonly setOutputs: OutboxQueue['setOutputs'] = (...a) => this.outbox.setOutputs(...a);
  readonly outboxTake: OutboxQueue['outboxTake'] = (...a) => this.outbox.outboxTake(...a);
  readonly outboxDone: OutboxQueue['outboxDone'] = (...a) => this.outbox.outboxDone(...a);
  readonly outboxFailed: OutboxQueue['outboxFailed'] = (...a) => this.outbox.outboxFailed(...a);
  readonly outboxDepths: OutboxQueue['outboxDepths'] = (...a) => this.outbox.outboxDepths(...a);
  // alerts
  readonly addAlert: AlertStore['addAlert'] = (...a) => this.alerts.addAlert(...a);
  readonly resolveAdapterAlerts: AlertStore['resolveAdapterAlerts'] = (...a) => this.alerts.resolveAdapterAlerts(...a);
  readonly listAlerts: AlertStore['listAlerts'] = (...a) => this.alerts.listAlerts(...a);
  readonly queryAlerts: AlertStore['queryAlerts'] = (...a) => this.alerts.queryAlerts(...a);
  readonly alertCounts: AlertStore['alertCounts'] = (...a) => this.alerts.alertCounts(...a);
  readonly acknowledgeAlerts: AlertStore['acknowledgeAlerts'] = (...a) => this.alerts.acknowledgeAlerts(...a);
  readonly acknowledgeAlert: AlertStore['acknowledgeAlert'] = (...a) => this.alerts.acknowledgeAlert(...a);
  // results
  readonly listResults: ResultStore['listResults'] = (...a) => this.results.listResults(...a);
  readonly iterateResults: ResultStore['iterateResults'] = (...a) => this.results.iterateResults(...a);
  readonly getResult: ResultStore['getResult'] = (...a) => this.results.getResult(...a);
  readonly getSpectrum: ResultStore['getSpectrum'] = (...a) => this.results.getSpectrum(...a);
  readonly spectrumVector: ResultStore['spectrumVector'] = (...a) => this.results.spectrumVector(...a);
  readonly instrumentTrends: ResultStore['instrumentTrends'] = (...a) => this.results.instrumentTrends(...a);
  readonly pendingCount: ResultStore['pendingCount'] = (...a) => this.results.pendingCount(...a);
  readonly counts: ResultStore['counts'] = (...a) => this.results.counts(...a);
  readonly prune: ResultStore['prune'] = (...a) => this.results.prune(...a);
  readonly pruneBatch: ResultStore['pruneBatch'] = (...a) => this.results.pruneBatch(...a);
  // classes
  readonly listClasses: ClassStore['listClasses'] = (...a) => this.classes.listClasses(...a);
  readonly references: ClassStore['references'] = (...a) => this.classes.references(...a);
  readonly classReferenceVectors: ClassStore['classReferenceVectors'] = (...a) => this.classes.classReferenceVectors(...a);
  readonly classReference: ClassStore['classReference'] = (...a) => this.classes.classReference(...a);
  readonly setEmbeddings: ClassStore['setEmbeddings'] = (...a) => this.classes.setEmbeddings(...a);
  readonly removeClass: ClassStore['removeClass'] = (...a) => this.classes.removeClass(...a);
  readonly quarantineClass: ClassStore['quarantineClass'] = (...a) => this.classes.quarantineClass(...a);
  readonly quarantineReferences: ClassStore['quarantineReferences'] = (...a) => this.classes.quarantineReferences(...a);
  readonly quarantinedReferences: ClassStore['quarantinedReferences'] = (...a) => this.classes.quarantinedReferences(...a);
  readonly quarantinedClasses: ClassStore['quarantinedClasses'] = (...a) => this.classes.quarantinedClasses(...a);
  // enrollments
  readonly addReferences: EnrollmentStore['addReferences'] = (...a) => this.enrollments.addReferences(...a);
  readonly enrollmentByKey: EnrollmentStore['enrollmentByKey'] = (...a) => this.enrollments.enrollmentByKey(...a);
  readonly undoEnrollment: EnrollmentStore['undoEnrollment'] = (...a) => this.enrollments.undoEnrollment(...a);
  readonly onLabelChange: EnrollmentStore['onLabelChange'] = (...a) => this.enrollments.onLabelChange(...a);

  close(): void {
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
