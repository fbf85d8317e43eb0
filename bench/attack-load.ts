// The attacker of scenario 4 in its own process, so its 200 connections do not share the event loop of
// the load generator that measures the other user. Input: env ATTACK (JSON); output: one JSON line.
import type autocannon from 'autocannon';
import { load } from './scenarios/guarded';

interface AttackSpec {
  base: string;
  seconds: number;
  connections: number;
  kind: 'codes' | 'passwords';
  ip: string;
  cookies?: string[];
  users?: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.ATTACK ?? '{}') as AttackSpec;
  let n = 0;
  const requests: autocannon.Request[] =
    spec.kind === 'codes'
      ? [
          {
            method: 'POST',
            path: '/auth/mfa/challenge',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': spec.ip },
            body: JSON.stringify({ method: 'totp', code: '000000' }),
            setupRequest: (req) => ({ ...req, headers: { ...(req.headers ?? {}), cookie: spec.cookies![n++ % spec.cookies!.length]! } }),
          },
        ]
      : [
          {
            method: 'POST',
            path: '/auth/login',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': spec.ip },
            setupRequest: (req) => ({ ...req, body: JSON.stringify({ tenant: 'acme', email: `user${2 + (n++ % ((spec.users ?? 100) - 2))}@acme.test`, password: 'wrong password 123' }) }),
          },
        ];
  // Loaded and ready: wait for the go (so this process's start-up CPU falls outside the measured round).
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const res = await load(spec.base, { seconds: spec.seconds, connections: spec.connections, requests });
  // stdin stays open (it carried the go): leave explicitly once the result is written.
  process.stdout.write(JSON.stringify(res) + '\n', () => process.exit(0));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
