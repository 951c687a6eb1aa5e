import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { z } from 'zod';
import { fromZod } from './errors.js';
import { requireUser, type SessionUser } from './auth.js';

export type Access = 'public' | 'operator' | 'admin';

export interface Ctx<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  user: SessionUser;
  req: FastifyRequest;
  reply: FastifyReply;
}

interface RouteDef<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: HTTPMethods;
  url: string;
  access: Access;
  summary: string;
  tags: string[];
  body?: B;
  query?: Q;
  params?: P;
  /** Documented responses (status -> schema); not used to serialise. */
  response?: Record<number, z.ZodType | null>;
  config?: Record<string, unknown>;
  handler: (ctx: Ctx<z.output<B>, z.output<Q>, z.output<P>>) => unknown;
}

export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

function outSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
}

/**
 * One route: zod validates body/query/params (400 naming the field), the same zod schemas
 * become the OpenAPI document, access is checked before validation (401/403 first).
 */
export function route<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, P extends z.ZodType = z.ZodUndefined>(
  app: FastifyInstance,
  def: RouteDef<B, Q, P>,
): void {
  const schema: Record<string, unknown> = { summary: def.summary, tags: def.tags };
  if (def.body) schema.body = jsonSchema(def.body);
  if (def.query) schema.querystring = jsonSchema(def.query);
  if (def.params) schema.params = jsonSchema(def.params);
  if (def.access !== 'public') schema.security = [{ session: [] }];
  if (def.response) {
    const response: Record<string, unknown> = {};
    for (const [status, s] of Object.entries(def.response)) {
      response[status] = s ? outSchema(s) : { type: 'null', description: 'No content' };
    }
    schema.response = response;
  }
  app.route({
    method: def.method,
    url: def.url,
    schema,
    ...(def.config ? { config: def.config } : {}),
    handler: async (req, reply) => {
      const user = def.access === 'public' ? (null as unknown as SessionUser) : requireUser(req, def.access);
      const parse = (where: string, s: z.ZodType | undefined, value: unknown) => {
        if (!s) return undefined;
        // No body at all reads as {}; a JSON null is a wrong body, not an empty one.
        const r = s.safeParse(value === undefined ? {} : value);
        if (!r.success) throw fromZod(where, r.error);
        return r.data;
      };
      const params = parse('params', def.params, req.params);
      const query = parse('query', def.query, req.query);
      const body = parse('body', def.body, req.body);
      const result = await def.handler({ body, query, params, user, req, reply } as Ctx<z.output<B>, z.output<Q>, z.output<P>>);
      if (result === undefined && !reply.sent) return reply.code(204).send();
      return result;
    },
  });
}
