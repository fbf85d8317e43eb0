import { EventEmitter } from 'node:events';
import type { AuditEvent } from './types';

export interface SessionsEndedEvent {
  tenantId: string;
  userId: string;
  sessionIds: string[];
  reason: 'logout' | 'logout_all' | 'password_changed' | 'password_reset' | 'mfa_reset' | 'mfa_disabled' | 'user_disabled' | 'expired' | 'revoked';
}

/**
 * Events a host app can forward (`stepUp.events.on('mfa_enrolled', fn)`): every audit event type is
 * emitted under its own name and as `audit`; `sessions_ended` tells the realtime server to close sockets.
 */
export class StepUpEvents extends EventEmitter {
  emitAudit(event: AuditEvent): void {
    this.emit(event.type, event);
    this.emit('audit', event);
  }

  emitSessionsEnded(e: SessionsEndedEvent): void {
    this.emit('sessions_ended', e);
  }

  /** A privilege step gave the session a new id: sockets on the old id should reconnect with the new cookie. */
  emitSessionRotated(e: { tenantId: string; userId: string; oldSessionId: string; newSessionId: string }): void {
    this.emit('session_rotated', e);
  }
}
