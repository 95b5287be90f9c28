// A project's webhooks, event log and tools, and the navigation between a project's pages.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { Delivery, EventType, Me, TengineAI, Tool, ToolTestResult, Webhook } from './sdk';
import { Chart, ErrorBox, ListState, Pager, SecretOnce, useLoad, when } from './ui';

/** Whether the caller's key holds `p` (admin holds everything). */
export const can = (me: Me | undefined, p: string) =>
  !!me && (me.permissions.includes(p as never) || me.permissions.includes('admin' as never));

const SECTIONS = [
  ['keys', 'API keys'],
  ['usage', 'Usage'],
  ['webhooks', 'Webhooks'],
  ['events', 'Events'],
  ['tools', 'Tools'],
  ['integrations', 'Integrations'],
] as const;

/** The links between a project's pages; the current one is marked for assistive tech. */
export function ProjectNav({ projectId, active }: { projectId: string; active: string }) {
  return html`<nav class="subnav" aria-label="Project">
    ${SECTIONS.map(([id, label]) => html`<a key=${id} href=${`#/projects/${projectId}/${id}`} aria-current=${id === active ? 'page' : undefined}>${label}</a>`)}
  </nav>`;
}

/** Runs `action`, reporting its error to `setError` and reloading on success. */
export function act(setError: (e: unknown) => void, after?: () => void) {
  return async (action: () => Promise<unknown>) => {
    try {
      setError(undefined);
      await action();
      after?.();
    } catch (err) {
      setError(err);
    }
  };
}

/** Event types by resource, for subscription checkboxes and the event filter. */
const EVENT_GROUPS: [string, EventType[]][] = [
  ['Projects', ['project.created', 'project.updated', 'project.deleted']],
  ['API keys', ['api_key.created', 'api_key.updated', 'api_key.revoked']],
  ['Integrations', ['integration.connected', 'integration.updated', 'integration.disconnected']],
  ['Usage', ['usage.threshold_reached', 'usage.limit_exceeded']],
  ['Tools', ['tool.created', 'tool.updated', 'tool.deleted']],
  ['Webhooks', ['webhook.test']],
];

function EventBoxes({ chosen, prefix }: { chosen: readonly string[]; prefix: string }) {
  const all = chosen.includes('*');
  return html`<fieldset><legend>Events</legend>
    <label><input type="checkbox" name=${`${prefix}-*`} defaultChecked=${all} /> All events, including ones added later</label>
    <div class="groups">${EVENT_GROUPS.map(([group, types]) => html`<fieldset key=${group}><legend>${group}</legend>
      ${types.map((t) => html`<label key=${t}><input type="checkbox" name=${`${prefix}-${t}`} defaultChecked=${!all && chosen.includes(t)} /> ${t}</label>`)}
    </fieldset>`)}</div>
  </fieldset>`;
}

function chosenEvents(form: HTMLFormElement, prefix: string): EventType[] {
  if ((form.elements.namedItem(`${prefix}-*`) as HTMLInputElement | null)?.checked) return ['*' as EventType];
  return EVENT_GROUPS.flatMap(([, types]) => types).filter((t) => (form.elements.namedItem(`${prefix}-${t}`) as HTMLInputElement | null)?.checked);
}

/** Health over the last 24 hours from a webhook's latest deliveries. */
function health(deliveries: Delivery[]): { last: Delivery | undefined; rate: string } {
  const since = Date.now() - 24 * 3600 * 1000;
  const recent = deliveries.filter((d) => new Date(d.createdAt).getTime() >= since && d.status !== 'pending');
  const ok = recent.filter((d) => d.status === 'succeeded').length;
  return { last: deliveries[0], rate: recent.length === 0 ? 'no deliveries' : `${Math.round((100 * ok) / recent.length)}% of ${recent.length}` };
}

