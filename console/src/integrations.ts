// OAuth: the consent page an MCP client's authorization request lands on, and a
// project's integrations (OAuth clients) with their connections.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { Integration, Me, Permission, TengineAI } from './sdk';
import { PermissionDeniedError } from './sdk';
import { ErrorBox, ListState, SecretOnce, useLoad, when } from './ui';
import { ProjectNav, act, can } from './project';

const PERMISSIONS: Permission[] = ['read', 'write', 'webhook', 'admin'];

const MEANING: Record<string, string> = {
  read: 'read the project, its keys’ metadata, usage and events, and list its tools',
  write: 'change the project and call its tools',
  webhook: 'manage its webhooks and integrations',
  admin: 'do everything, including creating and revoking API keys',
};

/** The authorization request's query, from `#/oauth/consent?<query>`. */
function consentQuery(): string {
  const at = location.hash.indexOf('?');
  return at < 0 ? '' : location.hash.slice(at + 1);
}

/** Where an answer goes, for people: the host (or the app's scheme). */
function destination(uri: string): string {
  try {
    const u = new URL(uri);
    return u.host || `${u.protocol}…`;
  } catch {
    return uri;
  }
}

/** The consent page: who asks, for which project, for what; allow (maybe less) or deny. */
export function Consent({ client, me }: { client: TengineAI; me: Me | undefined }) {
  const query = consentQuery();
  const request = useLoad(() => client.integrations.describeConsent(query), [client, query]);
  const [granted, setGranted] = useState<Permission[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const decide = async (approve: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const asked = request.data?.permissions ?? [];
      const permissions = granted ?? asked;
      const decision = await client.integrations.decideConsent(query, approve ? { approve, permissions } : { approve });
      location.assign(decision.redirectTo);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  if (request.loading) return html`<section class="consent"><p class="muted" aria-live="polite">Checking the request…</p></section>`;
  if (request.error) {
    const why = request.error instanceof PermissionDeniedError
      ? html`<p>Approving needs a key with <strong>admin</strong> on the project this application asks for. Sign out and sign in with such a key.</p>`
      : null;
    return html`<section class="consent"><h1>This request cannot be approved</h1>${why}<${ErrorBox} error=${request.error} /></section>`;
  }
  const r = request.data;
  if (!r) return null;
  const chosen = granted ?? r.permissions;
  const toggle = (p: Permission) =>
    setGranted(chosen.includes(p) ? chosen.filter((x) => x !== p) : [...chosen, p]);
  return html`<section class="consent card" aria-labelledby="consent-title">
    <h1 id="consent-title">Connect ${r.integration.name}?</h1>
    <p><strong>${r.integration.name}</strong> wants to connect to the project <strong>${r.projectName}</strong> <code>${r.projectId}</code>
      ${r.integration.dynamic ? html` <span class="warning">(it registered itself: check you started this)</span>` : null}.</p>
    <fieldset><legend>It asks to</legend>
      ${r.permissions.map((p) => html`<label key=${p} class="check"><input type="checkbox" name=${`grant-${p}`} checked=${chosen.includes(p)} onChange=${() => toggle(p)} />
        <span><strong>${p}</strong>: ${MEANING[p] ?? p}</span></label>`)}
      <p class="muted">Untick what it should not have; it gets only what stays ticked.</p>
    </fieldset>
    <p>You will be sent back to <strong>${destination(r.redirectUri)}</strong>. Its tokens last an hour and renew until you disconnect it
      (Integrations in the project).${r.resource ? html` They work only at <code>${r.resource}</code>.` : null}</p>
    <p class="muted">Approving as ${me ? `${me.prefix}…` : 'this key'}.</p>
    <${ErrorBox} error=${error} />
    <div class="row">
      <button onClick=${() => void decide(true)} disabled=${busy || chosen.length === 0}>Allow</button>
      <button class="secondary" onClick=${() => void decide(false)} disabled=${busy}>Deny</button>
    </div>
  </section>`;
}

/** One integration: its settings and, opened, its connections. */
function IntegrationRow({ client, projectId, i, allowed, onChanged, onSecret }: {
  client: TengineAI; projectId: string; i: Integration; allowed: boolean; onChanged: () => void; onSecret: (s: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>();
  const connections = useLoad(
    () => (open ? client.integrations.connections(projectId, i.id, { perPage: 100 }) : Promise.resolve(undefined)),
    [client, projectId, i.id, open],
  );
  const live = (connections.data?.data ?? []).filter((c) => c.revokedAt === null);
  return html`<tr>
    <td><strong>${i.name}</strong> ${i.dynamic ? html`<span class="muted">(registered itself)</span>` : null}<br /><code>${i.clientId}</code>
      <div class="muted">${i.clientType} · ${i.redirectUris.join(', ')}</div></td>
    <td>${i.permissions.join(', ')}</td>
    <td>${when(i.createdAt)}</td>
    <td><div class="row">
      <button class="secondary" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? 'Hide connections' : 'Connections'}</button>
      ${allowed && i.clientType === 'confidential'
        ? html`<button class="secondary" onClick=${() => void act(setError, onChanged)(async () => {
            const r = await client.integrations.rotateSecret(projectId, i.id);
            onSecret(r.clientSecret ?? '');
          })}>Rotate secret</button>`
        : null}
      ${allowed
        ? html`<button class="danger" onClick=${() => {
            if (confirm(`Delete ${i.name}? Every connection is revoked and its tokens stop working at once.`)) {
              void act(setError, onChanged)(() => client.integrations.delete(projectId, i.id));
            }
          }}>Delete</button>`
        : null}
    </div>
    <${ErrorBox} error=${error} />
    ${open
      ? html`<${ListState} loading=${connections.loading} error=${connections.error} empty=${live.length === 0} what="connections">
          <ul class="plain">${live.map((c) => html`<li key=${c.id}>
            <code>${c.id}</code> · ${c.scope} · approved by <code>${c.approvedBy}</code> on ${when(c.createdAt)} · last used ${when(c.lastUsedAt)}
            ${allowed ? html` <button class="danger" onClick=${() => void act(setError, connections.reload)(() => client.integrations.disconnect(projectId, i.id, c.id))}>Disconnect</button>` : null}
          </li>`)}</ul>
        </${ListState}>`
      : null}</td>
  </tr>`;
}

/** A project's integrations: create, rotate, delete, connections; the registration policy. */
export function ProjectIntegrations({ client, me, projectId }: { client: TengineAI; me: Me | undefined; projectId: string }) {
  const list = useLoad(() => client.integrations.list(projectId, { perPage: 100 }), [client, projectId]);
  const policy = useLoad(() => client.integrations.registration(projectId), [client, projectId]);
  const [secret, setSecret] = useState<string>();
  const [error, setError] = useState<unknown>();
  const allowed = can(me, 'webhook');
  const create = (e: Event) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const field = (n: string) => (f.elements.namedItem(n) as HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement).value;
    const permissions = PERMISSIONS.filter((p) => (f.elements.namedItem(`perm-${p}`) as HTMLInputElement).checked);
    const redirectUris = field('redirect_uris').split('\n').map((s) => s.trim()).filter(Boolean);
    void act(setError, list.reload)(async () => {
      const made = await client.integrations.create(projectId, { name: field('name'), redirectUris, permissions, clientType: field('client_type') });
      if (made.clientSecret) setSecret(made.clientSecret);
      f.reset();
    });
  };
  const items = list.data?.data ?? [];
  const mcpUrl = `${location.origin}/mcp/${projectId}`;
  return html`<section>
    <h1>Integrations <span class="muted"><code>${projectId}</code></span></h1>
    <${ProjectNav} projectId=${projectId} active="integrations" />
    <p>MCP clients connect with OAuth at <code>${mcpUrl}</code>; each connection needs an admin’s consent.</p>
    ${secret ? html`<${SecretOnce} what="the client secret" secret=${secret} onDone=${() => setSecret(undefined)} />` : null}
    ${allowed
      ? html`<details><summary>Create an integration</summary><form onSubmit=${create} aria-label="Create an integration">
          <div class="row">
            <label><span>Name</span><input name="name" required maxlength="100" /></label>
            <label><span>Client type</span><select name="client_type"><option value="confidential">confidential (has a secret)</option><option value="public">public (PKCE only)</option></select></label>
          </div>
          <label><span>Redirect URIs, one per line (loopback http matches any port)</span><textarea name="redirect_uris" required rows="3" class="wide"></textarea></label>
          <fieldset><legend>It may ask for</legend>${PERMISSIONS.map((p) => html`<label key=${p} class="check"><input type="checkbox" name=${`perm-${p}`} checked=${p === 'read'} /> ${p}</label>`)}</fieldset>
          <button type="submit">Create integration</button>
        </form></details>`
      : html`<p class="muted">Managing integrations needs the webhook permission.</p>`}
    ${policy.data
      ? html`<p>Dynamic client registration (RFC 7591): <strong>${policy.data.enabled ? 'on' : 'off'}</strong>${policy.data.enabled ? ` (at most ${policy.data.permissions.join(', ')})` : ''}.
          ${can(me, 'admin')
            ? html` <button class="secondary" onClick=${() => void act(setError, policy.reload)(() => client.integrations.setRegistration(projectId, { enabled: !policy.data?.enabled }))}>
                ${policy.data.enabled ? 'Turn off' : 'Turn on'}</button>`
            : null}</p>`
      : null}
    <${ErrorBox} error=${error} />
    <${ListState} loading=${list.loading} error=${list.error} empty=${items.length === 0} what="integrations">
      <div class="scroll"><table>
        <thead><tr><th scope="col">Integration</th><th scope="col">May ask for</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
        <tbody>${items.map((i) => html`<${IntegrationRow} key=${i.id} client=${client} projectId=${projectId} i=${i} allowed=${allowed} onChanged=${list.reload} onSecret=${setSecret} />`)}</tbody>
      </table></div>
    </${ListState}>
  </section>`;
}
