import type { Pagination } from './models.js';

export interface PageParams {
  /** Page number, from 1 (default 1). */
  page?: number | undefined;
  /** Items per page, 1..=100 (default 20). */
  perPage?: number | undefined;
}

/** A list that pages by number or by cursor (an item id): the same cost at any depth. */
export interface CursorPageParams extends PageParams {
  /** The items after this item id, in list order (older ones); not with `page`. */
  startingAfter?: string | undefined;
  /** The items before this item id (newer ones), in list order; not with `page` or `startingAfter`. */
  endingBefore?: string | undefined;
}

export interface ListAllParams {
  /** Items per request while iterating (default 100, the maximum). */
  perPage?: number | undefined;
}

/** The wire shape of a list. */
export interface WireList {
  data: unknown[];
  pagination: { page?: number | null; per_page: number; total: number; has_more?: boolean };
}

/** One page of a list: `data`, `pagination`, and the way to the next page. */
export class Page<T> {
  readonly data: T[];
  readonly pagination: Pagination;
  /**
   * Since when the list is complete (RFC 3339, `X-Tengine-Retained-Since`, sent by the
   * event and delivery lists): what finished before may have been purged. Undefined on
   * other lists.
   */
  readonly retainedSince: string | undefined;
  readonly #fetchNext: () => Promise<Page<T>>;

  /** `fetchNext` reads the page that follows this one in its direction. */
  constructor(data: T[], pagination: Pagination, fetchNext: () => Promise<Page<T>>, retainedSince?: string) {
    this.data = data;
    this.pagination = pagination;
    this.retainedSince = retainedSince;
    this.#fetchNext = fetchNext;
  }

  /** Whether more items lie beyond this page in its direction: the server's `has_more`, or
   * for a server that does not send it, whether the pages so far are short of the total. */
  hasNext(): boolean {
    const { page, perPage, total, hasMore } = this.pagination;
    if (this.data.length === 0) return false;
    if (hasMore !== undefined) return hasMore;
    return page !== undefined && page !== null && page * perPage < total;
  }

  /** The next page in this page's direction, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    return this.hasNext() ? this.#fetchNext() : null;
  }

  /** Iterates over the items of this page and every page after it. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> | null = this;
    while (page) {
      yield* page.data;
      page = await page.nextPage();
    }
  }

  toJSON(): { data: T[]; pagination: Pagination } {
    return { data: this.data, pagination: this.pagination };
  }
}

/** Builds a Page from a wire list, converting each item with `convert`; `fetchNext`
 * gets the converted items to find the next cursor; `headers` give `retainedSince`. */
export function makePage<T>(
  wire: WireList,
  convert: (raw: unknown) => T,
  fetchNext: (items: T[]) => Promise<Page<T>>,
  headers?: Headers,
): Page<T> {
  const p = wire.pagination;
  const items = wire.data.map(convert);
  const pagination: Pagination = { perPage: p.per_page, total: p.total };
  if (p.page !== undefined && p.page !== null) pagination.page = p.page;
  if (p.has_more !== undefined) pagination.hasMore = p.has_more;
  const retainedSince = headers?.get('x-tengine-retained-since') ?? undefined;
  return new Page(items, pagination, () => fetchNext(items), retainedSince);
}

/** Iterates over every item of every page, starting at page 1. */
export async function* iterateAll<T>(first: () => Promise<Page<T>>): AsyncGenerator<T, void, undefined> {
  let page: Page<T> | null = await first();
  while (page) {
    yield* page.data;
    page = await page.nextPage();
  }
}