function WebhookRow(props: { client: TengineAI; projectId: string; w: Webhook; allowed: boolean; showDeliveries: boolean; open: boolean; onOpen: () => void; onChanged: () => void; onSecret: (s: string) => void }) {
  const { client, projectId, w, allowed, showDeliveries } = props;
  // A portal without the deliveries section may not read them: nothing is asked.
  const deliveries = useLoad(
    () => (showDeliveries ? client.webhooks.listDeliveries(projectId, w.id, { perPage: 100 }) : Promise.resolve(undefined)),
    [client, w.id, w.updatedAt, showDeliveries],
  );
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = act(setError, () => {
    deliveries.reload();
    props.onChanged();
  });
  const h = health(deliveries.data?.data ?? []);
  const state = w.active
    ? w.failingSince ? `failing since ${when(w.failingSince)}` : 'active'
    : w.failingSince ? `disabled: failing since ${when(w.failingSince)} (5 days of failures or a 410 answer)` : 'disabled by a person';
  const save = (e: Event) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const url = (f.elements.namedItem('url') as HTMLInputElement).value;
    const active = (f.elements.namedItem('active') as HTMLInputElement).checked;
    void run(async () => {
      await client.webhooks.update(projectId, w.id, { url, active, events: chosenEvents(f, `edit-${w.id}`) });
      setEditing(false);
    });
  };
  return html`<tr>
      <td><code>${w.url}</code><div class="muted">${w.events.join(', ')}</div></td>
      <td>${state}</td>
      <td>${!showDeliveries ? '—' : deliveries.loading ? '…' : h.last ? `${h.last.status}, ${when(h.last.createdAt)}` : 'never'}</td>
      <td>${!showDeliveries ? '—' : deliveries.loading ? '…' : h.rate}</td>
      <td class="row">
        ${showDeliveries ? html`<button class="secondary" aria-expanded=${props.open} onClick=${props.onOpen}>Deliveries</button>` : null}
        <button class="secondary" disabled=${!allowed} onClick=${() => run(() => client.webhooks.test(projectId, w.id))}>Send test event</button>
        <button class="secondary" disabled=${!allowed} onClick=${() => setEditing(!editing)}>Edit</button>
        <button class="secondary" disabled=${!allowed} onClick=${() => confirm('Rotate the signing secret? Deliveries are signed with the new one from now on.') && run(async () => {
          const rotated = await client.webhooks.rotateSecret(projectId, w.id);
          props.onSecret(rotated.secret ?? '');
        })}>Rotate secret</button>
        <button class="danger" disabled=${!allowed} onClick=${() => confirm(`Delete the webhook to ${w.url}? It receives no more events.`) && run(() => client.webhooks.delete(projectId, w.id))}>Delete</button>
      </td>
    </tr>
    ${error ? html`<tr><td colspan="5"><${ErrorBox} error=${error} /></td></tr>` : null}
    ${editing ? html`<tr><td colspan="5"><form onSubmit=${save} aria-label="Edit webhook">
        <label><span>URL</span><input name="url" type="url" required defaultValue=${w.url} class="wide" /></label>
        <label><input type="checkbox" name="active" defaultChecked=${w.active} /> Active</label>
        <${EventBoxes} chosen=${w.events} prefix=${`edit-${w.id}`} />
        <button type="submit">Save</button></form></td></tr>` : null}
    ${props.open && showDeliveries ? html`<tr><td colspan="5"><${Deliveries} client=${client} projectId=${projectId} webhookId=${w.id} list=${deliveries} allowed=${allowed} run=${run} /></td></tr>` : null}`;
}

function Deliveries(props: { client: TengineAI; projectId: string; webhookId: string; allowed: boolean; list: ReturnType<typeof useLoad<{ data: Delivery[] }>>; run: (a: () => Promise<unknown>) => Promise<void> }) {
  const items = props.list.data?.data ?? [];
  return html`<div>
    <div class="row"><h3>Deliveries</h3><button class="secondary" onClick=${() => props.list.reload()}>Refresh</button></div>
    <${ListState} loading=${props.list.loading} error=${props.list.error} empty=${items.length === 0} what="deliveries">
      <div class="scroll"><table>
        <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Response</th><th scope="col">Time</th><th scope="col">Next retry</th><th scope="col">Actions</th></tr></thead>
        <tbody>${items.map((d) => {
          const last = d.attempts[d.attempts.length - 1];
          return html`<tr key=${d.id} data-delivery=${d.status}>
            <td>${d.eventType}<div class="muted">${when(d.createdAt)}</div></td>
            <td>${d.status}</td>
            <td>${d.attempts.length}</td>
            <td>${last ? html`${last.statusCode ?? last.error ?? '—'}${last.responseExcerpt ? html`<div class="muted excerpt">${last.responseExcerpt}</div>` : null}` : '—'}</td>
            <td>${last ? `${Math.round(last.latencyMs)} ms` : '—'}</td>
            <td>${when(d.nextAttemptAt)}</td>
            <td><button class="secondary" disabled=${!props.allowed} onClick=${() => props.run(() => props.client.webhooks.redeliver(props.projectId, props.webhookId, d.id))}>Redeliver</button></td>
          </tr>`;
        })}</tbody>
      </table></div>
    </${ListState}>
  </div>`;
}

