// The embeddable portal: opens with the one-time code in the URL's fragment, then shows
// one project's chosen sections with the portal's own, narrowed token.
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { PortalExchange } from './sdk';
import { TengineAI } from './sdk';
import { ErrorBox, clientFor } from './ui';
import { ProjectKeys, ProjectUsage } from './pages';
import { ProjectWebhooks } from './project';

const KEY = 'tengine.portal';

function applyTheme(theme: Record<string, unknown> | null | undefined) {
  if (!theme) return;
  const root = document.documentElement.style;
  // The server checked each value (a colour or a length), so it is safe as CSS.
  for (const name of ['accent', 'background', 'text', 'radius']) {
    const v = theme[name];
    if (typeof v === 'string') root.setProperty(`--tengine-${name}`, v);
  }
}

function Portal() {
  const [opened, setOpened] = useState<PortalExchange | null>(() => {
    const kept = sessionStorage.getItem(KEY);
    return kept ? (JSON.parse(kept) as PortalExchange) : null;
  });
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const code = new URLSearchParams(location.hash.slice(1)).get('code');
    if (!code) return;
    // The code leaves the address bar at once, and works only once.
    history.replaceState(null, '', location.pathname);
    new TengineAI({ apiKey: 'portal', baseUrl: location.origin, maxRetries: 0 }).sessions.exchangePortalCode(code).then(
      (o) => {
        sessionStorage.setItem(KEY, JSON.stringify(o));
        setOpened(o);
      },
      setError,
    );
  }, []);
  useEffect(() => applyTheme(opened?.theme), [opened]);
  if (error) return html`<main><h1>This session has ended</h1><${ErrorBox} error=${error} /></main>`;
  if (!opened) return html`<main><p class="muted">Opening…</p></main>`;
  const client = clientFor(opened.token);
  const me = { permissions: opened.permissions, scope: 'project', projectId: opened.projectId } as never;
  const show = (s: string) => opened.sections.includes(s as never);
  return html`<main>
    ${show('usage') ? html`<${ProjectUsage} client=${client} projectId=${opened.projectId} nav=${false} />` : null}
    ${show('keys') ? html`<${ProjectKeys} client=${client} me=${me} projectId=${opened.projectId} nav=${false} />` : null}
    ${show('webhooks') ? html`<${ProjectWebhooks} client=${client} me=${me} projectId=${opened.projectId} nav=${false} deliveries=${show('deliveries')} />` : null}
  </main>`;
}

const root = document.getElementById('app');
if (root) render(html`<${Portal} />`, root);
