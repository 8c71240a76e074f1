/**
 * `@rtmp/cluster`: a cluster of `@rtmp/server` relays on a shared registry (Redis): one publisher per stream
 * cluster-wide ({@link ClusterNode} claims), edge pulls so that a viewer on any node gets any stream, node load,
 * and moves of publishers without a gap ({@link ClusterRelay}).
 * @packageDocumentation
 */

export {
  ClusterRelay,
  type ClusterRelayEvents,
  type ClusterRelayOptions,
  EDGE_FLASH_VER,
  isEdgeSession,
  localViewers,
  streamUrl,
} from './cluster-relay.js';
export {
  CLUSTER_ERROR_CODES,
  ClusterError,
  type ClusterErrorCode,
  type ClusterErrorOptions,
} from './errors.js';
export {
  ClusterNode,
  type ClusterNodeEvents,
  type ClusterNodeOptions,
  type ClusterNodeStats,
  checkNodeUrl,
  type NodeReport,
} from './node.js';
export { RedisRegistry, type RedisRegistryOptions } from './redis-registry.js';
export type {
  ClaimResult,
  ClusterRegistry,
  NodeLoad,
  NodeRecord,
  NodeStream,
  RegistryEvent,
  RenewResult,
  StreamClaim,
} from './registry.js';
