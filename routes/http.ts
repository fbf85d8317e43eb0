import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { ERROR_TABLE, StepUpError, toResponse, type ErrorCode } from '../lib/errors';
import type { PassportLike } from './passport-like';
import type { RequestMeta } from '../lib/types';
import { normaliseOrigin } from '../lib/origins';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Writes a StepUpError (or any error, as a generic 500) in the contract's JSON shape. */
export function sendError(res: Response, err: unknown): void {
  // Too late to answer (e.g. the session store failed while saving after the handler responded):
  // writing now would throw ERR_HTTP_HEADERS_SENT out of a timer and crash the process.
  if (res.headersSent) return;
  const { status, body, retryAfterSeconds } = toResponse(err);
  if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
  res.status(status).json(body);
}

/** What the core needs of a request: never the request itself. */
export function metaOf(req: Request): RequestMeta {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null, sessionId: req.sessionID ?? null };
}

/** Async handler for Express 4 and 5 alike: a rejected promise goes to the router's error handler. */
export function h(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

/**
 * Refuses cross-site state changes (ATK-16): the Origin, when sent, must be allowlisted (or be the
 * request's own origin when no allowlist is set); `Sec-Fetch-Site: cross-site|same-site` without an
 * allowlisted Origin is refused. Non-browser clients send neither and pass.
 */
export function originCheck(ctx: StepUpContext): RequestHandler {
  const allowed = new Set(ctx.opts.allowedOrigins.map((o) => normaliseOrigin(o)));
  return (req, res, next) => {
    if (!UNSAFE.has(req.method)) return next();
    const origin = req.get('origin');
    const site = req.get('sec-fetch-site');
    if (origin !== undefined) {
      const own = `${req.protocol}://${req.get('host')}`;
      const ok = allowed.size > 0 ? allowed.has(origin) : origin === own;
      if (!ok) return sendError(res, new StepUpError('forbidden', 'Cross-site request refused.'));
      return next();
    }
    if (site && site !== 'same-origin' && site !== 'none') return sendError(res, new StepUpError('forbidden', 'Cross-site request refused.'));
    next();
  };
}

/**
 * JSON only (MFA-55): a body in any other type is 415, so urlencoded `email[$ne]=` and text/plain
 * simple requests never reach a handler. Bodies are capped at 16 KiB.
 */
export function jsonOnly(): RequestHandler[] {
  const parse = express.json({ limit: '16kb', strict: true, type: 'application/json' });
  const requireJson: RequestHandler = (req, res, next) => {
    if (!UNSAFE.has(req.method)) return next();
    const length = Number(req.get('content-length') ?? 0);
    const hasBody = length > 0 || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json')) return sendError(res, new StepUpError('unsupported_media_type'));
    next();
  };
  return [requireJson, parse];
}

/** Validates a body against a zod schema before anything touches a store; 400 otherwise. */
export function body<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const res = schema.safeParse(req.body ?? {});
  if (!res.success) {
    const issue = res.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new StepUpError('invalid_request', `Field "${field}" is invalid.`);
  }
  return res.data;
}

/** The router's last middleware: every error leaves as `{error, message}` with its table status. */
export function errorHandler(ctx: StepUpContext) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (!(err instanceof StepUpError)) {
      const e = err as { type?: string; message?: string; code?: string };
      // Store trouble (Redis/Mongo down) fails closed as 503; nothing about it reaches the client.
      if (isStoreOutage(err)) {
        ctx.logger.error('store unavailable', { err: e.message });
        return sendError(res, new StepUpError('unavailable'));
      }
      // Client mistakes (a bad gzip body, an undecodable path parameter) are 400s, logged at debug only.
      const status = (err as { status?: number; statusCode?: number })?.status ?? (err as { statusCode?: number })?.statusCode;
      if (err instanceof URIError || (typeof status === 'number' && status >= 400 && status < 500)) {
        ctx.logger.debug?.('client error', { type: e.type, status });
        return sendError(res, err instanceof URIError ? new StepUpError('invalid_request', 'The path is not valid.') : err);
      }
      if (!e.type) ctx.logger.error('unexpected error', { err: e.message, code: e.code });
    }
    sendError(res, err);
  };
}

export function isStoreOutage(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string };
  if (!e) return false;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(e.code ?? '')) return true;
  const name = e.name ?? '';
  // Server-side refusals (MongoServerError: duplicate key, bad operator) are bugs, not outages: 500.
  if (/^(MongoNetwork\w*|MongoServerSelectionError|MongooseServerSelectionError|MongoNotConnectedError|MongoTopologyClosedError|MongoStoreTimeoutError|MaxRetriesPerRequestError|AbortError|StoreTimeoutError|RedisDeadlineError|ClusterAllFailedError)$/.test(name)) return true;
  return /Connection is closed|Stream isn't writeable|enableOfflineQueue|connection (is )?(closed|lost)|buffering timed out/i.test(e.message ?? '');
}

// Shared field schemas: strings only, bounded, so operator objects and type confusion are 400.
export const fields = {
  tenant: z.string().min(1).max(63).regex(/^[a-z0-9-]+$/),
  email: z.string().min(3).max(254).regex(/^[^\s@]+@[^\s@]+$/),
  password: z.string().min(1).max(1024),
  method: z.enum(['totp', 'backup_code', 'email_otp', 'sms_otp']),
  code: z.string().min(1).max(32),
};

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
