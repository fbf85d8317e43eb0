export {};

/** The dev outbox page reloads itself when a new message arrives (polling its own JSON view). */
interface Listing {
  messages: { id: string }[];
}

const newest = (): string => document.querySelector<HTMLElement>('#outbox .message')?.dataset.id ?? '';
const shown = newest();

setInterval(async () => {
  try {
    const res = await fetch('/dev/outbox', { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    if (!res.ok) return;
    const { messages } = (await res.json()) as Listing;
    if ((messages[0]?.id ?? '') !== shown) location.reload();
  } catch {
    // The server restarted or is gone: keep the page as it is.
  }
}, 2000);

document.querySelector('.site-header nav a[href="/dev/outbox"]')?.setAttribute('aria-current', 'page');
