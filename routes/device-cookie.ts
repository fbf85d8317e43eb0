import type { Request, Response } from 'express';
import type { StepUpContext } from '../lib/context';
import type { DeviceToken } from '../lib/auth/devices';

// The remembered-browser cookie (lib/auth/devices.ts): its own cookie, never the session's, so ending a
// session does not forget the browser and the token is never sent to the session store.
// HttpOnly; Secure when the session cookie is (true, or 'auto' on a TLS request); SameSite=Lax; Path=/.

/** `__Host-stepup_device` when cookies are always Secure (the prefix needs Secure and Path=/), else `stepup_device`. */
export function deviceCookieName(ctx: StepUpContext): string {
  return ctx.opts.session.secureCookie === true ? '__Host-stepup_device' : 'stepup_device';
}

const secureFor = (ctx: StepUpContext, req: Request) => (ctx.opts.session.secureCookie === 'auto' ? req.secure : ctx.opts.session.secureCookie);

/** The device cookie's value, read from the header (no cookie parser needed). */
export function readDeviceCookie(ctx: StepUpContext, req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const name = deviceCookieName(ctx);
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function setDeviceCookie(ctx: StepUpContext, req: Request, res: Response, token: DeviceToken): void {
  res.cookie(deviceCookieName(ctx), token.value, { httpOnly: true, secure: secureFor(ctx, req), sameSite: 'lax', path: '/', maxAge: Math.max(0, token.maxAgeMs) });
}

export function clearDeviceCookie(ctx: StepUpContext, req: Request, res: Response): void {
  res.clearCookie(deviceCookieName(ctx), { httpOnly: true, secure: secureFor(ctx, req), sameSite: 'lax', path: '/' });
}
