import mongoose from 'mongoose';
import { NextResponse } from 'next/server';
import { getRuntime } from '@/server/runtime';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Ready when MongoDB and Redis answer. */
export async function GET(): Promise<NextResponse> {
  try {
    const { redis } = await getRuntime();
    await Promise.all([mongoose.connection.db?.admin().ping(), redis.ping()]);
    return NextResponse.json({ ok: true });
  } catch (err) {
    return NextResponse.json({ ok: false, error: (err as Error).message }, { status: 503 });
  }
}
