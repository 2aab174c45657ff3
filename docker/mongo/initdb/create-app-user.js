// Runs once, on the first start of an empty data volume (the mongo image's
// /docker-entrypoint-initdb.d): the application's own user, with read and write
// access to its database only. The root user (MONGO_INITDB_ROOT_*) is for
// operators and the healthcheck, never for the app.
const user = process.env.MONGO_APP_USER;
const pwd = process.env.MONGO_APP_PASSWORD;
const dbName = process.env.MONGO_APP_DB;
if (!user || !pwd || !dbName) throw new Error('MONGO_APP_USER, MONGO_APP_PASSWORD and MONGO_APP_DB must be set');
db.getSiblingDB('admin').createUser({ user, pwd, roles: [{ role: 'readWrite', db: dbName }] });
print(`created user ${user} (readWrite on ${dbName})`);
