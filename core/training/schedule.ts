/** Learning rate per step: linear warm-up from ~0 to `peak`, then cosine decay to `peak * finalFraction`. */
export interface ScheduleOptions {
  readonly peak: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;
  readonly finalFraction?: number;
}

export function learningRateAt(step: number, opts: ScheduleOptions): number {
  const { peak, totalSteps, warmupSteps } = opts;
  const floor = peak * (opts.finalFraction ?? 0.02);
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const t = Math.min(1, (step - warmupSteps) / span);
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * t));
}
