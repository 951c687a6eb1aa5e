export { startGateway, type Gateway } from './server.js';
export { PolicySource, PolicyError, compilePolicyInput, type InstalledPolicy } from './policy-source.js';
export { JsonLinesSink, MemorySink, MultiSink, toEvent, type EventSink, type EventStamp } from './events.js';
export { Counters, type CountersSnapshot } from './counters.js';
export { DEFAULT_TIMEOUTS, parseHostPort, formatHostPort, type GatewayOptions, type HostPort, type Timeouts, type FailMode } from './options.js';
export { parseProxyHeader, proxyV1, proxyV2, type ProxyHeader } from './proxy-protocol.js';
export type { InspectorFactory, InspectorLike, ConnectionInfo, CompiledPolicy } from './inspector.js';
export { parseCli, loadPolicy, CliError, type CliConfig } from './cli.js';
