export { TengineAI } from './client.js';
export { TengineAI as default } from './client.js';
export {
  APIClient,
  DEFAULT_BASE_URL,
  VERSION,
  normalizeBaseUrl,
  type ClientOptions,
  type RequestOptions,
  type StreamOptions,
} from './core.js';
export {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  TengineError,
  ValidationError,
  type TengineErrorInit,
} from './errors.js';
export type {
  AccountAnalytics,
  Analytics,
  AnalyticsBucket,
  AnalyticsCounts,
  ApiKey,
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  FailingWebhook,
  ProjectTotals,
  RequestTotals,
  ClientRegistrationPolicy,
  Integration,
  IntegrationConnection,
  IntegrationEventData,
  ErrorCode,
  Event,
  EventType,
  EventTypeCatalogue,
  EventTypeInfo,
  Granularity,
  Pagination,
  Permission,
  Project,
  Tool,
  ToolAuthStrategy,
  ToolHttpMethod,
  ToolMemberIdentity,
  UsageAlertData,
  UsageCounts,
  Webhook,
  WebhookDisabled,
  WebhookDisabledData,
  WebhookHealth,
  WebhookTest,
  WebhookTestData,
  WebhookTestResult,
} from './models.js';
export { Page, type CursorPageParams, type ListAllParams, type PageParams } from './pagination.js';
export type { ProjectCreateParams, ProjectUpdateParams, Projects } from './resources/projects.js';
export type { ApiKeyCreateParams, ApiKeyRotateParams, ApiKeyUpdateParams, ApiKeys } from './resources/api-keys.js';
export type {
  WebhookCreateParams,
  WebhookOrdering,
  WebhookRotateSecretParams,
  WebhookUpdateParams,
  Webhooks,
} from './resources/webhooks.js';
export type {
  ClientRegistrationParams,
  ConsentDecision,
  ConsentDecisionParams,
  ConsentPrompt,
  IntegrationCreateParams,
  IntegrationUpdateParams,
  Integrations,
} from './resources/integrations.js';
export type { ToolCreateParams, ToolTestParams, ToolTestResult, ToolUpdateParams, Tools } from './resources/tools.js';
export type {
  ConsoleSession,
  Mcp,
  Me,
  PortalExchange,
  PortalSession,
  PortalSessionCreateParams,
  PortalSessions,
  SessionToken,
  Sessions,
  SigningKey,
  SigningKeyCreateParams,
  SigningKeys,
  ToolCall,
  ToolCallListParams,
  ToolCalls,
} from './resources/execution.js';
export type { EventListParams, EventStreamParams, Events, EventTypes } from './resources/events.js';
export { SSEParser, type ServerSentEvent } from './sse.js';
export type { AnalyticsParams, AnalyticsResource, OverviewParams } from './resources/analytics.js';
export {
  WebhookVerificationError,
  isKnownWebhookEvent,
  signWebhook,
  verifyWebhook,
  verifyWebhookEvent,
  type KnownEventType,
  type KnownWebhookEvent,
  type UnknownWebhookEvent,
  type VerifyWebhookOptions,
  type WebhookEvent,
  type WebhookEventDataMap,
  type WebhookHeaders,
} from './webhook-verify.js';
export {
  ToolSignatureError,
  signToolCall,
  toolCanonicalString,
  verifyToolCall,
  type ToolCallRequest,
  type VerifiedToolCall,
  type VerifyToolCallOptions,
} from './tool-verify.js';
