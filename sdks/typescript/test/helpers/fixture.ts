import { TengineAI } from '@tengineai/sdk';
import { startServer, type TestServer } from './server.js';

export interface Fixture {
  server: TestServer;
  /** A client with the bootstrap (account-wide admin) key. */
  client: TengineAI;
  /** A client for another key on the same server. */
  clientFor(apiKey: string): TengineAI;
}

export async function setup(): Promise<Fixture> {
  const server = await startServer();
  const clientFor = (apiKey: string): TengineAI =>
    new TengineAI({ apiKey, baseUrl: server.url, maxRetries: 2, initialRetryDelayMs: 50, maxRetryDelayMs: 2000 });
  return { server, client: clientFor(server.apiKey), clientFor };
}