export function ProjectWebhooks({ client, me, projectId, nav = true, deliveries = true }: { client: TengineAI; me: Me | undefined; projectId: string; nav?: boolean; deliveries?: boolean }) {
  const list = useLoad(() => client.webhooks.list(projectId, { perPage: 100 }), [client, projectId]);
  const [secret, setSecret] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState<string>();
  const allowed = can(me, 'webhook');
  const create = (e: Event) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const url = (f.elements.namedItem('url') as HTMLInputElement).value;
    const description = (f.elements.namedItem('description') as HTMLInputElement).value;
    void act(setError, list.reload)(async () => {
      const made = await client.webhooks.create(projectId, { url, description: description || undefined, events: chosenEvents(f, 'new') });
      setSecret(made.secret ?? '');
      f.reset();
    });
  };
  const items = list.data?.data ?? [];
  return html`<section>
    <h1>Webhooks <span class="muted"><code>${projectId}</code></span></h1>
    ${nav ? html`<${ProjectNav} projectId=${projectId} active="webhooks" />` : null}
    ${secret ? html`<${SecretOnce} what="the webhook's signing secret" secret=${secret} onDone=${() => setSecret(undefined)} />` : null}
    ${allowed
      ? html`<details><summary>Create a webhook</summary><form onSubmit=${create} aria-label="Create a webhook">
          <div class="row">
            <label><span>URL</span><input name="url" type="url" required maxlength="2048" class="wide" /></label>
            <label><span>Description</span><input name="description" maxlength="1000" /></label>
          </div>
          <${EventBoxes} chosen=${[]} prefix="new" />
          <button type="submit">Create webhook</button>
        </form></details>`
      : html`<p class="muted">Managing webhooks needs the webhook permission.</p>`}
    <${ErrorBox} error=${error} />
    <${ListState} loading=${list.loading} error=${list.error} empty=${items.length === 0} what="webhooks">
      <div class="scroll"><table>
        <thead><tr><th scope="col">URL and events</th><th scope="col">State</th><th scope="col">Last delivery</th><th scope="col">Success, 24 h</th><th scope="col">Actions</th></tr></thead>
        <tbody>${items.map((w) => html`<${WebhookRow} key=${w.id} client=${client} projectId=${projectId} w=${w} allowed=${allowed} showDeliveries=${deliveries}
          open=${open === w.id} onOpen=${() => setOpen(open === w.id ? undefined : w.id)} onChanged=${list.reload} onSecret=${setSecret} />`)}</tbody>
      </table></div>
    </${ListState}>
  </section>`;
}

export function ProjectEvents({ client, projectId }: { client: TengineAI; projectId: string }) {
  const [type, setType] = useState('');
  const [page, setPage] = useState(1);
  const list = useLoad(() => client.events.list(projectId, { type: (type || undefined) as EventType | undefined, page, perPage: 20 }), [client, projectId, type, page]);
  const items = list.data?.data ?? [];
  return html`<section>
    <h1>Events <span class="muted"><code>${projectId}</code></span></h1>
    <${ProjectNav} projectId=${projectId} active="events" />
    <label><span>Type</span><select value=${type} onChange=${(e: Event) => { setType((e.currentTarget as HTMLSelectElement).value); setPage(1); }}>
      <option value="">All types</option>
      ${EVENT_GROUPS.flatMap(([, types]) => types).map((t) => html`<option key=${t} value=${t}>${t}</option>`)}
    </select></label>
    <${ListState} loading=${list.loading} error=${list.error} empty=${items.length === 0} what="events">
      <ul class="events">${items.map((ev) => html`<li key=${ev.id} data-event-type=${ev.type}>
        <details><summary><strong>${ev.type}</strong> <span class="muted">${when(ev.createdAt)} · <code>${ev.id}</code></span></summary>
          <pre>${JSON.stringify(ev.data, null, 2)}</pre></details></li>`)}</ul>
      <${Pager} page=${page} hasNext=${!!list.data?.hasNext()} setPage=${setPage} />
    </${ListState}>
  </section>`;
}

