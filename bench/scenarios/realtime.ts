/** Scenario 5 (realtime fan-out) lands with the realtime module. */
export async function realtimeFanout(_redisUrl: string, _full: boolean): Promise<void> {
  throw new Error('realtime fan-out is not implemented yet');
}
