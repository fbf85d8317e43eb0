import { createHmac } from 'node:crypto';
import { DEFAULT_TOTP, decodeSecret, encodeSecret, generateTotpSecret, hotp, otpauthUrl, stepAt, totpAt, verifyTotp, type TotpAlgorithm } from '../../lib/factors/totp';
import { base32Decode, base32Encode } from '../../lib/factors/base32';

// SECURITY.md §B: the RFC seeds (errata 2866: SHA-256/512 seeds are the length of the hash output).
const SEED = {
  sha1: Buffer.from('12345678901234567890', 'ascii'),
  sha256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};
const RFC_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const at = (seconds: number) => seconds * 1000;

describe('HOTP: RFC 4226 Appendix D', () => {
  const table = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  it.each(table.map((code, count) => [count, code]))('count %i -> %s', (count, code) => {
    expect(hotp(SEED.sha1, count)).toBe(code);
  });

  it('writes the counter as 8 bytes big-endian (HMAC of count 0 is the Table 1 value)', () => {
    const msg = Buffer.alloc(8);
    expect(createHmac('sha1', SEED.sha1).update(msg).digest('hex')).toBe('cc93cf18508d94934c64b65d8ba7667fb7cde4b0');
  });
});

describe('TOTP: RFC 6238 Appendix B (8 digits, errata 2866 seeds)', () => {
  const rows: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    // Needs a 64-bit step counter: `>>>`/`|` on the step would truncate it.
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  const algs: TotpAlgorithm[] = ['sha1', 'sha256', 'sha512'];
  for (const [time, ...codes] of rows) {
    algs.forEach((alg, i) => {
      it(`${alg} at ${time}`, () => {
        expect(totpAt(SEED[alg], at(time), { ...DEFAULT_TOTP, algorithm: alg, digits: 8 })).toBe(codes[i]);
      });
    });
  }

  it('derived 6-digit SHA-1 values keep their leading zeros', () => {
    expect(totpAt(SEED.sha1, at(59))).toBe('287082');
    expect(totpAt(SEED.sha1, at(1111111109))).toBe('081804');
    expect(totpAt(SEED.sha1, at(1111111111))).toBe('050471');
    expect(totpAt(SEED.sha1, at(1234567890))).toBe('005924');
    expect(totpAt(SEED.sha1, at(2000000000))).toBe('279037');
    expect(totpAt(SEED.sha1, at(20000000000))).toBe('353130');
  });

  it('derived 6-digit SHA-256/512 values', () => {
    expect(totpAt(SEED.sha256, at(1111111109), { ...DEFAULT_TOTP, algorithm: 'sha256' })).toBe('084774');
    expect(totpAt(SEED.sha512, at(1111111109), { ...DEFAULT_TOTP, algorithm: 'sha512' })).toBe('091201');
  });

  it('the step counter is floor(t / 30) with T0 = 0', () => {
    expect(stepAt(at(29))).toBe(0);
    expect(stepAt(at(30))).toBe(1);
    expect(stepAt(at(20000000000))).toBe(0x27bc86aa);
  });
});

