export { compilePolicy, type CompiledPolicy } from './policy.js';
export { createInspector, SmtpInspector, type ConnectionMeta, type InspectorStats, LINE_CAP, REPLY_LINE_CAP, MAX_PENDING, HELD_HIGH_WATER, HELD_HARD_CAP, EHLO_LINES_KEPT } from './inspector.js';
export { emptyVerdict, type Verdict, type Notice } from './verdict.js';
export { parseTranscript, TranscriptError, type TranscriptSegment } from './transcript.js';
export { escapeForLog } from './bytes.js';
export { formatReply } from './reply.js';
export { parseMailArgument, type ParsedMailArgument } from './address.js';
