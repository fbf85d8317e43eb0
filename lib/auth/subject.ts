import type { Request } from 'express';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { checkPending } from '../state/machine';
import type { Method, TenantRecord, UserRecord } from '../types';

export interface Subject {
  user: UserRecord;
  tenant: TenantRecord;
  /** `authenticated`: a full session; `enrolling`: the pending user of an `enrollment_required` session. */
  kind: 'authenticated' | 'enrolling';
}

async function load(ctx: StepUpContext, tenantId: string, userId: string): Promise<{ user: UserRecord; tenant: TenantRecord } | null> {
  const [user, tenant] = await Promise.all([ctx.users.findById(tenantId, userId), ctx.tenants.findById(tenantId)]);
  if (!user || !tenant || user.disabledAt) return null;
  return { user, tenant };
}

/**
 * Who factor-management routes act on: always the session's own user (never an id from the body:
 * MFA-51). An `enrollment_required` session may only enrol; pass `allowEnrolling` for those routes.
 */
export async function subjectOf(ctx: StepUpContext, req: Request, allowEnrolling: boolean): Promise<Subject> {
  const mfa = req.session?.mfa;
  if (req.user && mfa?.state === 'authenticated') {
    const found = await load(ctx, req.user.tenantId, req.user.id);
    if (!found) throw new StepUpError('unauthenticated');
    return { ...found, kind: 'authenticated' };
  }
  if (allowEnrolling) {
    const pending = checkPending(mfa, 'enrollment_required', ctx.now());
    if (pending.ok) {
      const found = await load(ctx, pending.pending.tenantId, pending.pending.userId);
      if (!found) throw new StepUpError('unauthenticated');
      return { ...found, kind: 'enrolling' };
    }
    if (pending.reason === 'expired') throw new StepUpError('challenge_expired');
  }
  throw new StepUpError('unauthenticated');
}

export interface FactorTarget {
  user: UserRecord;
  tenantId: string;
  purpose: 'login' | 'step_up';
  /** The pending-login id (login) or the session's binding id (step-up): codes are bound to it. */
  binding: string;
}

/**
 * Who a second-factor code is for: the pending user of an `mfa_required` session (purpose login), or
 * the authenticated user (purpose step-up). Never anything from the body (MFA-07). With `method`, a
 * pending login must offer that method.
 */
export async function factorTarget(ctx: StepUpContext, req: Request, method?: Method): Promise<FactorTarget> {
  const mfa = req.session?.mfa;
  let tenantId: string;
  let userId: string;
  let purpose: FactorTarget['purpose'];
  let binding: string;
  if (req.user && mfa?.state === 'authenticated') {
    ({ tenantId, id: userId } = req.user);
    purpose = 'step_up';
    binding = req.session.bindingId ?? req.sessionID;
  } else {
    const check = checkPending(mfa, 'mfa_required', ctx.now());
    if (!check.ok) throw new StepUpError(check.reason === 'expired' ? 'challenge_expired' : 'no_pending_login');
    if (method && !check.pending.methods.includes(method)) throw new StepUpError('method_not_allowed');
    ({ tenantId, userId, id: binding } = check.pending);
    purpose = 'login';
  }
  const user = await ctx.users.findById(tenantId, userId);
  if (!user || user.disabledAt) throw new StepUpError('unauthenticated');
  return { user, purpose, binding, tenantId };
}
