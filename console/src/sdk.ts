// The parts of the TypeScript SDK a browser needs (the signature verifiers use Node's
// crypto and stay out of the bundle).
export { TengineAI } from '../../sdks/typescript/src/client.js';
export * from '../../sdks/typescript/src/errors.js';
export type * from '../../sdks/typescript/src/models.js';
export type * from '../../sdks/typescript/src/resources/execution.js';
export type { Page } from '../../sdks/typescript/src/pagination.js';
export type { ToolTestResult } from '../../sdks/typescript/src/resources/tools.js';
export type { ConsentPrompt } from '../../sdks/typescript/src/resources/integrations.js';
