/** Triplet training of spectrum encoders (Vorozhtsov & Kitina 2024 loss), kNN evaluation. */
export { train } from './train.ts';
export type { TrainOptions, TrainResult, TrainProgress, EpochRecord } from './train.ts';
export { knnAccuracy, knnPredict } from './knn.ts';
export { tripletLoss, pairMasks, PAPER_LOSS } from './loss.ts';
export type { Mining, TripletLossOptions } from './loss.ts';
export { PkSampler } from './sampler.ts';
export type { PkBatch } from './sampler.ts';
export { augmentInto, normalizeRows, normalizeMaxAbsInPlace, DEFAULT_AUGMENT, LIGHT_AUGMENT, NO_AUGMENT, AUGMENT_PRESETS, physicalAugment, PHYSICAL_AUGMENT_PRESETS, RAMAN_AUGMENT, IR_AUGMENT } from './augment.ts';
export type { AugmentOptions, AugmentPreset, PhysicalAugment } from './augment.ts';
export { learningRateAt } from './schedule.ts';
export { AdamW } from './adamw.ts';
export { prepareRandomSplit, prepareTestSplit, prepareDataset, describeClasses } from './data.ts';
export type { DatasetSpec, PreparedData, Dataset } from './data.ts';
