import { BACKUP_CODE_PATTERN } from '../lib/crypto/codes';
import { CodeStrategy, type CodeVerify } from './code';

/** A single-use backup code, `abcd-efgh-ijkl-mnop` (case, spaces and dashes ignored). */
export class BackupCodeStrategy extends CodeStrategy {
  readonly name = 'stepup-backup-code';
  constructor(verify: CodeVerify) {
    super(verify, BACKUP_CODE_PATTERN);
  }
}
