/** What the pipeline counted since start (reported by stats()). */
export interface PipelineCounters {
  received: number;
  identified: number;
  rejected: number;
  duplicates: number;
  pressureEvents: number;
}

export function newCounters(): PipelineCounters {
  return { received: 0, identified: 0, rejected: 0, duplicates: 0, pressureEvents: 0 };
}