/** Parses a JSON object typed by a person: the value, or why it is not one. */
function parseObject(text: string, what: string, optional: boolean): { value?: Record<string, unknown> | null; error?: string } {
  if (text.trim() === '') return optional ? { value: null } : { error: `${what} is required` };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: `${what} must be a JSON object` };
    return { value: v as Record<string, unknown> };
  } catch (e) {
    return { error: `${what} is not valid JSON: ${(e as Error).message}` };
  }
}

/** Checks an input schema as it is typed: JSON, an object, `"type": "object"`. */
function schemaProblem(text: string): string | undefined {
  const parsed = parseObject(text, 'The input schema', false);
  if (parsed.error) return parsed.error;
  if (parsed.value?.type !== 'object') return 'The input schema must have "type": "object" (tool arguments are an object)';
  const props = parsed.value.properties;
  if (props !== undefined && (typeof props !== 'object' || props === null || Array.isArray(props))) return '"properties" must be an object';
  return undefined;
}

/** A template with its `{placeholders}` marked. */
function Highlighted({ text }: { text: string }) {
  const parts = text.split(/(\{[^{}]+\})/g);
  return html`<code class="template">${parts.map((p, i) => (i % 2 === 1 ? html`<mark key=${i}>${p}</mark>` : p))}</code>`;
}

const pretty = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v, null, 2));

