import { z } from 'zod';
export { zApiError, zEventPage, zGatewayList, zInstall } from '@smtpguard/contracts';
export const zOpenApiShape = z.object({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) });
