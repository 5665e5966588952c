/** The universal synthetic benchmark (Schuetzke et al. 2023): class definitions, splits, mixtures (its seeded rng: core/math/rng.ts). */
export { loadDefinition, BENCHMARK_NAMES } from './definitions.ts';
export type { BenchmarkName, BenchmarkDefinition, ClassDefinition } from './definitions.ts';
export { generateTestSplit, generateRandomSplit, generateTestLikeSplit, RANDOM_VARIATION, PUBLISHED_PER_CLASS } from './generate.ts';
export type { Dataset, RandomSplit, RandomSplitOptions, TestLikeSplitOptions } from './generate.ts';
export { makeMixtures } from './mixtures.ts';
export { parseClassList } from './class-list.ts';
export type { MixtureOptions, MixtureSet } from './mixtures.ts';
export { normalizeDataset } from './normalize.ts';
export { testVariantPlan, testVariantsPerClass } from './variants.ts';
export type { TestVariant, TestVariantPlan } from './variants.ts';
