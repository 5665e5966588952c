import { SpectrumInputError } from '../errors.ts';
import type { PreprocessConfig, PreprocessStep } from './types.ts';

const bad = (field: string, why: string): SpectrumInputError => new SpectrumInputError('bad-preprocess-config', why, { field });

const isPositiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;

function checkStep(step: PreprocessStep, i: number): void {
  const at = `steps[${i}]`;
  switch (step.kind) {
    case 'savitzkyGolay': {
      const { windowSize = 9, polynomial = 3 } = step;
      if (!isPositiveInt(windowSize) || windowSize < 3 || windowSize % 2 === 0) throw bad(`${at}.windowSize`, `windowSize ${windowSize} must be an odd integer >= 3`);
      if (!Number.isInteger(polynomial) || polynomial < 0 || polynomial >= windowSize) {
        throw bad(`${at}.polynomial`, `polynomial ${polynomial} must be an integer from 0 to windowSize - 1`);
      }
      return;
    }
    case 'airPLS': {
      if (step.lambda !== undefined && !(step.lambda > 0 && Number.isFinite(step.lambda))) throw bad(`${at}.lambda`, `lambda ${step.lambda} must be a positive number`);
      if (step.maxIterations !== undefined && !isPositiveInt(step.maxIterations)) throw bad(`${at}.maxIterations`, `maxIterations ${step.maxIterations} must be a positive integer`);
      if (step.tolerance !== undefined && !(step.tolerance > 0 && Number.isFinite(step.tolerance))) throw bad(`${at}.tolerance`, `tolerance ${step.tolerance} must be a positive number`);
      return;
    }
    case 'rollingBall': {
      for (const key of ['windowM', 'windowS'] as const) {
        const value = step[key];
        if (value !== undefined && (!isPositiveInt(value) || value < 2)) throw bad(`${at}.${key}`, `${key} ${value} must be an integer >= 2`);
      }
      return;
    }
    default:
      throw bad(`${at}.kind`, `unknown step kind "${String((step as { kind?: unknown }).kind)}"; expected savitzkyGolay, airPLS or rollingBall`);
  }
}

/** Throws a SpectrumInputError (code bad-preprocess-config, field = the key path) for the first invalid setting. */
export function checkPreprocessConfig(config: PreprocessConfig): void {
  if (config.resample !== undefined && !['auto', 'linear', 'smooth'].includes(config.resample)) {
    throw bad('resample', `resample "${config.resample}" must be auto, linear or smooth`);
  }
  if (config.minOverlap !== undefined && !(config.minOverlap > 0 && config.minOverlap <= 1)) {
    throw bad('minOverlap', `minOverlap ${config.minOverlap} must be a fraction in (0, 1]`);
  }
  if (config.minPoints !== undefined && (!isPositiveInt(config.minPoints) || config.minPoints < 2)) {
    throw bad('minPoints', `minPoints ${config.minPoints} must be an integer >= 2`);
  }
  config.steps?.forEach(checkStep);
}
