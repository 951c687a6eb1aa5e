import { compilePolicy, createInspector, type Verdict } from '@smtpguard/engine';

export type { Verdict };
export type CompiledPolicy = ReturnType<typeof compilePolicy>;

/** What the gateway needs of an inspector (the engine's createInspector result). */
export interface InspectorLike {
  fromClient(chunk: Uint8Array): Verdict;
  fromServer(chunk: Uint8Array): Verdict;
  clientEnded(): Verdict;
  serverEnded(): Verdict;
  readonly inspecting: boolean;
  /** Where the conversation stands (picks the RFC 5321 timeout). */
  readonly phase: 'greeting' | 'command' | 'message' | 'message-end';
}

export interface ConnectionInfo {
  clientAddress: string;
  serverAddress: string;
  gateway: string;
}

/** Makes one inspector per connection. Tests inject one that throws. */
export type InspectorFactory = (compiled: CompiledPolicy, connection: ConnectionInfo) => InspectorLike;

export const engineInspectorFactory: InspectorFactory = (compiled, connection) => createInspector(compiled, connection);

export function emptyVerdict(): Verdict {
  return { toServer: [], toClient: [], findings: [], notices: [], closeClient: false, closeServer: false, pauseClient: false };
}
