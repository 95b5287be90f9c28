// Shared pieces: the client, error display, async loading, the usage chart.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import uPlot from 'uplot';
import { TengineAI, TengineError } from './sdk';

/** Where the console keeps its session token (never the API key). */
export const TOKEN = 'tengine.console.token';

/** The account's hourly allowance as the last answer's `X-RateLimit-*` headers said. */
export interface Allowance {
  limit: number;
  remaining: number;
  /** When the window resets (epoch seconds). */
  reset: number;
}

let lastAllowance: Allowance | undefined;

/** What the most recent API answer said of the account's allowance (none when unlimited). */
export function allowance(): Allowance | undefined {
  return lastAllowance;
}

/** `fetch` that notes the rate-limit headers of every answer (same origin: all readable). */
const noting: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const limit = res.headers.get('x-ratelimit-limit');
  const remaining = res.headers.get('x-ratelimit-remaining');
  const reset = res.headers.get('x-ratelimit-reset');
  if (limit && remaining && reset) lastAllowance = { limit: Number(limit), remaining: Number(remaining), reset: Number(reset) };
  return res;
};

/** A client over this server with `token` as the bearer. */
export function clientFor(token: string): TengineAI {
  return new TengineAI({ apiKey: token, baseUrl: location.origin, maxRetries: 1, fetch: noting });
}

/** An API error as the user sees it: the message and the request id. */
export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const e = error instanceof TengineError ? error : undefined;
  const message = e ? e.message : String(error);
  return html`<div class="error" role="alert">
    ${message}${e?.requestId ? html` <span class="muted">(request ${e.requestId})</span>` : null}
  </div>`;
}

/** A value loaded by `load`, reloaded when `deps` change or `reload()` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    // A reload keeps showing what is there (no flash of a loading state); only a first
    // load, or one for other `deps` with nothing yet, is `loading`.
    setState((s) => ({ ...s, loading: s.data === undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Loading, error and empty states around a list. */
export function ListState(props: { loading: boolean; error: unknown; empty: boolean; what: string; children: ComponentChildren }) {
  if (props.loading) return html`<p class="muted" aria-live="polite">Loading ${props.what}…</p>`;
  if (props.error) return html`<${ErrorBox} error=${props.error} />`;
  if (props.empty) return html`<p class="muted">No ${props.what} yet.</p>`;
  return html`${props.children}`;
}

/** A time series chart (uPlot): one line per series over bucket start times (seconds). */
export function Chart(props: { title: string; times: number[]; series: { label: string; values: number[]; color: string }[] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const width = Math.max(280, node.clientWidth || 600);
    const plot = new uPlot(
      {
        title: props.title,
        width,
        height: 240,
        series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor' }],
      },
      [props.times, ...props.series.map((s) => s.values)],
      node,
    );
    return () => plot.destroy();
  }, [props.times, props.series, props.title]);
  return html`<div class="chart" ref=${el} role="img" aria-label=${props.title}></div>`;
}

/** Formats an RFC 3339 time for people, in their locale. */
export function when(t: string | null | undefined): string {
  return t ? new Date(t).toLocaleString() : '—';
}

/** A secret shown once, with a copy button and a clear warning. */
export function SecretOnce({ what, secret, onDone }: { what: string; secret: string; onDone: () => void }) {
  return html`<div class="card warning" role="alert">
    <p><strong>Copy ${what} now.</strong> It is shown once and cannot be shown again.</p>
    <p class="secret" data-testid="secret">${secret}</p>
    <div class="row"><button onClick=${() => navigator.clipboard?.writeText(secret)}>Copy</button>
    <button class="secondary" onClick=${onDone}>I have stored it</button></div>
  </div>`;
}

/** Previous / page number / next under a paginated list. */
export function Pager({ page, hasNext, setPage }: { page: number; hasNext: boolean; setPage: (p: number) => void }) {
  return html`<div class="row">
    <button class="secondary" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Previous</button>
    <span class="muted">Page ${page}</span>
    <button class="secondary" disabled=${!hasNext} onClick=${() => setPage(page + 1)}>Next</button>
  </div>`;
}
