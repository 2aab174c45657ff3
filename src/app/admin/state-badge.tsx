/** An order state as a compact label. */

export function StateBadge({ state }: { state: string }) {
  return (
    <span className="adm-state" data-state={state}>
      {state}
    </span>
  );
}