function ToolForm({ client, projectId, tool, onDone }: { client: TengineAI; projectId: string; tool?: Tool; onDone: () => void }) {
  const [schema, setSchema] = useState(pretty(tool?.inputSchema ?? { type: 'object', properties: {} }));
  const [path, setPath] = useState(tool?.endpointPath ?? '/');
  const [body, setBody] = useState(pretty(tool?.bodyTemplate));
  const [headers, setHeaders] = useState(pretty(tool?.headersTemplate));
  const [query, setQuery] = useState(pretty(tool?.queryTemplate));
  const [error, setError] = useState<unknown>();
  const problem = schemaProblem(schema);
  const bodyProblem = parseObject(body, 'The body template', true).error;
  const headersProblem = parseObject(headers, 'The headers template', true).error;
  const queryProblem = parseObject(query, 'The query template', true).error;
  const blocked = !!(problem || bodyProblem || headersProblem || queryProblem);
  const submit = (e: Event) => {
    e.preventDefault();
    if (blocked) return;
    const f = e.currentTarget as HTMLFormElement;
    const value = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value;
    const secret = value('secret');
    const params = {
      name: value('name'),
      description: value('description'),
      inputSchema: JSON.parse(schema) as Record<string, unknown>,
      baseUrl: value('base_url'),
      httpMethod: value('http_method'),
      endpointPath: path,
      bodyTemplate: parseObject(body, 'body', true).value ?? null,
      headersTemplate: parseObject(headers, 'headers', true).value ?? null,
      queryTemplate: parseObject(query, 'query', true).value ?? null,
      authStrategy: value('auth_strategy'),
      // Write-only: empty leaves a stored secret as it is.
      encryptedAuthSecret: secret === '' ? undefined : secret,
      timeoutMs: Number(value('timeout_ms')) || undefined,
    };
    void act(setError, onDone)(() => (tool ? client.tools.update(projectId, tool.id, params) : client.tools.create(projectId, params)));
  };
  return html`<form onSubmit=${submit} aria-label=${tool ? `Edit ${tool.name}` : 'Create a tool'} class="tool-form">
    <div class="row">
      <label><span>Name</span><input name="name" required maxlength="64" defaultValue=${tool?.name ?? ''} /></label>
      <label><span>Description</span><input name="description" required class="wide" defaultValue=${tool?.description ?? ''} /></label>
    </div>
    <div class="row">
      <label><span>Method</span><select name="http_method">${['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => html`<option key=${m} selected=${m === (tool?.httpMethod ?? 'GET')}>${m}</option>`)}</select></label>
      <label><span>Base URL</span><input name="base_url" type="url" required defaultValue=${tool?.baseUrl ?? 'https://'} /></label>
      <label><span>Endpoint path</span><input name="endpoint_path" required value=${path} onInput=${(e: Event) => setPath((e.currentTarget as HTMLInputElement).value)} /></label>
    </div>
    <p class="muted">Path: <${Highlighted} text=${path} /></p>
    <label><span>Input schema (JSON Schema)</span>
      <textarea name="input_schema" rows="8" aria-invalid=${!!problem} aria-describedby="schema-check" onInput=${(e: Event) => setSchema((e.currentTarget as HTMLTextAreaElement).value)}>${schema}</textarea></label>
    <p id="schema-check" class=${problem ? 'error' : 'muted'} aria-live="polite">${problem ?? 'The schema is valid JSON with "type": "object".'}</p>
    <label><span>Body template (JSON, optional)</span>
      <textarea name="body_template" rows="4" aria-invalid=${!!bodyProblem} onInput=${(e: Event) => setBody((e.currentTarget as HTMLTextAreaElement).value)}>${body}</textarea></label>
    ${bodyProblem ? html`<p class="error" aria-live="polite">${bodyProblem}</p>` : body.trim() ? html`<p class="muted">Body: <${Highlighted} text=${body} /></p>` : null}
    <div class="row">
      <label class="grow"><span>Headers template (JSON: name to template, optional)</span>
        <textarea name="headers_template" rows="3" aria-invalid=${!!headersProblem} onInput=${(e: Event) => setHeaders((e.currentTarget as HTMLTextAreaElement).value)}>${headers}</textarea></label>
      <label class="grow"><span>Query template (JSON: name to template, optional)</span>
        <textarea name="query_template" rows="3" aria-invalid=${!!queryProblem} onInput=${(e: Event) => setQuery((e.currentTarget as HTMLTextAreaElement).value)}>${query}</textarea></label>
    </div>
    ${headersProblem || queryProblem ? html`<p class="error" aria-live="polite">${headersProblem ?? queryProblem}</p>` : null}
    ${headers.trim() && !headersProblem ? html`<p class="muted">Headers: <${Highlighted} text=${headers} /></p>` : null}
    ${query.trim() && !queryProblem ? html`<p class="muted">Query: <${Highlighted} text=${query} /></p>` : null}
    <div class="row">
      <label><span>Authentication</span><select name="auth_strategy">${[['none', 'None'], ['static_bearer', 'Bearer token'], ['hmac_signature', 'HMAC signature']].map(
        ([v, label]) => html`<option key=${v} value=${v} selected=${v === (tool?.authStrategy ?? 'none')}>${label}</option>`)}</select></label>
      <label><span>Secret (write-only${tool?.hasAuthSecret ? '; empty keeps the stored one' : ''})</span><input name="secret" type="password" autocomplete="new-password" /></label>
      <label><span>Timeout (ms)</span><input name="timeout_ms" type="number" min="100" max="30000" defaultValue=${tool?.timeoutMs ?? 10000} /></label>
    </div>
    <${ErrorBox} error=${error} />
    <button type="submit" disabled=${blocked}>${tool ? 'Save tool' : 'Create tool'}</button>
  </form>`;
}

