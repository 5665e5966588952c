import { describe, expect, it } from 'vitest';
import { readHealth } from '../../dashboard/src/shapes.ts';

describe('the dashboard reads the node id from GET /api/health', () => {
  it('keeps node when the daemon sends it and leaves it out when an older one does not', () => {
    expect(readHealth({ node: 'hall-2', status: 'ok', adapters: [] }).node).toBe('hall-2');
    expect(readHealth({ status: 'ok', adapters: [] }).node).toBeUndefined();
    expect(readHealth({ node: 42, status: 'ok', adapters: [] }).node).toBeUndefined();
  });
});
