import { parsePhone } from '../../lib/delivery/phone';

describe('parsePhone', () => {
  it.each([
    ['+12025552671', undefined, '+12025552671'],
    ['+1 (202) 555-2671', undefined, '+12025552671'],
    ['(202) 555-2671', 'US', '+12025552671'],
    ['202.555.2671', 'us', '+12025552671'],
    ['07911 123456', 'GB', '+447911123456'],
    ['+44 7911 123456', 'US', '+447911123456'], // an international number wins over the hint
    ['06 12 34 56 78', 'FR', '+33612345678'],
  ])('%p (hint %p) -> %p', (input, hint, e164) => {
    expect(parsePhone(input, hint)).toBe(e164);
  });

  it.each([
    ['202 555 2671', undefined], // national format without a hint
    ['+15555555555', undefined], // right length, not a real US number
    ['+1202555267', undefined], // too short
    ['+120255526710000', undefined], // too long
    ['+1 202 555 2671 ext. 12', undefined], // extension
    ['+1 202 555 2671;ext=12', undefined],
    ['+1-800-FLOWERS', undefined], // letters
    ['', 'US'],
    ['   ', 'US'],
    ['2025552671', 'XX'], // unknown country hint
    ['2025552671', 'USA'],
    ['+1202\n5552671', undefined],
    [`+1${'2'.repeat(40)}`, undefined], // over-long input
    [' '.repeat(30) + '+12025552671', undefined],
  ])('refuses %p (hint %p)', (input, hint) => {
    expect(parsePhone(input, hint)).toBeNull();
  });

  it('refuses non-strings', () => {
    expect(parsePhone(12025552671 as unknown as string)).toBeNull();
    expect(parsePhone({ $gt: '' } as unknown as string)).toBeNull();
    expect(parsePhone('2025552671', 1 as unknown as string)).toBeNull();
  });
});
