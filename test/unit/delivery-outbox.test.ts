import { DevOutbox } from '../../lib/delivery/outbox';
import type { Mailer, SmsSender } from '../../lib/delivery/ports';

describe('DevOutbox', () => {
  it('is both a Mailer and an SmsSender, and lists newest first', async () => {
    let now = 1_000;
    const outbox = new DevOutbox({ now: () => now });
    const mailer: Mailer = outbox;
    const sms: SmsSender = outbox;
    await mailer.send({ to: 'a@example.com', subject: 'S', text: 'T', html: '<p>T</p>' });
    now = 2_000;
    await sms.send({ to: '+12025552671', text: 'code 123456' });
    const [latest, first] = outbox.list();
    expect(latest).toMatchObject({ channel: 'sms', to: '+12025552671', text: 'code 123456', at: new Date(2_000) });
    expect(latest!.subject).toBeUndefined();
    expect(first).toMatchObject({ channel: 'email', to: 'a@example.com', subject: 'S', text: 'T', html: '<p>T</p>', at: new Date(1_000) });
    expect(latest!.id).not.toBe(first!.id);
  });

  it('keeps only the last N messages', async () => {
    const outbox = new DevOutbox({ capacity: 3 });
    for (let i = 0; i < 5; i++) await outbox.send({ to: `u${i}@x.test`, text: String(i) });
    expect(outbox.list().map((e) => e.text)).toEqual(['4', '3', '2']);
  });

  it('filters by recipient and channel, hands out copies, and clears', async () => {
    const outbox = new DevOutbox();
    await outbox.send({ to: 'a@x.test', subject: 's', text: 't', html: 'h' });
    await outbox.send({ to: '+12025552671', text: 't' });
    expect(outbox.list({ to: 'a@x.test' })).toHaveLength(1);
    expect(outbox.list({ channel: 'sms' })[0]!.to).toBe('+12025552671');
    outbox.list()[0]!.text = 'changed';
    expect(outbox.list()[0]!.text).toBe('t');
    outbox.clear();
    expect(outbox.list()).toEqual([]);
  });

  it('checks its options', () => {
    expect(() => new DevOutbox({ capacity: 0 })).toThrow(/`capacity`/);
    expect(() => new DevOutbox({ now: 3 as never })).toThrow(/`now`/);
  });
});
