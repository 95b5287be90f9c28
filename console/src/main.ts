// The console: sign in with an API key (exchanged for a session token at once), then
// the account's projects and each project's keys, usage, webhooks, events and tools.
// Hash routes: #/, #/projects, #/projects/<id>/{keys,usage,webhooks,events,tools,integrations},
// and #/oauth/consent?<authorization request> (where /oauth/authorize sends the browser;
// signing in first keeps the route).
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Me } from './sdk';
import { AuthenticationError, TengineAI } from './sdk';
import { ErrorBox, TOKEN, clientFor } from './ui';
import { Overview, ProjectKeys, ProjectUsage, Projects } from './pages';
import { ProjectEvents, ProjectTools, ProjectWebhooks } from './project';
import { Consent, ProjectIntegrations } from './integrations';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn({ onToken, notice }: { onToken: (t: string) => void; notice: string | undefined }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('key') as HTMLInputElement;
    setBusy(true);
    setError(undefined);
    try {
      // The key is used once, here, and dropped: only the session token is kept.
      const session = await new TengineAI({ apiKey: input.value.trim(), baseUrl: location.origin, maxRetries: 0 }).sessions.signIn();
      input.value = '';
      onToken(session.token);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Sign in to Tengine</h1>
    ${notice ? html`<p class="warning" role="status">${notice}</p>` : null}
    <form onSubmit=${submit}>
      <label><span>API key (printed in the server's first-start banner)</span>
        <input name="key" type="password" autocomplete="off" required class="wide" /></label>
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
    <${ErrorBox} error=${error} />
  </main>`;
}

function App() {
  const [token, setToken] = useState<string | null>(sessionStorage.getItem(TOKEN));
  const [me, setMe] = useState<Me>();
  const [notice, setNotice] = useState<string>();
  const hash = useHash();
  const client = token ? clientFor(token) : undefined;

  const signOut = (why?: string) => {
    sessionStorage.removeItem(TOKEN);
    setToken(null);
    setMe(undefined);
    setNotice(why);
  };
  useEffect(() => {
    if (!client) return;
    client.me().then(setMe, (e: unknown) => {
      if (e instanceof AuthenticationError) signOut('Your session ended (signed out, expired, or its key was revoked). Sign in again.');
    });
  }, [token]);
  // Any 401 from a page signs out, too.
  useEffect(() => {
    const on = (e: PromiseRejectionEvent) => {
      if (e.reason instanceof AuthenticationError) signOut('Your session ended. Sign in again.');
    };
    addEventListener('unhandledrejection', on);
    return () => removeEventListener('unhandledrejection', on);
  }, []);

  if (!token || !client) {
    return html`<${SignIn} notice=${notice} onToken=${(t: string) => {
      sessionStorage.setItem(TOKEN, t);
      setNotice(undefined);
      setToken(t);
    }} />`;
  }
  const parts = hash.replace(/^#\/?/, '').split('/');
  let page;
  if (parts[0] === 'projects' && parts[1] && parts[2] === 'keys') page = html`<${ProjectKeys} client=${client} me=${me} projectId=${parts[1]} />`;
  else if (parts[0] === 'projects' && parts[1] && parts[2] === 'usage') page = html`<${ProjectUsage} client=${client} projectId=${parts[1]} />`;
  else if (parts[0] === 'projects' && parts[1] && parts[2] === 'webhooks') page = html`<${ProjectWebhooks} client=${client} me=${me} projectId=${parts[1]} />`;
  else if (parts[0] === 'projects' && parts[1] && parts[2] === 'events') page = html`<${ProjectEvents} client=${client} projectId=${parts[1]} />`;
  else if (parts[0] === 'projects' && parts[1] && parts[2] === 'integrations') page = html`<${ProjectIntegrations} client=${client} me=${me} projectId=${parts[1]} />`;
  else if (parts[0] === 'oauth' && parts[1]?.startsWith('consent')) page = html`<${Consent} client=${client} me=${me} />`;
  else if (parts[0] === 'projects' && parts[1] && parts[2] === 'tools') page = html`<${ProjectTools} client=${client} me=${me} projectId=${parts[1]} />`;
  else if (parts[0] === 'projects') page = html`<${Projects} client=${client} me=${me} />`;
  else page = html`<${Overview} client=${client} me=${me} />`;
  return html`<div>
    <header class="bar">
      <strong>Tengine</strong>
      <nav aria-label="Main"><a href="#/">Overview</a><a href="#/projects">Projects</a></nav>
      <span class="who">${me ? `${me.prefix}… · ${me.scope === 'account' ? 'account' : me.projectId} · ${me.permissions.join(', ')}` : ''}</span>
      <button class="secondary" onClick=${async () => {
        try { await client.sessions.signOut(); } catch { /* already ended */ }
        signOut('Signed out.');
      }}>Sign out</button>
    </header>
    <main>${page}</main>
  </div>`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
