import { NotFoundError } from '@tengineai/sdk';

/**
 * Whether the server lacks a route (an older binary): the API answers 404 `NOT_FOUND`
 * with `details.resource == "route"` for paths it does not know.
 */
export async function routeMissing(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (e) {
    if (e instanceof NotFoundError && e.code === 'NOT_FOUND' && e.details['resource'] === 'route') return true;
    throw e;
  }
}
