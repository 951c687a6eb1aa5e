export { readCapture, swapRoles, type CaptureResult, type ReadOptions } from './capture.js';
export { detectFormat, readPackets, type CaptureFormat, type CaptureProblem, type RawPacket } from './files.js';
export { NetworkDecoder, SUPPORTED_LINK_TYPES, type TcpSegment } from './network.js';
export {
  DEFAULT_LIMITS,
  SERVER_PORTS,
  TcpTracker,
  type DirectionStats,
  type Endpoint,
  type GapReason,
  type ReassemblyLimits,
  type Side,
  type StreamEvent,
  type TcpConnection,
} from './tcp.js';
export * as synth from './synth.js';
