import { NextResponse } from 'next/server';
import { getConfig } from '@/server/config';
import { webDependencyChecks } from '@/server/health/dependency-checks';
import { checkReadiness } from '@/server/health/readiness';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Readiness: MongoDB and Redis answer; 503 naming the ones that do not. */
export async function GET(): Promise<NextResponse> {
  const readiness = await checkReadiness(webDependencyChecks(getConfig()));
  return NextResponse.json(readiness, { status: readiness.ready ? 200 : 503, headers: { 'cache-control': 'no-store' } });
}
