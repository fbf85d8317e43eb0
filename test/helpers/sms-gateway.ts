import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../lib/delivery/webhook';

export interface GatewayRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  json: unknown;
  /** Checked with `verifyWebhookSignature` against the gateway's secret and the real clock. */
  signatureValid: boolean;
}

export type GatewayMode = { kind: 'ok'; status?: number } | { kind: 'fail'; status: number } | { kind: 'hang' };

export interface SmsGateway {
  url: string;
  requests: GatewayRequest[];
  /** How the next requests are answered: 2xx (default 202), an error status, or never. */
  mode: GatewayMode;
  close(): Promise<void>;
}

/** A local HTTP server standing in for an SMS gateway: it records and verifies every webhook. */
export async function startSmsGateway(secret: string | Buffer): Promise<SmsGateway> {
  const gateway: Omit<SmsGateway, 'url' | 'close'> = { requests: [], mode: { kind: 'ok' } };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(rawBody);
      } catch {
        /* recorded as null */
      }
      gateway.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        json,
        signatureValid: verifyWebhookSignature(
          secret,
          req.headers['x-stepup-timestamp'] as string | undefined,
          rawBody,
          req.headers['x-stepup-signature'] as string | undefined,
          Date.now() / 1000,
        ),
      });
      const mode = gateway.mode;
      if (mode.kind === 'hang') return; // never answers; close() destroys the socket
      res.writeHead(mode.kind === 'ok' ? (mode.status ?? 202) : mode.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ accepted: mode.kind === 'ok' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return Object.assign(gateway, {
    url: `http://127.0.0.1:${port}/sms`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