function TryIt({ client, projectId, tool }: { client: TengineAI; projectId: string; tool: Tool }) {
  const [args, setArgs] = useState('{}');
  const [result, setResult] = useState<ToolTestResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const parsed = parseObject(args, 'The arguments', false);
  const run = async (e: Event) => {
    e.preventDefault();
    if (parsed.error) return;
    setBusy(true);
    setResult(undefined);
    await act(setError)(async () => setResult(await client.tools.test(projectId, tool.id, { arguments: parsed.value ?? {} })));
    setBusy(false);
  };
  return html`<form onSubmit=${run} aria-label=${`Try ${tool.name}`}>
    <label><span>Arguments for ${tool.name} (JSON)</span><textarea name="arguments" rows="4" onInput=${(e: Event) => setArgs((e.currentTarget as HTMLTextAreaElement).value)}>${args}</textarea></label>
    ${parsed.error ? html`<p class="error" aria-live="polite">${parsed.error}</p>` : null}
    <button type="submit" disabled=${busy || !!parsed.error}>Run once</button>
    <${ErrorBox} error=${error} />
    ${result ? html`<div class="card" data-testid="try-result">
      <h3>Request sent</h3>
      <p><code>${result.request.method} ${result.request.url}</code></p>
      <div class="scroll"><table><tbody>${result.request.headers.map((h, i) => html`<tr key=${i}><th scope="row">${h.name}</th><td><code>${h.value}</code></td></tr>`)}</tbody></table></div>
      ${result.request.body ? html`<pre>${result.request.body}</pre>` : null}
      <h3>Answer</h3>
      <p>${result.isError ? 'Error' : 'Success'} · HTTP ${result.upstreamStatus ?? 'no answer'} · ${Math.round(result.latencyMs)} ms${result.truncated ? ' · truncated' : ''}</p>
      <pre>${result.structuredContent ? pretty(result.structuredContent) : result.text}</pre>
    </div>` : null}
  </form>`;
}

