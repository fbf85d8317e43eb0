import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';
import { StepUpError } from '../errors';

// `Algorithm` is a const enum with no runtime object: name the value once (Argon2id = 2).
export const ARGON2ID = 2 as Algorithm;

/** argon2id parameters; the default is OWASP's first recommendation (19 MiB, 2 passes, 1 lane). */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** The libuv thread pool size of this process (argon2 runs there, beside fs, dns.lookup and async crypto). */
export const libuvPoolSize = (): number => {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
};

/**
 * One fewer than the libuv pool (a thread stays free for file reads, DNS lookups and other requests'
 * async crypto) and one fewer than the CPUs (a core stays free for the event loop, so other users'
 * requests are served while logins queue); at least 1.
 */
export const defaultConcurrency = (): number => Math.max(1, Math.min(libuvPoolSize() - 1, availableParallelism() - 1));

export interface PasswordQueueOptions {
  /** Computations at once. Default `defaultConcurrency()`: a libuv thread and a CPU stay free for other work. */
  concurrency?: number;
  /** Callers that may wait for a slot (default 64); one more is refused with 503 `unavailable`. */
  maxQueued?: number;
}

/**
 * A bounded queue in front of argon2id. A flood of logins cannot occupy every libuv thread (file reads,
 * DNS lookups and other requests' async crypto keep one), and cannot pile up unbounded work and memory
 * (19 MiB per computation): past `maxQueued` waiting callers the answer is an immediate 503.
 */
export class PasswordQueue {
  readonly concurrency: number;
  readonly maxQueued: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(o: PasswordQueueOptions = {}) {
    this.concurrency = o.concurrency ?? defaultConcurrency();
    this.maxQueued = o.maxQueued ?? 64;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new TypeError('PasswordQueue: `concurrency` must be an integer >= 1');
    if (!(Number.isInteger(this.maxQueued) && this.maxQueued >= 0)) throw new TypeError('PasswordQueue: `maxQueued` must be an integer >= 0');
  }

  /** Computations running and callers waiting (for tests and metrics). */
  get stats(): { active: number; queued: number } {
    return { active: this.active, queued: this.waiting.length };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) {
        throw new StepUpError('unavailable', 'Too many sign-ins in progress; try again shortly.', { retryAfterSeconds: 1 });
      }
      // The slot is handed over by the finishing caller (active stays counted), so no newcomer overtakes a waiter.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export class PasswordHasher {
  private dummy: Promise<string> | undefined;
  readonly queue: PasswordQueue;

  constructor(
    readonly params: Argon2Params = OWASP_ARGON2,
    queue: PasswordQueueOptions | PasswordQueue = {},
  ) {
    this.queue = queue instanceof PasswordQueue ? queue : new PasswordQueue(queue);
  }

  hash(password: string): Promise<string> {
    return this.queue.run(() => hash(password, { algorithm: ARGON2ID, ...this.params }));
  }

  /** Verifies; a malformed stored hash counts as a mismatch, never as an error path that differs. A full queue is 503. */
  async verify(stored: string, password: string): Promise<boolean> {
    return this.queue.run(async () => {
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    });
  }

  /** Spends the same work as a real verification, for unknown users (timing must not tell). */
  async verifyDummy(password: string): Promise<false> {
    // A refused first hash (full queue) must not poison every later call: forget the failed promise.
    this.dummy ??= this.hash('passport-stepup dummy password for unknown users').catch((err: unknown) => {
      this.dummy = undefined;
      throw err;
    });
    await this.verify(await this.dummy, password);
    return false;
  }

  /** True when a stored hash was made with other parameters (or another algorithm) and should be redone. */
  needsRehash(stored: string): boolean {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    if (!m) return true;
    return Number(m[1]) !== this.params.memoryCost || Number(m[2]) !== this.params.timeCost || Number(m[3]) !== this.params.parallelism;
  }
}
