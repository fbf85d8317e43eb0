import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import type { MfaSession } from '../state/machine';
import type { TenantRecord, UserRecord } from '../types';

/** Who a factor-management request acts on, as the HTTP session knows it (never an id from the body: MFA-51). */
export interface SubjectRef {
  tenantId: string;
  userId: string;
  /** `authenticated`: a full session; `enrolling`: the pending user of an `enrollment_required` session. */
  kind: 'authenticated' | 'enrolling';
  /** The session's state (read only: the HTTP session module writes it). */
  mfa: MfaSession;
  /** The session's binding id (authenticated) or pending-login id (enrolling): codes are bound to it. */
  binding: string;
}

export interface Subject extends SubjectRef {
  user: UserRecord;
  tenant: TenantRecord;
}

/** Loads the subject's user and tenant once; a gone, disabled or revoked account is `unauthenticated`. */
export async function loadSubject(ctx: StepUpContext, ref: SubjectRef): Promise<Subject> {
  const [user, tenant] = await Promise.all([ctx.users.findById(ref.tenantId, ref.userId), ctx.tenants.findById(ref.tenantId)]);
  if (!user || !tenant || user.disabledAt) throw new StepUpError('unauthenticated');
  const validFrom = ref.mfa.validFrom ?? ref.mfa.authTime ?? 0;
  if (user.sessionsValidAfter && validFrom < new Date(user.sessionsValidAfter).getTime()) throw new StepUpError('unauthenticated');
  return { ...ref, user, tenant };
}
