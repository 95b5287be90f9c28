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
      return makePage(wire, convert, fetchPage);
    };
    return fetchPage((query['page'] as number | undefined) ?? 1);
  }

  protected listEvery<T>(
    path: string,
    query: Record<string, QueryValue>,
    convert: (raw: unknown) => T,
    options?: RequestOptions,
  ): AsyncGenerator<T, void, undefined> {
    return iterateAll(() => this.listPage(path, { per_page: 100, ...query, page: 1 }, convert, options));
  }
}
