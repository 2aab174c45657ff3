/**
 * One seam over every database operation of the models: a hook that runs
 * before each query, insert, aggregate and bulk write, on every schema.
 *
 * It is inert unless a gate is installed, and only tests install one: the
 * deterministic scheduler (tests/scheduler/) makes each operation of a step
 * wait for its permission, so the order in which concurrent steps touch the
 * database is chosen, recorded and replayable instead of left to timing;
 * other tests record operations or refuse some, as a failing database would.
 * Production code never installs a gate; the cost there is one `undefined`
 * check per operation.
 */
import type { MongooseDefaultQueryMiddleware, Query, Schema } from 'mongoose';

/** What the gate learns about an operation: enough to print a readable trace. */
export interface Operation {
  model: string;
  op: string;
  filter?: unknown;
  update?: unknown;
}

export type OperationGate = (operation: Operation) => Promise<void> | void;

let gate: OperationGate | undefined;

/** Installs (or, with undefined, removes) the gate every model operation passes; returns the one it replaced. */
export function setOperationGate(next: OperationGate | undefined): OperationGate | undefined {
  const previous = gate;
  gate = next;
  return previous;
}

/** Passes the gate, for an operation made on the driver's collection rather than through a model hook (insert-validated.ts). */
export async function passOperationGate(operation: Operation): Promise<void> {
  if (gate) await gate(operation);
}

/** Runs branches that may overlap; resolves, once every one has ended, with how each ended. */
export type BranchRunner = (branches: readonly (() => Promise<unknown>)[]) => Promise<PromiseSettledResult<unknown>[]>;

const atOnce: BranchRunner = (branches) => Promise.allSettled(branches.map((branch) => branch()));

let branchRunner: BranchRunner | undefined;

/** Installs (or, with undefined, removes) how runConcurrently runs its branches; only the scheduler installs one. */
export function setBranchRunner(next: BranchRunner | undefined): void {
  branchRunner = next;
}

/**
 * Runs independent steps at once and waits for every one of them, then
 * rejects with the first failure in the order given, if any: unlike
 * Promise.all, nothing is still running when it rejects. Under the test
 * scheduler each branch is a task of its own, so the order of their
 * operations is chosen like any other interleaving.
 */
export async function runConcurrently(branches: readonly (() => Promise<unknown>)[]): Promise<void> {
  const results = await (branchRunner ?? atOnce)(branches);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const QUERY_OPERATIONS: MongooseDefaultQueryMiddleware[] = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'distinct',
  'estimatedDocumentCount',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
];

/** The mongoose plugin each model schema applies before it is compiled. */
export function operationGatePlugin(schema: Schema): void {
  schema.pre(QUERY_OPERATIONS, async function (this: Query<unknown, unknown> & { op?: string }) {
    if (gate) await gate({ model: this.model.modelName, op: this.op ?? 'query', filter: this.getFilter(), update: this.getUpdate() ?? undefined });
  });
  schema.pre('save', async function () {
    if (gate) await gate({ model: (this.constructor as { modelName?: string }).modelName ?? '?', op: 'insert', filter: { _id: this._id } });
  });
  schema.pre('insertMany', async function (this: { modelName: string }) {
    if (gate) await gate({ model: this.modelName, op: 'insertMany' });
  });
  schema.pre('bulkWrite', async function (this: { modelName: string }) {
    if (gate) await gate({ model: this.modelName, op: 'bulkWrite' });
  });
  schema.pre('aggregate', async function (this: { model(): { modelName: string } }) {
    if (gate) await gate({ model: this.model().modelName, op: 'aggregate' });
  });
}
