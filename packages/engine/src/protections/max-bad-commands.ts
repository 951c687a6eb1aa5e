import { REPLY_ERROR, type ProtectionModule } from '../model.js';

/** Counts 4xx/5xx replies to client commands (the engine counts its own rejections too). */
export const maxBadCommands: ProtectionModule<'max-bad-commands'> = {
  id: 'max-bad-commands',
  hooks: (settings) => ({
    replyTrigger: REPLY_ERROR,
    onReply(reply, session) {
      if (settings.limit === 0 || reply.answers === 'GREETING' || reply.answers === '') return undefined;
      if (reply.code < 400 || session.badReplyCount !== settings.limit + 1) return undefined;
      return { detail: `${session.badReplyCount} error replies, limit ${settings.limit}`, verdict: 'close' };
    },
  }),
};
