import { Router } from 'express';
import type { StepUpContext } from '../lib/context';

/** Mounted under `/auth` next to the auth routes: account self-service such as `POST /password`. */
export function accountRoutes(_ctx: StepUpContext): Router {
  const r = Router();
  return r;
}
