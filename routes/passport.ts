import type { Request, Response } from 'express';
import type { PassportLike } from './passport-like';
import { StepUpError, type ErrorCode } from '../lib/errors';
import { ERROR_TABLE } from '../lib/errors';

/**
 * Runs a registered strategy and turns its outcome into the result it reported (`info.result`) or a
 * StepUpError: the routes stay in promise land, the strategies stay plain Passport strategies
 * (their `req.user` is the safe StepUpUser, never a record with a hash or a secret).
 */
export function authenticateWith<T>(passport: PassportLike, name: string, req: Request, res: Response, failCode: ErrorCode): Promise<T> {
  return new Promise((resolve, reject) => {
    passport.authenticate(name, { session: false, failWithError: false }, (err: unknown, user: unknown, info: unknown, status?: number) => {
      if (err) return reject(err);
      const result = (info as { result?: T } | undefined)?.result;
      if (user && result) return resolve(result);
      const reported = (Array.isArray(info) ? info[0] : info) as { code?: string; message?: string; error?: StepUpError } | undefined;
      if (reported?.error instanceof StepUpError) return reject(reported.error);
      const code = reported?.code && reported.code in ERROR_TABLE ? (reported.code as ErrorCode) : status === 400 ? 'invalid_request' : failCode;
      reject(new StepUpError(code, code === 'invalid_request' ? reported?.message : undefined));
    })(req, res, (e: unknown) => reject(e));
  });
}
