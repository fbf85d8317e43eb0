import { maskEmail, maskPhone } from '../../lib/delivery/mask';

describe('maskEmail', () => {
  it.each([
    ['alice@example.com', 'a***@e***.com'],
    ['bob@acme.test', 'b***@a***.test'],
    ['b@x.io', 'b***@x***.io'],
    ['carol.smith+mfa@mail.example.co.uk', 'c***@m***.uk'],
    ['  Dave@Example.com ', 'D***@E***.com'],
    ['root@localhost', 'r***@l***'],
    ['émile@exämple.fr', 'é***@e***.fr'],
  ])('%s -> %s', (input, masked) => {
    expect(maskEmail(input)).toBe(masked);
  });

  it('never tells the length of the local part', () => {
    expect(maskEmail('a@example.com')).toBe(maskEmail('averyveryverylongname@example.com'));
  });

  it.each(['', 'no-at-sign', '@example.com', 'alice@', 42 as unknown as string, null as unknown as string])(
    'gives a fixed mask for %p',
    (input) => {
      expect(maskEmail(input)).toBe('***');
    },
  );
});

describe('maskPhone', () => {
  it.each([
    ['+12025552671', '+1******2671'],
    ['+447911123456', '+44******3456'],
    ['+33612345678', '+33*****5678'],
    ['+8613812345678', '+86*******5678'],
  ])('%s -> %s', (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });

  it('keeps only the last 4 digits of a number it cannot parse', () => {
    expect(maskPhone('0123456789')).toBe('******6789');
  });

  it.each(['', '+1', '12345', 'abc', undefined as unknown as string])('gives a fixed mask for %p', (input) => {
    expect(maskPhone(input)).toBe('***');
  });
});
