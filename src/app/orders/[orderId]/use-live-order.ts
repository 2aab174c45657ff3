'use client';
/**
 * The order as its page shows it, kept current by order-follower.ts: the
 * first read through react-query (retried while it fails, but never for a
 * 4xx: a wrong link stays wrong), then one follower per order that writes
 * what it learns into the same query, so the view's time of arrival
 * (dataUpdatedAt) stays the moment its serverTime was read.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTRPC, useTRPCClient } from '../../../trpc/react';
import { FOLLOW } from '../../_lib/follow-schedule';
import { followOrderPage, type OrderFollower } from './order-follower';

const isClientError = (status: number | undefined) => status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;

export function useLiveOrder(orderId: string, accessToken: string) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const order = useQuery({
    ...trpc.orders.get.queryOptions({ orderId, accessToken }),
    // Only the first read is react-query's: afterwards the follower is the one request in flight.
    refetchInterval: (q) => (q.state.data || isClientError(q.state.error?.data?.httpStatus) ? false : FOLLOW.retryMaxMs),
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
    retry: (count, err) => count < 3 && !isClientError(err.data?.httpStatus),
  });
  const [trouble, setTrouble] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const follower = useRef<OrderFollower | null>(null);
  const loaded = order.data !== undefined && order.fetchStatus === 'idle';

  useEffect(() => {
    if (!loaded) return;
    const key = trpc.orders.get.queryKey({ orderId, accessToken });
    const f = followOrderPage(client, { orderId, accessToken }, {
      current: () => queryClient.getQueryData(key),
      show: (view) => queryClient.setQueryData(key, view),
      onTrouble: setTrouble,
      onRefused: (err) => setRefusal(err instanceof Error ? err.message : String(err)),
    });
    follower.current = f;
    return () => {
      f.stop();
      follower.current = null;
    };
  }, [loaded, orderId, accessToken, client, queryClient, trpc]);

  /** Something is about to change (the buyer paid, the hold ran out): look now. */
  const refresh = useCallback(() => follower.current?.refresh(), []);
  /** The buyer's payment attempt failed: its outcome lands on the order without a transition. */
  const attemptFailed = useCallback(() => follower.current?.attemptFailed(), []);
  return { order, trouble, refusal, refresh, attemptFailed };
}
