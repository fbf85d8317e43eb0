import { CodeStrategy, type CodeVerify } from './code';

/** A six-digit code sent by email (a weak factor: aal 1 unless the options count it as aal 2). */
export class EmailOtpStrategy extends CodeStrategy {
  readonly name = 'stepup-email-otp';
  constructor(verify: CodeVerify) {
    super(verify, /^[0-9]{6}$/);
  }
}
