import { REPLY_FIRST, type ProtectionModule } from '../model.js';

/** The banner must be 220; a reply line that is not `ddd[ -]text` is out of state too. */
export const badServerGreeting: ProtectionModule<'bad-server-greeting'> = {
  id: 'bad-server-greeting',
  hooks: () => ({
    replyTrigger: REPLY_FIRST,
    onReply(reply) {
      if (reply.answers === 'GREETING' && reply.code !== 220) {
        return { detail: `server greeting is ${reply.code}, not 220`, verdict: 'close' };
      }
      if (reply.answers === '' && reply.code !== 421) {
        return { detail: `server sent ${reply.code} with no command pending`, verdict: 'close' };
      }
      return undefined;
    },
    onFact(fact) {
      return fact.kind === 'invalid-reply-line' ? { detail: 'server line is not an SMTP reply', verdict: 'close' } : undefined;
    },
  }),
};
