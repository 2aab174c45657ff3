// MongoDB's healthcheck in docker-compose.yml, which also initiates the
// one-member replica set the first time: idempotent, so running it every few
// seconds is harmless. Healthy = this member is the writable primary.
//   mongosh --quiet --norc "mongodb://127.0.0.1:27017/admin?directConnection=true" replica-set.js
// (a direct connection: a member that is not initiated yet cannot be discovered as part of a set)
const admin = db.getSiblingDB('admin');
admin.auth(process.env.MONGO_INITDB_ROOT_USERNAME, process.env.MONGO_INITDB_ROOT_PASSWORD);
try {
  rs.status();
} catch (err) {
  if (err.codeName !== 'NotYetInitialized') throw err;
  // The member's name is the compose service's, which the app's URI names too.
  rs.initiate({ _id: process.env.MONGO_REPLICA_SET, members: [{ _id: 0, host: 'mongo:27017' }] });
  print('replica set initiated');
}
if (!db.hello().isWritablePrimary) {
  print('not primary yet');
  quit(1);
}