export function ProjectTools({ client, me, projectId }: { client: TengineAI; me: Me | undefined; projectId: string }) {
  const list = useLoad(() => client.tools.list(projectId, { perPage: 100 }), [client, projectId]);
  const [error, setError] = useState<unknown>();
  const [panel, setPanel] = useState<{ kind: 'new' | 'edit' | 'try'; tool?: Tool }>();
  const [filters, setFilters] = useState<{ toolId: string; memberId: string; status: string }>({ toolId: '', memberId: '', status: '' });
  const [chartTool, setChartTool] = useState('');
  const calls = useLoad(
    () => client.toolCalls.list(projectId, {
      perPage: 50,
      toolId: filters.toolId || undefined,
      memberId: filters.memberId || undefined,
      status: (filters.status || undefined) as 'succeeded' | 'failed' | 'refused' | undefined,
    }),
    [client, projectId, filters.toolId, filters.memberId, filters.status],
  );
  const usage = useLoad(
    () => (chartTool ? client.analytics.retrieve(projectId, { toolId: chartTool, granularity: 'hour', startDate: new Date(Date.now() - 24 * 3600 * 1000) }) : Promise.resolve(undefined)),
    [client, projectId, chartTool],
  );
  const admin = can(me, 'admin');
  const write = can(me, 'write');
  const run = act(setError, list.reload);
  const tools = list.data?.data ?? [];
  const setFilter = (k: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });
  const u = usage.data;
  return html`<section>
    <h1>Tools <span class="muted"><code>${projectId}</code></span></h1>
    <${ProjectNav} projectId=${projectId} active="tools" />
    ${admin ? html`<button onClick=${() => setPanel(panel?.kind === 'new' ? undefined : { kind: 'new' })}>New tool</button>` : html`<p class="muted">Creating and editing tools needs admin; trying one needs write.</p>`}
    ${panel?.kind === 'new' ? html`<${ToolForm} client=${client} projectId=${projectId} onDone=${() => { setPanel(undefined); list.reload(); }} />` : null}
    <${ErrorBox} error=${error} />
    <${ListState} loading=${list.loading} error=${list.error} empty=${tools.length === 0} what="tools">
      <div class="scroll"><table>
        <thead><tr><th scope="col">Tool</th><th scope="col">Request</th><th scope="col">Enabled</th><th scope="col">Updated</th><th scope="col">Actions</th></tr></thead>
        <tbody>${tools.map((t) => html`<tr key=${t.id}>
          <td><strong>${t.name}</strong><div class="muted">${t.description}</div></td>
          <td><code>${t.httpMethod} ${t.baseUrl}</code><${Highlighted} text=${t.endpointPath} /></td>
          <td><label class="switch"><input key=${`${t.id}:${t.enabled}`} type="checkbox" role="switch" defaultChecked=${t.enabled} disabled=${!admin} title=${admin ? '' : 'Needs admin'}
            aria-label=${`${t.name} enabled`} onChange=${(e: Event) => run(() => client.tools.update(projectId, t.id, { enabled: (e.currentTarget as HTMLInputElement).checked }))} /></label></td>
          <td>${when(t.updatedAt)}</td>
          <td class="row">
            <button class="secondary" disabled=${!write} title=${write ? '' : 'Needs write'} onClick=${() => setPanel({ kind: 'try', tool: t })}>Try it</button>
            <button class="secondary" disabled=${!admin} title=${admin ? '' : 'Needs admin'} onClick=${() => setPanel({ kind: 'edit', tool: t })}>Edit</button>
            <button class="danger" disabled=${!admin} title=${admin ? '' : 'Needs admin'} onClick=${() => confirm(`Delete ${t.name}? MCP clients stop seeing it at once.`) && run(() => client.tools.delete(projectId, t.id))}>Delete</button>
          </td></tr>`)}</tbody>
      </table></div>
    </${ListState}>
    ${panel?.kind === 'edit' && panel.tool ? html`<h2>Edit ${panel.tool.name}</h2><${ToolForm} key=${panel.tool.id} client=${client} projectId=${projectId} tool=${panel.tool} onDone=${() => { setPanel(undefined); list.reload(); }} />` : null}
    ${panel?.kind === 'try' && panel.tool ? html`<h2>Try ${panel.tool.name}</h2><${TryIt} key=${panel.tool.id} client=${client} projectId=${projectId} tool=${panel.tool} />` : null}

    <h2>Calls</h2>
    <div class="row">
      <label><span>Tool</span><select value=${filters.toolId} onChange=${setFilter('toolId')}><option value="">All tools</option>
        ${tools.map((t) => html`<option key=${t.id} value=${t.id}>${t.name}</option>`)}</select></label>
      <label><span>Member</span><input value=${filters.memberId} onChange=${setFilter('memberId')} /></label>
      <label><span>Outcome</span><select value=${filters.status} onChange=${setFilter('status')}><option value="">All</option>
        <option value="succeeded">Succeeded</option><option value="failed">Failed</option><option value="refused">Refused</option></select></label>
      <button class="secondary" onClick=${() => calls.reload()}>Refresh</button>
    </div>
    <${ListState} loading=${calls.loading} error=${calls.error} empty=${(calls.data?.data ?? []).length === 0} what="calls">
      <div class="scroll"><table>
        <thead><tr><th scope="col">When</th><th scope="col">Tool</th><th scope="col">Member</th><th scope="col">Outcome</th><th scope="col">HTTP</th><th scope="col">Latency</th><th scope="col">Error</th></tr></thead>
        <tbody>${(calls.data?.data ?? []).map((c) => html`<tr key=${c.id} data-call-status=${c.status}>
          <td>${when(c.createdAt)}</td><td>${c.toolName}</td><td>${c.memberId ?? '—'}</td><td>${c.status}</td>
          <td>${c.upstreamStatus ?? '—'}</td><td>${Math.round(c.latencyMs)} ms</td><td>${c.error ?? ''}</td></tr>`)}</tbody>
      </table></div>
    </${ListState}>

    <h2>Usage per tool (24 h)</h2>
    <label><span>Tool</span><select value=${chartTool} onChange=${(e: Event) => setChartTool((e.currentTarget as HTMLSelectElement).value)}>
      <option value="">Choose a tool</option>${tools.map((t) => html`<option key=${t.id} value=${t.id}>${t.name}</option>`)}</select></label>
    <${ErrorBox} error=${usage.error} />
    ${u ? html`<p class="muted">${u.totals.requests} calls, ${u.totals.errors} not succeeded</p>
      <${Chart} title="Calls per hour" times=${u.data.map((b) => new Date(b.timestamp).getTime() / 1000)} series=${[
        { label: 'calls', values: u.data.map((b) => b.requests), color: '#2563eb' },
        { label: 'not succeeded', values: u.data.map((b) => b.errors), color: '#dc2626' },
      ]} />` : null}
  </section>`;
}
