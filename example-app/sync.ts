/**
 * The example app's simulated sync job: `started`, then one `progress` per stage, then `completed`
 * with `recordsImported`, one step every `stepMs` (default 2.5 s: about 15 s in all, long enough to
 * watch the stages go by). One sync per tenant at a time. A progress status's message is the name
 * of its stage (the realtime protocol carries status, progress, message, recordsImported and error
 * only), so a page that knows the stage list (`view()`) can tick them off. The runner keeps each
 * tenant's last status, so a tab that opens mid-run (or after it) can show it. When a run ends, the
 * person who started it gets a notification.
 *
 * The timer is injected (`schedule`), so tests run the steps by hand instead of sleeping.
 */

export interface SyncPayload {
  status: 'started' | 'progress' | 'completed' | 'error';
  progress?: number;
  message?: string;
  recordsImported?: number;
  error?: string;
  /** Index in `stages` of the stage this status belongs to (the last one when completed). */
  stage?: number;
  stages?: readonly string[];
}

/** The last status of a tenant's sync, with when it was sent (ISO). */
export type LastSync = SyncPayload & { at: string };

export interface SyncNotification {
  level: 'info' | 'success' | 'warning' | 'error';
  title: string;
  message: string;
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
  /** Tells the user who started a run that it ended (the realtime server's `emitNotification`). */
  notify?: (starter: SyncStarter, notification: SyncNotification) => unknown;
  schedule?: Schedule;
  /** Delay between two steps (default 2500 ms: 6 steps, 15 s). */
  stepMs?: number;
  /** How many records a run "imports" (default: 100..499 at random). */
  records?: () => number;
  /** For `at` of the last status (default Date.now). */
  now?: () => number;
  onError?: (err: Error) => void;
}

export interface SyncStarter {
  tenantId: string;
  userId: string;
}

/** The stages a run goes through, in order (shown as a list on the dashboard). */
export const SYNC_STAGES: readonly string[] = [
  'Connecting to the source system',
  'Fetching records',
  'Importing records',
  'Reconciling changes',
  'Rebuilding the search index',
];

/** The steps after `started`, in order; the last one carries `recordsImported`. */
export const SYNC_STEPS: readonly Omit<SyncPayload, 'recordsImported'>[] = [
  { status: 'progress', progress: 10, message: SYNC_STAGES[0], stage: 0 },
  { status: 'progress', progress: 30, message: SYNC_STAGES[1], stage: 1 },
  { status: 'progress', progress: 55, message: SYNC_STAGES[2], stage: 2 },
  { status: 'progress', progress: 75, message: SYNC_STAGES[3], stage: 3 },
  { status: 'progress', progress: 90, message: SYNC_STAGES[4], stage: 4 },
  { status: 'completed', progress: 100, message: 'Sync completed', stage: SYNC_STAGES.length - 1 },
];

export class SyncRunner {
  private readonly running = new Map<string, () => void>();
  private readonly starters = new Map<string, SyncStarter>();
  private readonly last = new Map<string, LastSync>();
  private readonly schedule: Schedule;
  private readonly stepMs: number;
  private readonly records: () => number;
  private readonly now: () => number;

  constructor(private readonly opts: SyncRunnerOptions) {
    this.schedule = opts.schedule ?? realTimers;
    this.stepMs = opts.stepMs ?? 2500;
    this.records = opts.records ?? (() => 100 + Math.floor(Math.random() * 400));
    this.now = opts.now ?? Date.now;
  }

  isRunning(tenant: string): boolean {
    return this.running.has(tenant);
  }

  /** The last status sent for `tenant` (running or finished), or null when none ran since start. */
  lastStatus(tenant: string): LastSync | null {
    return this.last.get(tenant) ?? null;
  }

  /** What a dashboard needs to draw the sync card: the stage names and the last status. */
  view(tenant: string): { stages: readonly string[]; last: LastSync | null } {
    return { stages: SYNC_STAGES, last: this.lastStatus(tenant) };
  }

  /** Starts a run for `tenant`; false (and nothing emitted) when one is already running. */
  start(tenant: string, starter?: SyncStarter): boolean {
    if (this.running.has(tenant)) return false;
    this.running.set(tenant, () => undefined);
    if (starter) this.starters.set(tenant, starter);
    else this.starters.delete(tenant);
    this.send(tenant, { status: 'started', progress: 0, message: 'Sync started', stage: 0 });
    this.next(tenant, 0);
    return true;
  }

  /** Cancels every run (server shutdown). */
  stopAll(): void {
    for (const cancel of this.running.values()) cancel();
    this.running.clear();
    this.starters.clear();
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
      const payload = last ? { ...step, recordsImported: this.records() } : step;
      this.send(tenant, payload);
      if (last) this.finished(tenant, payload);
      else this.next(tenant, i + 1);
    }, this.stepMs);
    this.running.set(tenant, cancel);
  }

  private finished(tenant: string, payload: SyncPayload): void {
    const starter = this.starters.get(tenant);
    this.starters.delete(tenant);
    if (!starter || !this.opts.notify) return;
    const note: SyncNotification = {
      level: 'success',
      title: 'Sync finished',
      message: `${payload.recordsImported ?? 0} records imported for ${tenant}.`,
    };
    this.deliver(() => this.opts.notify!(starter, note));
  }

  private send(tenant: string, step: SyncPayload): void {
    this.last.set(tenant, { ...step, stages: SYNC_STAGES, at: new Date(this.now()).toISOString() });
    // Over the wire: the protocol's keys only (it refuses others).
    const { stage: _stage, stages: _stages, ...wire } = step;
    this.deliver(() => this.opts.emit(tenant, wire));
  }

  private deliver(fn: () => unknown): void {
    try {
      const r = fn() as Promise<unknown> | undefined;
      if (r && typeof r.catch === 'function') r.catch((err: Error) => this.opts.onError?.(err));
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }
}
