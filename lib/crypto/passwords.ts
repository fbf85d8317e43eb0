import { hash, verify, type Algorithm } from '@node-rs/argon2';

// `Algorithm` is a const enum with no runtime object: name the value once (Argon2id = 2).
export const ARGON2ID = 2 as Algorithm;

/** argon2id parameters; the default is OWASP's first recommendation (19 MiB, 2 passes, 1 lane). */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(readonly params: Argon2Params = OWASP_ARGON2) {}

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID, ...this.params });
  }

  /** Verifies; a malformed stored hash counts as a mismatch, never as an error path that differs. */
  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  }

  /** Spends the same work as a real verification, for unknown users (timing must not tell). */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('passport-stepup dummy password for unknown users');
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
