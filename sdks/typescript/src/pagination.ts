import type { Pagination } from './models.js';

export interface PageParams {
  /** Page number, from 1 (default 1). */
  page?: number | undefined;
  /** Items per page, 1..=100 (default 20). */
  perPage?: number | undefined;
}

export interface ListAllParams {
  /** Items per request while iterating (default 100, the maximum). */
  perPage?: number | undefined;
}

/** The wire shape of a list. */
export interface WireList {
  data: unknown[];
  pagination: { page: number; per_page: number; total: number };
}

/** One page of a list: `data`, `pagination`, and the way to the next page. */
export class Page<T> {
  readonly data: T[];
  readonly pagination: Pagination;
  readonly #fetchPage: (page: number) => Promise<Page<T>>;

  constructor(data: T[], pagination: Pagination, fetchPage: (page: number) => Promise<Page<T>>) {
    this.data = data;
    this.pagination = pagination;
    this.#fetchPage = fetchPage;
  }

  /** Whether pages follow this one. */
  hasNext(): boolean {
    const { page, perPage, total } = this.pagination;
    return this.data.length > 0 && page * perPage < total;
  }

  /** The next page, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    return this.hasNext() ? this.#fetchPage(this.pagination.page + 1) : null;
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

/** Builds a Page from a wire list, converting each item with `convert`. */
export function makePage<T>(
  wire: WireList,
  convert: (raw: unknown) => T,
  fetchPage: (page: number) => Promise<Page<T>>,
): Page<T> {
  const p = wire.pagination;
  return new Page(wire.data.map(convert), { page: p.page, perPage: p.per_page, total: p.total }, fetchPage);
}

/** Iterates over every item of every page, starting at page 1. */
export async function* iterateAll<T>(first: () => Promise<Page<T>>): AsyncGenerator<T, void, undefined> {
  let page: Page<T> | null = await first();
  while (page) {
    yield* page.data;
    page = await page.nextPage();
  }
}
