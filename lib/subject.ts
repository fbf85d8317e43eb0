import type { Request } from 'express';
import type { StepUpContext } from './context';
import { StepUpError } from './errors';
import { checkPending } from './state';
import type { TenantRecord, UserRecord } from './types';

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
