import type { RequestOptions } from '../core.js';
import { fromWire, toRequestBody, type Project } from '../models.js';
import type { CursorPageParams, ListAllParams, Page, PageParams } from '../pagination.js';
import { Resource, seg } from './base.js';

export interface ProjectCreateParams {
  /** 1..=100 characters (stored trimmed). */
  name: string;
  /** 0..=1000 characters. */
  description?: string | null | undefined;
}

export interface ProjectUpdateParams {
  name?: string | undefined;
  /** `null` clears the description; `undefined` leaves it unchanged. */
  description?: string | null | undefined;
}

const toProject = (raw: unknown): Project => fromWire<Project>(raw);

/** `/projects`. */
export class Projects extends Resource {
  /** One page of the projects the key can see, newest first. */
  list(params: CursorPageParams = {}, options?: RequestOptions): Promise<Page<Project>> {
    return this.listKeyset('/projects', { page: params.page, per_page: params.perPage, starting_after: params.startingAfter, ending_before: params.endingBefore }, toProject, options);
  }

  /** Every project, across pages: `for await (const p of client.projects.listAll()) ...`. */
  listAll(params: ListAllParams = {}, options?: RequestOptions): AsyncGenerator<Project, void, undefined> {
    return this.listEveryKeyset('/projects', { per_page: params.perPage }, toProject, options);
  }

  /** Creates a project (needs an account-wide key with `write`). */
  async create(params: ProjectCreateParams, options?: RequestOptions): Promise<Project> {
    return toProject(
      await this.client.request({ method: 'POST', path: '/projects', body: toRequestBody(params), options }),
    );
  }

  async retrieve(projectId: string, options?: RequestOptions): Promise<Project> {
    return toProject(await this.client.request({ method: 'GET', path: `/projects/${seg(projectId)}`, options }));
  }

  /** Alias of {@link retrieve}. */
  get(projectId: string, options?: RequestOptions): Promise<Project> {
    return this.retrieve(projectId, options);
  }

  async update(projectId: string, params: ProjectUpdateParams, options?: RequestOptions): Promise<Project> {
    return toProject(
      await this.client.request({
        method: 'PATCH',
        path: `/projects/${seg(projectId)}`,
        body: toRequestBody(params),
        options,
      }),
    );
  }

  /** Deletes a project (soft delete; its keys and webhooks stop working at once). */
  async delete(projectId: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `/projects/${seg(projectId)}`, options });
  }
}
