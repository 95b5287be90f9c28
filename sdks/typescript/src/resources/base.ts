import type { APIClient, QueryValue, RequestOptions } from '../core.js';
import { iterateAll, makePage, type Page, type WireList } from '../pagination.js';

/** Path segment, percent-encoded. */
export function seg(id: string): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('An id must be a non-empty string');
  return encodeURIComponent(id);
}

export abstract class Resource {
  protected readonly client: APIClient;

  constructor(client: APIClient) {
    this.client = client;
  }

  protected listPage<T>(
    path: string,
    query: Record<string, QueryValue>,
    convert: (raw: unknown) => T,
    options?: RequestOptions,
  ): Promise<Page<T>> {
    const fetchPage = async (page: number): Promise<Page<T>> => {
      const wire = await this.client.request<WireList>({ method: 'GET', path, query: { ...query, page }, options });
      return makePage(wire, convert, () => fetchPage(page + 1));
    };
    return fetchPage((query['page'] as number | undefined) ?? 1);
  }

  /** A page of a list that also pages by cursor: by `page` number, or after / before an
   * item id; its next page continues by cursor in the same direction. */
  protected listKeyset<T extends { id: string }>(
    path: string,
    query: Record<string, QueryValue>,
    convert: (raw: unknown) => T,
    options?: RequestOptions,
  ): Promise<Page<T>> {
    const fetch = async (q: Record<string, QueryValue>): Promise<Page<T>> => {
      const { body: wire, headers } = await this.client.requestWithHeaders<WireList>({ method: 'GET', path, query: q, options });
      const before = q['ending_before'] !== undefined;
      const rest = { ...query, page: undefined, starting_after: undefined, ending_before: undefined };
      return makePage(
        wire,
        convert,
        (items) =>
          before
            ? fetch({ ...rest, ending_before: items[0]?.id })
            : fetch({ ...rest, starting_after: items[items.length - 1]?.id }),
        headers,
      );
    };
    return fetch(query);
  }

  protected listEvery<T>(
    path: string,
    query: Record<string, QueryValue>,
    convert: (raw: unknown) => T,
    options?: RequestOptions,
  ): AsyncGenerator<T, void, undefined> {
    return iterateAll(() => this.listPage(path, { per_page: 100, ...query, page: 1 }, convert, options));
  }

  /** Every item of a list that pages by cursor: each request costs the same at any depth. */
  protected listEveryKeyset<T extends { id: string }>(
    path: string,
    query: Record<string, QueryValue>,
    convert: (raw: unknown) => T,
    options?: RequestOptions,
  ): AsyncGenerator<T, void, undefined> {
    return iterateAll(() => this.listKeyset(path, { per_page: 100, ...query }, convert, options));
  }
}
