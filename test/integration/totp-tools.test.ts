/**
 * Interop with independent tools: the enrolment QR decoded by `zbarimg` is the otpauth URI, and codes
 * computed by `oathtool` from the secret are accepted at enrolment and at login.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agent, buildApp, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { login, RFC_SECRET } from '../helpers/security';
import { describeWithCommands, describeWithRedis } from '../helpers/services';

/** The clock as oathtool's `--now` wants it: `YYYY-MM-DD HH:MM:SS UTC`. */
const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
const oathtool = (secret: string, nowMs: number, extra: string[] = []) => execFileSync('oathtool', ['--totp', '-b', ...extra, '--now', utc(nowMs), secret], { encoding: 'utf8' }).trim();

describeWithCommands(['oathtool', 'zbarimg'], 'totp-tools: oathtool and zbarimg', () => {
  it('oathtool agrees with RFC 6238 Appendix B (the reference is checked too)', () => {
    expect(oathtool(RFC_SECRET, 59_000, ['-d', '8'])).toBe('94287082');
    expect(oathtool(RFC_SECRET, 1111111109_000)).toBe('081804');
    expect(oathtool(RFC_SECRET, 20000000000_000, ['-d', '8'])).toBe('65353130');
  });

  describeWithRedis('against the app', () => {
    let t: TestApp;
    let dir: string;
    beforeEach(async () => {
      t = buildApp({ redis: true });
      await seedUser(t, (await seedTenant(t)).id);
      dir = mkdtempSync(join(tmpdir(), 'stepup-qr-'));
    });
    afterEach(async () => {
      rmSync(dir, { recursive: true, force: true });
      await t.close();
    });

    it('the QR decodes to otpauthUrl; oathtool codes are accepted at verify and at challenge', async () => {
      const a = agent(t);
      await login(a).expect(200);
      const enrol = await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
      const { secret, otpauthUrl, qrCode } = enrol.body as { secret: string; otpauthUrl: string; qrCode: string };
      expect(qrCode).toMatch(/^data:image\/png;base64,/);
      const png = join(dir, 'enrol.png');
      writeFileSync(png, Buffer.from(qrCode.slice('data:image/png;base64,'.length), 'base64'));
      const decoded = execFileSync('zbarimg', ['--raw', '-q', png], { encoding: 'utf8' }).trim();
      expect(decoded).toBe(otpauthUrl);
      expect(new URL(decoded).searchParams.get('secret')).toBe(secret);

      await a.post('/auth/mfa/totp/verify').send({ code: oathtool(secret, t.clock.now()) }).expect(200);
      await a.post('/auth/logout').expect(204);

      t.clock.advance(30);
      expect((await login(a).expect(200)).body.state).toBe('mfa_required');
      const res = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: oathtool(secret, t.clock.now()) }).expect(200);
      expect(res.body).toMatchObject({ state: 'authenticated', aal: 2 });
      // An app whose clock runs 30 s behind (one step) is still accepted; two steps is not.
      await a.post('/auth/logout').expect(204);
      t.clock.advance(60);
      await login(a).expect(200);
      await a.post('/auth/mfa/challenge').send({ method: 'totp', code: oathtool(secret, t.clock.now() - 60_000) }).expect(401);
      await a.post('/auth/mfa/challenge').send({ method: 'totp', code: oathtool(secret, t.clock.now() - 30_000) }).expect(200);
    });
  });
});
