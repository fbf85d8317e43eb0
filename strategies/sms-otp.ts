import { CodeStrategy, type CodeVerify } from './code';

/** A six-digit code sent by SMS to the enrolled phone (restricted by NIST; offer a stronger factor too). */
export class SmsOtpStrategy extends CodeStrategy {
  readonly name = 'stepup-sms-otp';
  constructor(verify: CodeVerify) {
    super(verify, /^[0-9]{6}$/);
  }
}
