// The console's pages: overview, projects, a project's keys and its usage.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { ApiKey, Me, Project, TengineAI } from './sdk';
import { Chart, ErrorBox, ListState, Pager, SecretOnce, allowance, useLoad, when } from './ui';
import { ProjectNav, can } from './project';


/** The overview's two ranges, ending now. */
function lastDays(days: number): { startDate: Date } {
  return { startDate: new Date(Date.now() - days * 24 * 3600 * 1000) };
}

export function Overview({ client, me }: { client: TengineAI; me: Me | undefined }) {
  // Two account-wide summaries (GET /analytics): its cost does not grow with the number
  // of projects, only with the range's usage rows.
  const day = useLoad(() => client.analytics.overview({ ...lastDays(1), limit: 5 }), [client]);
  const week = useLoad(() => client.analytics.overview({ ...lastDays(7), limit: 1 }), [client]);
  const ready = !day.loading && !week.loading && me !== undefined;
  useEffect(() => {
    if (ready) performance.mark('overview-ready');
  }, [ready]);
  const left = allowance();
  const n = (x: number | undefined) => (x === undefined ? '…' : x.toLocaleString());
  const failing = day.data?.failingWebhooks;
  return html`<section data-ready=${ready ? 'overview' : undefined} aria-busy=${!ready}>
    <h1>Overview</h1>
    <div class="cards">
      <div class="card"><div class="muted">Plan</div><div class="n">${me?.plan ?? '…'}</div></div>
      <div class="card"><div class="muted">Hourly limit</div><div class="n">${me ? (me.limit === null || me.limit === undefined ? 'unlimited' : n(me.limit)) : '…'}</div></div>
      <div class="card"><div class="muted">Left this hour</div><div class="n">${left ? n(left.remaining) : me && (me.limit === null || me.limit === undefined) ? 'no limit' : '…'}</div>
        ${left ? html`<div class="muted">resets ${new Date(left.reset * 1000).toLocaleTimeString()}</div>` : null}</div>
    </div>
    <${ErrorBox} error=${day.error ?? week.error} />
    <div class="scroll"><table>
      <caption>Requests across ${me?.scope === 'project' ? 'this project' : 'all projects'}</caption>
      <thead><tr><th scope="col">Range</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Rate-limited</th><th scope="col">Active projects</th></tr></thead>
      <tbody>
        ${[['Last 24 h', day.data], ['Last 7 days', week.data]].map(([label, d]) => {
          const a = d as typeof day.data;
          return html`<tr key=${label as string}><th scope="row">${label as string}</th><td>${n(a?.totals.requests)}</td><td>${n(a?.totals.errors)}</td><td>${n(a?.totals.rateLimited)}</td><td>${n(a?.activeProjects)}</td></tr>`;
        })}
      </tbody>
    </table></div>
    <h2>Busiest projects (24 h)</h2>
    <${ListState} loading=${day.loading} error=${day.error} empty=${(day.data?.projects ?? []).length === 0} what="requests in the last 24 hours">
      <div class="scroll"><table>
        <thead><tr><th scope="col">Project</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Rate-limited</th></tr></thead>
        <tbody>${(day.data?.projects ?? []).map((p) => html`<tr key=${p.projectId}>
          <td><a href=${`#/projects/${p.projectId}/usage`}>${p.name}</a></td><td>${n(p.requests)}</td><td>${n(p.errors)}</td><td>${n(p.rateLimited)}</td></tr>`)}</tbody>
      </table></div>
    </${ListState}>
    <h2>Failing webhooks</h2>
    ${failing === null
      ? html`<p class="muted">This key cannot see webhooks (it lacks the <code>webhook</code> permission).</p>`
      : html`<${ListState} loading=${day.loading} error=${day.error} empty=${(failing ?? []).length === 0} what="failing webhooks">
      <div class="scroll"><table>
        <thead><tr><th scope="col">Webhook</th><th scope="col">Failing since</th><th scope="col">State</th></tr></thead>
        <tbody>${(failing ?? []).map((w) => html`<tr key=${w.id}>
          <td><a href=${`#/projects/${w.projectId}/webhooks`}>${w.url}</a></td><td>${when(w.failingSince)}</td><td>${w.active ? 'retrying' : 'disabled'}</td></tr>`)}</tbody>
      </table></div>
    </${ListState}>`}
  </section>`;
}

export function Projects({ client, me }: { client: TengineAI; me: Me | undefined }) {
  const [page, setPage] = useState(1);
  const list = useLoad(() => client.projects.list({ page, perPage: 20 }), [client, page]);
  const [error, setError] = useState<unknown>();
  const canCreate = can(me, 'write') && me?.scope === 'account';
  const create = async (e: Event) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const name = (f.elements.namedItem('name') as HTMLInputElement).value;
    const description = (f.elements.namedItem('description') as HTMLInputElement).value;
    try {
      setError(undefined);
      await client.projects.create({ name, description: description || undefined });
      f.reset();
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (p: Project) => {
    if (!confirm(`Delete "${p.name}"? Its API keys stop working at once, its webhooks stop receiving events, and its tools disappear from /mcp.`)) return;
    try {
      await client.projects.delete(p.id);
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const rename = async (p: Project) => {
    const name = prompt('New name', p.name);
    if (!name || name === p.name) return;
    try {
      await client.projects.update(p.id, { name });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const describe = async (p: Project) => {
    const description = prompt('Description (empty to clear)', p.description ?? '');
    if (description === null || description === (p.description ?? '')) return;
    try {
      await client.projects.update(p.id, { description: description === '' ? null : description });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const items = list.data?.data ?? [];
  return html`<section>
    <h1>Projects</h1>
    ${canCreate
      ? html`<form class="row" onSubmit=${create} aria-label="Create a project">
          <label><span>Name</span><input name="name" required maxlength="100" /></label>
          <label><span>Description</span><input name="description" maxlength="1000" /></label>
          <button type="submit">Create project</button>
        </form>`
      : html`<p class="muted">Creating projects needs an account-wide key with write.</p>`}
    <${ErrorBox} error=${error} />
    <${ListState} loading=${list.loading} error=${list.error} empty=${items.length === 0} what="projects">
      <div class="scroll"><table>
        <thead><tr><th>Name</th><th>Description</th><th>Created</th><th>Actions</th></tr></thead>
        <tbody>${items.map((p) => html`<tr key=${p.id}>
          <td>${p.name}<div class="muted"><code>${p.id}</code></div></td>
          <td>${p.description ?? ''}</td>
          <td>${when(p.createdAt)}</td>
          <td class="row">
            <a href=${`#/projects/${p.id}/keys`}>Keys</a>
            <a href=${`#/projects/${p.id}/usage`}>Usage</a>
            <button class="secondary" disabled=${!can(me, 'write')} title=${can(me, 'write') ? '' : 'Needs write'} onClick=${() => rename(p)}>Rename</button>
            <button class="secondary" disabled=${!can(me, 'write')} title=${can(me, 'write') ? '' : 'Needs write'} onClick=${() => describe(p)}>Edit description</button>
            <button class="danger" disabled=${!can(me, 'admin')} title=${can(me, 'admin') ? '' : 'Needs admin'} onClick=${() => remove(p)}>Delete</button>
          </td></tr>`)}</tbody>
      </table></div>
      <${Pager} page=${page} hasNext=${!!list.data?.hasNext()} setPage=${setPage} />
    </${ListState}>
  </section>`;
}

const PERMISSIONS = ['read', 'write', 'webhook', 'admin'] as const;

export function ProjectKeys({ client, me, projectId, nav = true }: { client: TengineAI; me: Me | undefined; projectId: string; nav?: boolean }) {
  const list = useLoad(() => client.apiKeys.list(projectId, { perPage: 100 }), [client, projectId]);
  const [secret, setSecret] = useState<{ name: string; key: string }>();
  const [error, setError] = useState<unknown>();
  const [filter, setFilter] = useState<'all' | 'active' | 'revoked' | 'expiring'>('active');
  const admin = can(me, 'admin');
  const create = async (e: Event) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const name = (f.elements.namedItem('name') as HTMLInputElement).value;
    const permissions = PERMISSIONS.filter((p) => (f.elements.namedItem(`perm-${p}`) as HTMLInputElement).checked);
    const expires = (f.elements.namedItem('expires') as HTMLInputElement).value;
    try {
      setError(undefined);
      const made = await client.apiKeys.create(projectId, { name, permissions: [...permissions], expiresAt: expires ? new Date(expires) : undefined });
      setSecret({ name: made.name, key: made.key ?? '' });
      f.reset();
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const rotate = async (k: ApiKey) => {
    const grace = prompt('Grace period for the old secret, in seconds (0 to 604800)', '3600');
    if (grace === null) return;
    try {
      const made = await client.apiKeys.rotate(projectId, k.id, { gracePeriodSeconds: Number(grace) || 0 });
      setSecret({ name: made.name, key: made.key ?? '' });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: ApiKey) => {
    if (!confirm(`Revoke "${k.name}"? Every request with it fails from now on.`)) return;
    try {
      await client.apiKeys.revoke(projectId, k.id);
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const soon = Date.now() + 7 * 24 * 3600 * 1000;
  const keys = (list.data?.data ?? []).filter((k) =>
    filter === 'all' ? true
    : filter === 'revoked' ? !!k.revokedAt
    : filter === 'expiring' ? !k.revokedAt && !!k.expiresAt && new Date(k.expiresAt).getTime() < soon
    : !k.revokedAt);
  return html`<section>
    <h1>API keys <span class="muted"><code>${projectId}</code></span></h1>
    ${nav ? html`<${ProjectNav} projectId=${projectId} active="keys" />` : null}
    ${secret ? html`<${SecretOnce} what=${`the secret of "${secret.name}"`} secret=${secret.key} onDone=${() => setSecret(undefined)} />` : null}
    ${admin
      ? html`<form onSubmit=${create} aria-label="Create an API key">
          <div class="row">
            <label><span>Name</span><input name="name" required maxlength="100" /></label>
            <label><span>Expires (optional)</span><input name="expires" type="datetime-local" /></label>
          </div>
          <fieldset class="row"><legend>Permissions</legend>
            ${PERMISSIONS.map((p) => html`<label key=${p}><input type="checkbox" name=${`perm-${p}`} defaultChecked=${p === 'read'} /> ${p}</label>`)}
          </fieldset>
          <button type="submit">Create key</button>
        </form>`
      : html`<p class="muted">Creating, rotating and revoking keys needs admin.</p>`}
    <${ErrorBox} error=${error} />
    <label><span>Show</span>
      <select value=${filter} onChange=${(e: Event) => setFilter((e.currentTarget as HTMLSelectElement).value as typeof filter)}>
        <option value="active">Active</option><option value="revoked">Revoked</option>
        <option value="expiring">Expiring within 7 days</option><option value="all">All</option>
      </select></label>
    <${ListState} loading=${list.loading} error=${list.error} empty=${keys.length === 0} what="keys">
      <div class="scroll"><table>
        <thead><tr><th>Name</th><th>Prefix</th><th>Permissions</th><th>Created</th><th>Last used</th><th>Expires</th><th>Revoked</th><th>Actions</th></tr></thead>
        <tbody>${keys.map((k) => html`<tr key=${k.id}>
          <td>${k.name}</td><td><code>${k.prefix}</code></td><td>${k.permissions.join(', ')}</td>
          <td>${when(k.createdAt)}</td><td>${when(k.lastUsedAt)}</td><td>${when(k.expiresAt)}</td><td>${when(k.revokedAt)}</td>
          <td class="row">${admin && !k.revokedAt
            ? html`<button class="secondary" onClick=${() => rotate(k)}>Rotate</button><button class="danger" onClick=${() => revoke(k)}>Revoke</button>`
            : null}</td></tr>`)}</tbody>
      </table></div>
    </${ListState}>
  </section>`;
}

const RANGES: Record<string, { hours: number; granularity: 'hour' | 'day' }> = {
  '24h': { hours: 24, granularity: 'hour' },
  '7d': { hours: 7 * 24, granularity: 'day' },
  '30d': { hours: 30 * 24, granularity: 'day' },
};

export function ProjectUsage({ client, projectId, nav = true }: { client: TengineAI; projectId: string; nav?: boolean }) {
  const [range, setRange] = useState('24h');
  const [keyId, setKeyId] = useState('');
  const [granularity, setGranularity] = useState('');
  const [custom, setCustom] = useState<{ from: string; to: string }>({ from: '', to: '' });
  const keys = useLoad(() => client.apiKeys.list(projectId, { perPage: 100 }), [client, projectId]);
  const r = RANGES[range] ?? { hours: 24, granularity: 'hour' as const };
  const customReady = range !== 'custom' || (custom.from !== '' && custom.to !== '');
  const data = useLoad(
    () =>
      customReady
        ? client.analytics.retrieve(projectId, {
            startDate: range === 'custom' ? new Date(custom.from) : new Date(Date.now() - r.hours * 3600 * 1000),
            endDate: range === 'custom' ? new Date(custom.to) : undefined,
            granularity: (granularity || (range === 'custom' ? 'day' : r.granularity)) as 'hour' | 'day' | 'week' | 'month',
            apiKeyId: keyId || undefined,
          })
        : Promise.resolve(undefined),
    [client, projectId, range, keyId, granularity, custom.from, custom.to],
  );
  const a = data.data;
  const times = (a?.data ?? []).map((b) => new Date(b.timestamp).getTime() / 1000);
  const csv = () => {
    const rows = [['timestamp', 'requests', 'errors', 'rate_limited', 'avg_latency_ms', 'p95_latency_ms'].join(',')];
    for (const b of a?.data ?? []) rows.push([b.timestamp, b.requests, b.errors, b.rateLimited, b.avgLatencyMs, b.p95LatencyMs].join(','));
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([rows.join('\n') + '\n'], { type: 'text/csv' }));
    link.download = `usage-${projectId}-${range}.csv`;
    link.click();
  };
  return html`<section>
    <h1>Usage <span class="muted"><code>${projectId}</code></span></h1>
    ${nav ? html`<${ProjectNav} projectId=${projectId} active="usage" />` : null}
    <div class="row">
      <label><span>Range</span><select value=${range} onChange=${(e: Event) => setRange((e.currentTarget as HTMLSelectElement).value)}>
        <option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="30d">Last 30 days</option><option value="custom">Custom</option></select></label>
      ${range === 'custom' ? html`<label><span>From</span><input type="datetime-local" value=${custom.from} onChange=${(e: Event) => setCustom({ ...custom, from: (e.currentTarget as HTMLInputElement).value })} /></label>
        <label><span>To</span><input type="datetime-local" value=${custom.to} onChange=${(e: Event) => setCustom({ ...custom, to: (e.currentTarget as HTMLInputElement).value })} /></label>` : null}
      <label><span>Granularity</span><select value=${granularity} onChange=${(e: Event) => setGranularity((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">Automatic</option><option value="hour">Hour</option><option value="day">Day</option><option value="week">Week</option><option value="month">Month</option></select></label>
      <label><span>Key</span><select value=${keyId} onChange=${(e: Event) => setKeyId((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">All keys</option>
        ${(keys.data?.data ?? []).map((k) => html`<option key=${k.id} value=${k.id}>${k.name} (${k.prefix})</option>`)}</select></label>
      <button class="secondary" onClick=${csv} disabled=${!a}>Download CSV</button>
    </div>
    <${ErrorBox} error=${data.error} />
    ${a
      ? html`<div class="cards">
          <div class="card"><div class="muted">Requests</div><div class="n" data-testid="total-requests">${a.totals.requests}</div></div>
          <div class="card"><div class="muted">Errors</div><div class="n">${a.totals.errors}</div></div>
          <div class="card"><div class="muted">Rate-limited</div><div class="n">${a.totals.rateLimited}</div></div>
          <div class="card"><div class="muted">p95 latency</div><div class="n">${a.totals.p95LatencyMs} ms</div></div>
        </div>
        <${Chart} title="Requests, errors and rate-limited" times=${times} series=${[
          { label: 'requests', values: a.data.map((b) => b.requests), color: '#2563eb' },
          { label: 'errors', values: a.data.map((b) => b.errors), color: '#dc2626' },
          { label: 'rate-limited', values: a.data.map((b) => b.rateLimited), color: '#d97706' },
        ]} />
        <${Chart} title="Latency (ms)" times=${times} series=${[
          { label: 'average', values: a.data.map((b) => b.avgLatencyMs), color: '#059669' },
          { label: 'p95', values: a.data.map((b) => b.p95LatencyMs), color: '#7c3aed' },
        ]} />
        <div class="scroll"><table>
          <thead><tr><th>Bucket</th><th>Requests</th><th>Errors</th><th>Rate-limited</th><th>Avg ms</th><th>p95 ms</th></tr></thead>
          <tbody>${a.data.map((b) => html`<tr key=${b.timestamp}><td>${when(b.timestamp)}</td><td>${b.requests}</td><td>${b.errors}</td><td>${b.rateLimited}</td><td>${b.avgLatencyMs}</td><td>${b.p95LatencyMs}</td></tr>`)}</tbody>
        </table></div>`
      : data.loading ? html`<p class="muted">Loading usage…</p>` : !customReady ? html`<p class="muted">Choose when the range starts and ends.</p>` : null}
  </section>`;
}
