/**
 * The example app's simulated sync job: `started`, `progress` 20/50/70 with messages, then
 * `completed` with `recordsImported`, one step every `stepMs`. One sync per tenant at a time.
 *
 * The timer is injected (`schedule`), so tests run the steps by hand instead of sleeping.
 */

export interface SyncPayload {
  status: 'started' | 'progress' | 'completed' | 'error';
  progress?: number;
  message?: string;
  recordsImported?: number;
  error?: string;
}

/** Runs `fn` after `ms`; returns a function that cancels it. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export const realTimers: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export interface SyncRunnerOptions {
  /** Where each status goes (the realtime server's `emitSyncStatus`). Failures are logged, not thrown. */
  emit: (tenant: string, payload: SyncPayload) => unknown;
  schedule?: Schedule;
  /** Delay between two steps (default 400 ms). */
  stepMs?: number;
  /** How many records a run "imports" (default: 100..499 at random). */
  records?: () => number;
  onError?: (err: Error) => void;
}

/** The steps after `started`, in order; the last one carries `recordsImported`. */
export const SYNC_STEPS: readonly Omit<SyncPayload, 'recordsImported'>[] = [
  { status: 'progress', progress: 20, message: 'Fetching records from the source system' },
  { status: 'progress', progress: 50, message: 'Importing records' },
  { status: 'progress', progress: 70, message: 'Reconciling changes' },
  { status: 'completed', progress: 100, message: 'Sync completed' },
];

export class SyncRunner {
  private readonly running = new Map<string, () => void>();
  private readonly schedule: Schedule;
  private readonly stepMs: number;
  private readonly records: () => number;

  constructor(private readonly opts: SyncRunnerOptions) {
    this.schedule = opts.schedule ?? realTimers;
    this.stepMs = opts.stepMs ?? 400;
    this.records = opts.records ?? (() => 100 + Math.floor(Math.random() * 400));
  }

  isRunning(tenant: string): boolean {
    return this.running.has(tenant);
  }

  /** Starts a run for `tenant`; false (and nothing emitted) when one is already running. */
  start(tenant: string): boolean {
    if (this.running.has(tenant)) return false;
    this.running.set(tenant, () => undefined);
    this.send(tenant, { status: 'started', progress: 0, message: 'Sync started' });
    this.next(tenant, 0);
    return true;
  }

  /** Cancels every run (server shutdown). */
  stopAll(): void {
    for (const cancel of this.running.values()) cancel();
    this.running.clear();
  }

  private next(tenant: string, i: number): void {
    const step = SYNC_STEPS[i];
    if (!step) {
      this.running.delete(tenant);
      return;
    }
    const cancel = this.schedule(() => {
      if (!this.running.has(tenant)) return;
      const last = i === SYNC_STEPS.length - 1;
      // Free the slot before the last emit, so a client reacting to `completed` may start again.
      if (last) this.running.delete(tenant);
      this.send(tenant, last ? { ...step, recordsImported: this.records() } : step);
      if (!last) this.next(tenant, i + 1);
    }, this.stepMs);
    this.running.set(tenant, cancel);
  }

  private send(tenant: string, payload: SyncPayload): void {
    try {
      const r = this.opts.emit(tenant, payload) as Promise<unknown> | undefined;
      if (r && typeof r.catch === 'function') r.catch((err: Error) => this.opts.onError?.(err));
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }
}
