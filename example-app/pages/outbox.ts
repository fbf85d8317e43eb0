import { Router } from 'express';
import type { DevOutbox, OutboxEntry } from '../../lib/delivery';
import { escapeHtml } from '../../lib/delivery';
import { renderLayout } from './router';

/**
 * `GET /dev/outbox` (development only: the app never mounts it with NODE_ENV=production): the mails
 * and text messages the dev outbox "sent", newest first, as a page or, with `Accept: application/json`,
 * as `{messages:[...]}`. It shows codes in clear on purpose: that is how testers receive them.
 */

/**
 * The 6-digit code in a message, for a quick look (and for tests). Six digits inside a longer word
 * (a link's base64url token) are not a code.
 */
export function codeIn(text: string): string | null {
  return /(?<![\w-])(\d{6})(?![\w-])/.exec(text)?.[1] ?? null;
}

/**
 * The body as HTML: escaped, with the app's own links (verification, reset) made clickable so testers
 * can follow them. Links to any other origin stay text.
 */
export function bodyHtml(text: string, origins: readonly string[]): string {
  const own = new Set(origins);
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/https?:\/\/[^\s<>"']+/g)) {
    let origin: string | null = null;
    try {
      origin = new URL(m[0]).origin;
    } catch {
      origin = null;
    }
    if (!origin || !own.has(origin)) continue;
    out += `${escapeHtml(text.slice(last, m.index))}<a class="message-link" href="${escapeHtml(m[0])}">${escapeHtml(m[0])}</a>`;
    last = m.index! + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

function view(e: OutboxEntry) {
  return { id: e.id, channel: e.channel, to: e.to, subject: e.subject ?? null, text: e.text, at: e.at.toISOString(), code: codeIn(e.text) };
}

function item(e: OutboxEntry, origins: readonly string[]): string {
  const v = view(e);
  const kind = v.channel === 'email' ? 'Email' : 'SMS';
  const code = v.code ? `<p class="otp-line">Code <strong class="otp" data-code="${escapeHtml(v.code)}">${escapeHtml(v.code)}</strong></p>` : '';
  return `<li class="message" data-id="${escapeHtml(v.id)}" data-channel="${v.channel}" data-to="${escapeHtml(v.to)}">
  <p class="message-head"><span class="badge badge-${v.channel}">${kind}</span> to <strong>${escapeHtml(v.to)}</strong> · <time datetime="${v.at}">${escapeHtml(v.at.replace('T', ' ').slice(0, 19))} UTC</time></p>
  ${v.subject ? `<h2 class="message-subject">${escapeHtml(v.subject)}</h2>` : ''}
  ${code}
  <pre class="message-body">${bodyHtml(v.text, origins)}</pre>
</li>`;
}

export function outboxRouter(outbox: DevOutbox, info: { smtp: boolean; smsGateway: boolean; origins?: readonly string[] }): Router {
  const origins = info.origins ?? [];
  const r = Router();
  r.get('/', (req, res) => {
    res.set('Cache-Control', 'no-store');
    const messages = outbox.list();
    if (req.accepts(['html', 'json']) === 'json') return res.json({ messages: messages.map(view) });
    const where = [info.smtp ? 'Mail goes to the SMTP server, not here.' : '', info.smsGateway ? 'SMS go to the webhook gateway, not here.' : ''].join(' ');
    const main = `<div class="page-head"><h1>Dev outbox</h1><a class="button secondary" href="/dev/outbox">Refresh</a></div>
<p class="lead">Messages the app sent in development mode, newest first. Nothing here left this machine. ${escapeHtml(where)}</p>
<p class="hint" id="outbox-count" role="status">${messages.length} message${messages.length === 1 ? '' : 's'}. This page refreshes itself when a new one arrives.</p>
${messages.length ? `<ol class="outbox" id="outbox">${messages.map((m) => item(m, origins)).join('\n')}</ol>` : '<p class="empty" id="outbox-empty">No messages yet. Ask for an email or SMS code, or a confirmation or reset link, and it will appear here.</p>'}`;
    res.type('html').send(renderLayout({ title: 'Dev outbox', nav: 'public', script: 'outbox', main, devOutbox: true }));
  });
  return r;
}
