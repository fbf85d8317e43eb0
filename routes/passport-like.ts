import type { RequestHandler } from 'express';

/** The part of a Passport `Authenticator` the plugin uses (the module itself or `new Passport()`). */
export interface PassportLike {
  use(name: string, strategy: never): unknown;
  serializeUser(fn: (user: Express.User, done: (err: unknown, id?: unknown) => void) => void): void;
  deserializeUser(fn: (obj: unknown, done: (err: unknown, user?: Express.User | false | null) => void) => void): void;
  session(options?: { pauseStream?: boolean }): RequestHandler;
  authenticate(strategy: string, options: object, callback: (...args: any[]) => void): any;
}
