export { type BudgetHolder, BufferBudget } from './budget.js';
export {
  type RtmpCallResult,
  type RtmpCommand,
  RtmpConnection,
  type RtmpConnectionEvents,
  type RtmpConnectionOptions,
  type RtmpDataMessage,
  type RtmpRole,
  type RtmpStatus,
} from './connection.js';
export { ChunkStreams } from './control.js';
