/**
 * The console's entry point: sign-in with an access key (kept in sessionStorage), then pages
 * chosen by the URL's hash (`#/ais`, `#/flows`, `#/live`, `#/talk`, ...), so every page has a link and
 * the browser's back button works. Each page gets a fresh container and a signal that aborts
 * when the user leaves it (closing its WebSocket, timers).
 */
import { api, ApiError, storedKey, storeKey } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { renderAis } from './pages/ais.ts';
import { renderHistory } from './pages/history.ts';
import { renderLive } from './pages/live.ts';
import { renderResources, resourceKinds } from './pages/resources.ts';
import { renderSignIn } from './pages/sign-in.ts';
import { renderTalk } from './pages/talk.ts';

/** The signed-in customer, as `GET /v1.0/customer` answers. */
export interface Customer {
  id: string;
  name: string;
}

interface Section {
  path: string;
  title: string;
  render: (container: HTMLElement, customer: Customer, signal: AbortSignal) => Promise<void> | void;
}

const sections: Section[] = [
  { path: 'ais', title: 'AIs', render: (container) => renderAis(container) },
  ...resourceKinds.map((kind) => ({ path: kind.path, title: kind.title, render: (container: HTMLElement) => renderResources(container, kind) })),
  { path: 'live', title: 'Live calls', render: (container, customer, signal) => renderLive(container, customer, signal) },
  { path: 'history', title: 'History', render: (container) => renderHistory(container) },
  { path: 'talk', title: 'Talk', render: (container, customer, signal) => renderTalk(container, customer, signal) },
];

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let customer: Customer | undefined;
let leave: AbortController | undefined;

function currentPath(): string {
  return location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
}

/** Sets the page's hash without a `hashchange` (the caller shows the page itself). */
function replaceHash(hash: string): void {
  history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

function signOut(): void {
  storeKey(undefined);
  customer = undefined;
  replaceHash('');
  void show();
}

async function show(): Promise<void> {
  leave?.abort();
  leave = new AbortController();
  const signal = leave.signal;
  if (!customer && storedKey()) {
    try {
      customer = await api<Customer>('GET', '/v1.0/customer');
    } catch {
      storeKey(undefined);
    }
  }
  if (signal.aborted) return;
  if (!customer) {
    nav.hidden = true;
    replaceChildren(who);
    document.title = 'Sign in - AI voice platform console';
    renderSignIn(main, async (signedIn) => {
      customer = signedIn;
      if (!currentPath()) replaceHash('#/ais');
      await show();
    });
    return;
  }
  const path = currentPath();
  const section = sections.find((candidate) => candidate.path === path) ?? sections[0]!;
  nav.hidden = false;
  replaceChildren(
    nav,
    ...sections.map((candidate) => h('a', { href: `#/${candidate.path}`, 'aria-current': candidate === section ? 'page' : undefined }, candidate.title)),
  );
  replaceChildren(who, h('span', {}, customer.name || customer.id), ' ', h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'));
  document.title = `${section.title} - AI voice platform console`;
  const container = h('section', { 'data-page': section.path, 'aria-labelledby': 'page-title' });
  replaceChildren(main, container);
  try {
    await section.render(container, customer, signal);
  } catch (error) {
    // A key revoked meanwhile: back to the sign-in.
    if (error instanceof ApiError && error.status === 401) signOut();
    else container.append(h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error)));
  }
}

window.addEventListener('hashchange', () => {
  void show().then(() => main.focus({ preventScroll: true }));
});
void show();
