/**
 * A signed-in operator of the console. The cookie holds a random token; only
 * its SHA-256 is stored, so reading this collection never yields a usable
 * cookie. Sessions end at `expiresAt` (checked on every read), on sign-out
 * (deleted), or when the password changes (`credential` no longer matches).
 */
import mongoose, { Schema, type InferSchemaType, type Model } from 'mongoose';
import { operationGatePlugin } from './operation-gate';

const adminSessionSchema = new Schema(
  {
    _id: { type: String, required: true }, // sha256(token), hex
    /** Fingerprint of the password the session was opened with. */
    credential: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'admin_sessions' },
);

// MongoDB deletes expired sessions by itself (a TTL index); the local
// mongo-java-server ignores it, which is harmless: every read checks
// expiresAt, and sign-in purges expired sessions.
adminSessionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

adminSessionSchema.plugin(operationGatePlugin);

export type AdminSessionDoc = InferSchemaType<typeof adminSessionSchema>;

export const AdminSession: Model<AdminSessionDoc> =
  (mongoose.models.AdminSession as Model<AdminSessionDoc> | undefined) ?? mongoose.model<AdminSessionDoc>('AdminSession', adminSessionSchema);
