import { Router } from 'express';
import type { StepUpContext } from '../lib/context';

/** Mounted at `/admin`: tenants, users, policy, audited MFA resets (filled in by the tenants work). */
export function adminRoutes(_ctx: StepUpContext): Router {
  const r = Router();
  return r;
}
