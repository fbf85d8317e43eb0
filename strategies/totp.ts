import { CodeStrategy, type CodeVerify } from './code';

/** Six ASCII digits from an authenticator app (leading zeros kept; numbers and full-width digits refused). */
export class TotpStrategy extends CodeStrategy {
  readonly name = 'stepup-totp';
  constructor(verify: CodeVerify) {
    super(verify, /^[0-9]{6}$/);
  }
}
