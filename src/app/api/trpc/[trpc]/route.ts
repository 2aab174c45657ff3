import { trpcHandler } from '@/server/http/api-handlers';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export { trpcHandler as GET, trpcHandler as POST };
