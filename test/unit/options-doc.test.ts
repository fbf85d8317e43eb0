/**
 * The options reference is generated (scripts/options-doc.ts): docs/OPTIONS.md and the README section
 * must be what the generator writes now, so an option added to the schema without `npm run docs` fails here.
 */
import { readFileSync } from 'node:fs';
import { OPTIONS_MD, README, optionRows, optionsMarkdown, readmeWithOptions } from '../../scripts/options-doc';

describe('options reference', () => {
  // One TypeScript program for the doc comments: slow on a busy machine.
  jest.setTimeout(120_000);
  let markdown: string;
  beforeAll(() => {
    markdown = optionsMarkdown();
  });

  it('docs/OPTIONS.md is up to date (run `npm run docs`)', () => {
    expect(readFileSync(OPTIONS_MD, 'utf8')).toBe(markdown);
  });

  it('the README options section is up to date (run `npm run docs`)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readmeWithOptions(readme)).toBe(readme);
  });

  it('lists every key of the schema, nested ones too, with defaults and descriptions from StepUpOptions', () => {
    const rows = new Map(optionRows().map((r) => [r.path, r]));
    expect(rows.get('issuer')).toMatchObject({ required: true, type: 'string' });
    expect(rows.get('session.secureCookie')).toMatchObject({ default: '`"auto"`' });
    expect(rows.get('defaultTenant')?.doc).toMatch(/Single-tenant mode/);
    expect(rows.get('lockout.maxFailures')).toMatchObject({ default: '`10`', bounds: '1..100' });
    expect(rows.has('lifecycle.links.verifyEmail')).toBe(true);
  });
});
