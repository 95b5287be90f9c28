import { APIClient, type ClientOptions } from './core.js';
import { fromWire } from './models.js';
import { AnalyticsResource } from './resources/analytics.js';
import { ApiKeys } from './resources/api-keys.js';
import { Events, EventTypes } from './resources/events.js';
import { Mcp, PortalSessions, Sessions, SigningKeys, ToolCalls, type Me } from './resources/execution.js';
import { Projects } from './resources/projects.js';
import { Integrations } from './resources/integrations.js';
import { Tools } from './resources/tools.js';
import { Webhooks } from './resources/webhooks.js';

/**
 * The TengineAI client.
 *
 * ```ts
 * const client = new TengineAI({ apiKey: 'tng_...', baseUrl: 'http://localhost:8080' });
 * const project = await client.projects.create({ name: 'My Project', description: 'A sample project' });
 * ```
 */
export class TengineAI extends APIClient {
  readonly projects: Projects;
  readonly apiKeys: ApiKeys;
  readonly webhooks: Webhooks;
  readonly tools: Tools;
  /** OAuth 2.1 clients of projects, their connections and the registration policy. */
  readonly integrations: Integrations;
  readonly events: Events;
  /** The event-type catalogue: every type, its scope and the JSON Schema of its `data`. */
  readonly eventTypes: EventTypes;
  readonly analytics: AnalyticsResource;
  readonly toolCalls: ToolCalls;
  readonly signingKeys: SigningKeys;
  readonly mcp: Mcp;
  readonly portalSessions: PortalSessions;
  readonly sessions: Sessions;

  constructor(options: ClientOptions = {}) {
    super(options);
    this.projects = new Projects(this);
    this.apiKeys = new ApiKeys(this);
    this.webhooks = new Webhooks(this);
    this.tools = new Tools(this);
    this.integrations = new Integrations(this);
    this.events = new Events(this);
    this.eventTypes = new EventTypes(this);
    this.analytics = new AnalyticsResource(this);
    this.toolCalls = new ToolCalls(this);
    this.signingKeys = new SigningKeys(this);
    this.mcp = new Mcp(this);
    this.portalSessions = new PortalSessions(this);
    this.sessions = new Sessions(this);
  }

  /** Who the client's key is (`GET /me`). */
  async me(): Promise<Me> {
    return fromWire(await this.request({ method: 'GET', path: '/me' }));
  }
}