describe('verifyTotp: window and input', () => {
  const key = decodeSecret(RFC_B32);
  const t89 = at(89); // step 2

  it('a ±1 verifier accepts steps 1, 2, 3 at t = 89 and returns the matched step', () => {
    expect(verifyTotp(key, '287082', t89)).toBe(1);
    expect(verifyTotp(key, '359152', t89)).toBe(2);
    expect(verifyTotp(key, '969429', t89)).toBe(3);
  });

  it('rejects steps -2 and +2', () => {
    expect(verifyTotp(key, '755224', t89)).toBeNull();
    expect(verifyTotp(key, '338314', t89)).toBeNull();
  });

  it('a {-1, 0} verifier rejects the next step', () => {
    const past = { ...DEFAULT_TOTP, windowFuture: 0 };
    expect(verifyTotp(key, '969429', t89, -1, past)).toBeNull();
    expect(verifyTotp(key, '287082', t89, -1, past)).toBe(1);
  });

  it('refuses a step at or below afterStep (replay guard input)', () => {
    expect(verifyTotp(key, '359152', t89, 2)).toBeNull();
    expect(verifyTotp(key, '969429', t89, 2)).toBe(3);
  });

  it('refuses numbers, dropped leading zeros, full-width digits, spaces and 8-digit values', () => {
    const t = at(1111111109);
    expect(verifyTotp(key, '081804', t)).toBe(Math.floor(1111111109 / 30));
    expect(verifyTotp(key, 81804 as unknown as string, t)).toBeNull();
    expect(verifyTotp(key, '81804', t)).toBeNull();
    expect(verifyTotp(key, '０８１８０４', t)).toBeNull();
    expect(verifyTotp(key, '٠٨١٨٠٤', t)).toBeNull();
    expect(verifyTotp(key, ' 287082', at(59))).toBeNull();
    expect(verifyTotp(key, '287082 ', at(59))).toBeNull();
    expect(verifyTotp(key, '94287082', at(59))).toBeNull();
    expect(verifyTotp(key, '2870820', at(59))).toBeNull();
    expect(verifyTotp(key, '', at(59))).toBeNull();
    expect(verifyTotp(key, null as unknown as string, at(59))).toBeNull();
  });

  it('uses only the clock it is given (no hidden Date.now)', () => {
    const spy = jest.spyOn(Date, 'now').mockReturnValue(at(2000000000));
    try {
      expect(verifyTotp(key, '287082', at(59))).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('base32 and secrets', () => {
  it('encodes the RFC seed without padding and round-trips', () => {
    expect(base32Encode(SEED.sha1)).toBe(RFC_B32);
    expect(base32Encode(SEED.sha256)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA');
    expect(base32Decode(RFC_B32).equals(SEED.sha1)).toBe(true);
    for (let n = 0; n < 70; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      expect(base32Decode(base32Encode(bytes)).equals(bytes)).toBe(true);
    }
    expect(encodeSecret(SEED.sha1)).toBe(RFC_B32);
  });

  it('decodes lower case, spaces and padding; refuses other characters', () => {
    expect(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq').equals(SEED.sha1)).toBe(true);
    expect(base32Decode('MZXW6===').toString()).toBe('foo');
    expect(() => base32Decode('GEZDGNB1')).toThrow(TypeError);
    expect(() => base32Decode('GEZD GNB!')).toThrow(TypeError);
  });

  it('generates 160-bit secrets (32 base32 characters, no padding), all distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const s = generateTotpSecret();
      expect(s).toMatch(/^[A-Z2-7]{32}$/);
      expect(decodeSecret(s)).toHaveLength(20);
      seen.add(s);
    }
    expect(seen.size).toBe(100);
  });
});

describe('otpauth URI (SECURITY MFA-25, §B.3)', () => {
  function parse(uri: string) {
    const m = /^otpauth:\/\/totp\/([^?]+)\?(.*)$/.exec(uri);
    expect(m).not.toBeNull();
    const [labelIssuer, account] = m![1]!.split(':');
    return { rawLabel: m![1]!, labelIssuer: decodeURIComponent(labelIssuer!), account: decodeURIComponent(account!), params: new URLSearchParams(m![2]!) };
  }

  it('matches the plugin test URI of §B.3 exactly', () => {
    expect(otpauthUrl('ExampleCo', 'alice@example.com', RFC_B32)).toBe(
      'otpauth://totp/ExampleCo:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ExampleCo&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('label issuer equals the issuer parameter, both URL-encoded; explicit SHA1/6/30; no padding', () => {
    const secret = generateTotpSecret();
    const uri = otpauthUrl('ACME Co: Ltd', 'john.doe+x@email.com', secret);
    expect(uri).toContain('otpauth://totp/ACME%20Co%3A%20Ltd:john.doe%2Bx%40email.com?');
    const { labelIssuer, account, params, rawLabel } = parse(uri);
    expect(rawLabel.split(':')).toHaveLength(2);
    expect(labelIssuer).toBe('ACME Co: Ltd');
    expect(params.get('issuer')).toBe(labelIssuer);
    expect(account).toBe('john.doe+x@email.com');
    expect(params.get('secret')).toBe(secret);
    expect(params.get('secret')).not.toContain('=');
    expect(params.get('algorithm')).toBe('SHA1');
    expect(params.get('digits')).toBe('6');
    expect(params.get('period')).toBe('30');
  });
});
