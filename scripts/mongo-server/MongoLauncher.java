// Launcher for mongo-java-server (de.bwaldvogel), our local MongoDB wire-protocol server.
//
// Run as a single-file Java program (JDK 11+), with the classpath that Maven resolves from
// scripts/mongo-server/pom.xml:
//
//   java -cp "$(cat .run/mongo-classpath.txt)" scripts/mongo-server/MongoLauncher.java \
//        --port 27090 --backend memory
//   java -cp "$(cat .run/mongo-classpath.txt)" scripts/mongo-server/MongoLauncher.java \
//        --port 27017 --backend h2 --file .data/mongo/orders.mv
//
// Options:
//   --port N                  TCP port (required)
//   --host ADDR               bind address (default 127.0.0.1)
//   --backend memory|h2       storage backend (default memory)
//   --file PATH               MVStore file for --backend h2 (required for h2; parent dirs are created)
//   --server-version X.Y[.Z]  MongoDB version the server claims in buildInfo/serverStatus (default 5.0.0)
//   --wire-version N          maxWireVersion the server claims in its isMaster handshake (default 13 = MongoDB 5.0)
//
// Why a custom version: mongo-java-server 1.47.0's own ServerVersion.MONGO_5_0 reports wire version 8
// (MongoDB 4.2's), and the MongoDB Node.js driver 7 (used by mongoose 9) refuses anything below 9
// ("reports maximum wire version 8, but this version of the Node.js Driver requires at least 9").
// The wire version is only used in the handshake answer, so claiming 13 changes what the driver
// allows itself to send, not how the server behaves; what actually works is tested by
// tests/probe/mongo-semantics.test.ts.
//
// Prints "MongoLauncher ready ..." on stdout once it accepts connections. On SIGTERM/SIGINT a
// shutdown hook closes clients, the server and the backend (for h2 this closes the MVStore, which
// commits it, so the file is consistent). Between clean shutdowns the MVStore auto-commits in the
// background (H2 default: about once a second), so a SIGKILL can lose the last ~1 s of writes.

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractUniqueIndex;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ObjectDataType;

import java.io.File;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

public class MongoLauncher {

    // ---- Index builds under the collection's lock ----
    //
    // The library runs a collection's reads and writes under the collection's lock, but builds and
    // drops its indexes under the database's. An index build racing an insert (a web process creating
    // its indexes while a worker already writes) failed the insert with a ConcurrentModificationException
    // on the index list ("Unknown error"), and an index built from the documents while one was being
    // inserted could miss it, so that a unique index would let its duplicate in. The collections below
    // build and drop indexes under the same lock as their writes.

    // ---- No size bookkeeping on every write ----
    //
    // The library keeps each collection's data size (collStats' `size`) by encoding the whole
    // document to BSON on every insert and delete, and the old and the new document on every update:
    // an update of a product carrying hundreds of holds encoded it twice more only to count bytes.
    // The collections below keep no such count (collStats reports what was counted before, or 0); no
    // part of the system reads it.

    // ---- Queries anchored on _id use the _id index ----
    //
    // mongo-java-server uses an index only for a query on exactly that index's keys, so
    // { _id: x, state: 'CREATED' } -- the shape of every conditional update the system makes --
    // scanned the whole collection (and, with the H2 backend, deserialized every document of it):
    // the cost of one update grew with the data stored. MongoDB answers such a query from the _id
    // index. These subclasses do the same: when a query has other conditions besides an _id the
    // _id index can look up (a value, or $in), they read those documents by the index and test the
    // whole query on each, exactly as the server does for a query its index handles. Top-level
    // conditions are a conjunction, so no document outside the _id's can match; results are the same.

    /** The positions of the documents the query's _id names, or null when the _id index cannot narrow it. */
    static <P> Iterable<P> idPositions(List<Index<P>> indexes, Document query) {
        if (query.size() < 2 || !query.containsKey("_id")) {
            return null;
        }
        Document byId = new Document("_id", query.get("_id"));
        for (Index<P> index : indexes) {
            List<IndexKey> keys = index.getKeys();
            if (keys.size() == 1 && keys.get(0).getKey().equals("_id") && index.canHandle(byId)) {
                return index.getPositions(byId);
            }
        }
        return null;
    }

    static final class IdFirstMemoryBackend extends MemoryBackend {
        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new IdFirstMemoryDatabase(databaseName, getCursorRegistry());
        }
    }

    static final class IdFirstMemoryDatabase extends MemoryDatabase {
        IdFirstMemoryDatabase(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, cursorRegistry);
        }

        @Override
        protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
            return new IdFirstMemoryCollection(this, collectionName, options, cursorRegistry);
        }

        // A `create` command (mongoose creates each model's collection when it starts) checks that
        // the collection is missing and creates it without the lock the server takes to create a
        // collection on first use. A `create` racing an index build or an insert for the same
        // collection (a web process and a worker starting together on an empty database) made a
        // second collection object without an _id index; the writes that went through it could never
        // be updated again ("Expected one element but got zero"). Under the same lock here.
        @Override
        public synchronized MongoCollection<Integer> createCollectionOrThrowIfExists(String collectionName, CollectionOptions options) {
            return super.createCollectionOrThrowIfExists(collectionName, options);
        }
    }

    static final class IdFirstMemoryCollection extends MemoryCollection {
        IdFirstMemoryCollection(MongoDatabase database, String collectionName, CollectionOptions options, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, cursorRegistry);
        }

        @Override
        protected boolean tracksDataSize() {
            return false;
        }

        @Override
        public synchronized void addIndex(Index<Integer> index) {
            super.addIndex(index);
        }

        @Override
        public synchronized void dropIndex(String indexName) {
            super.dropIndex(indexName);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize, Document fieldSelector) {
            Iterable<Integer> positions = idPositions(getIndexes(), query);
            return positions == null
                ? super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector)
                : matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
    }

    static final class IdFirstH2Backend extends H2Backend {
        IdFirstH2Backend(String fileName) {
            super(openStore(fileName));
        }

        /**
         * The store, for collection scans that run while writes commit (the auditor's and the metrics'
         * aggregations over 100,000 orders during a sale). With H2's defaults two such scans failed with
         * MVStoreException "Chunk N not found" (a page of the scan's snapshot in a chunk that was gone).
         * The cause is not pinned down; these settings remove the likeliest suspects and have not failed
         * since: no background compaction (chunks that empty out are still reused) and freed chunks kept
         * two minutes instead of H2's default. (A larger page cache was tried and left out: with the
         * launcher's 1 GB heap it left too little room for a scan's results, which are held in memory.)
         */
        static MVStore openStore(String fileName) {
            MVStore store = new MVStore.Builder().fileName(fileName).autoCompactFillRate(0).open();
            store.setRetentionTime(120_000);
            return store;
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new IdFirstH2Database(databaseName, getMvStore(), getCursorRegistry());
        }
    }

    static final class IdFirstH2Database extends H2Database {
        // H2Database opens its existing collections from its constructor, before a field of this
        // class could be set: read its own store instead.
        private static final Field STORE;

        static {
            try {
                STORE = H2Database.class.getDeclaredField("mvStore");
                STORE.setAccessible(true);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        IdFirstH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
            super(databaseName, mvStore, cursorRegistry);
        }

        private MVStore store() {
            try {
                return (MVStore) STORE.get(this);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The map name H2Database gives a unique index (its entries keyed by KeyValue objects). */
        private String legacyIndexMapName(String collectionName, String indexName) {
            return getFullCollectionNamespace(collectionName) + "._index_" + indexName;
        }

        /**
         * A unique index keyed by its keys' serialized bytes (SerializedKeyIndex). A store written with
         * H2Database's own index map has it converted once, entry by entry, and then removed. Left empty,
         * the index would be rebuilt from every document (AbstractMongoCollection.addIndex), but only
         * while it is empty: a crash midway would leave a partial index for good. The conversion is
         * repeated until the old map is gone, so a crash midway is finished at the next start.
         */
        @Override
        protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
            MVStore mvStore = store();
            String legacyName = legacyIndexMapName(collectionName, indexName);
            MVMap<String, Object> map = mvStore.openMap(legacyName + SerializedKeyIndex.MAP_SUFFIX);
            if (mvStore.hasMap(legacyName)) {
                MVMap<KeyValue, Object> legacy = mvStore.openMap(legacyName);
                for (Map.Entry<KeyValue, Object> entry : legacy.entrySet()) {
                    map.putIfAbsent(SerializedKeyIndex.keyOf(entry.getKey()), entry.getValue());
                }
                mvStore.removeMap(legacy);
            }
            return new SerializedKeyIndex(map, indexName, keys, sparse);
        }

        @Override
        protected void dropIndex(MongoCollection<Object> collection, String indexName) {
            super.dropIndex(collection, indexName);
            MVStore mvStore = store();
            String name = legacyIndexMapName(collection.getCollectionName(), indexName) + SerializedKeyIndex.MAP_SUFFIX;
            if (mvStore.hasMap(name)) {
                mvStore.removeMap(name);
            }
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            MVStore mvStore = store();
            // The map names H2Database gives a collection's documents and metadata.
            String namespace = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> data = mvStore.openMap("databases." + namespace);
            MVMap<String, Object> meta = mvStore.openMap("meta." + namespace);
            return new IdFirstH2Collection(this, collectionName, options, data, meta, cursorRegistry);
        }

        // As in IdFirstMemoryDatabase: a `create` under the lock that creating on first use takes.
        @Override
        public synchronized MongoCollection<Object> createCollectionOrThrowIfExists(String collectionName, CollectionOptions options) {
            return super.createCollectionOrThrowIfExists(collectionName, options);
        }
    }

    static final class IdFirstH2Collection extends H2Collection {
        IdFirstH2Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                            MVMap<Object, Document> data, MVMap<String, Object> meta, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, data, meta, cursorRegistry);
        }

        @Override
        protected boolean tracksDataSize() {
            return false;
        }

        @Override
        public synchronized void addIndex(Index<Object> index) {
            super.addIndex(index);
        }

        @Override
        public synchronized void dropIndex(String indexName) {
            super.dropIndex(indexName);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize, Document fieldSelector) {
            Iterable<Object> positions = idPositions(getIndexes(), query);
            return positions == null
                ? super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector)
                : matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
    }

    // ---- Unique indexes of the H2 store compare plain strings ----
    //
    // H2Database keeps a unique index (every _id index among them) in an MVMap keyed by KeyValue
    // objects. H2 compares keys of a class it does not know by serializing both with Java
    // serialization, so each lookup, insert and removal serialized two objects at every step of the
    // B-tree's binary search: 40 % of the server's CPU in a sale. Here the key is serialized once per
    // operation and the map is keyed by those bytes (as an ISO-8859-1 string, which H2 compares
    // natively). Two keys are equal exactly when they were before: when their serialized bytes are.
    // Only the order of the entries changes, which nothing uses: the library answers no range query
    // from an index, and a regular expression on an indexed field reads every entry, as before (each
    // key is then deserialized again; nothing in the system queries a unique key that way).

    static final class SerializedKeyIndex extends AbstractUniqueIndex<Object> {
        static final String MAP_SUFFIX = ".serialized";

        private final MVMap<String, Object> mvMap;

        SerializedKeyIndex(MVMap<String, Object> mvMap, String name, List<IndexKey> keys, boolean sparse) {
            super(name, keys, sparse);
            this.mvMap = mvMap;
        }

        static String keyOf(KeyValue keyValue) {
            return new String(ObjectDataType.serialize(keyValue), StandardCharsets.ISO_8859_1);
        }

        @Override
        protected Object removeDocument(KeyValue keyValue) {
            return mvMap.remove(keyOf(keyValue));
        }

        @Override
        protected boolean putKeyPosition(KeyValue keyValue, Object position) {
            return mvMap.putIfAbsent(keyOf(keyValue), Missing.ofNullable(position)) == null;
        }

        @Override
        protected Iterable<Map.Entry<KeyValue, Object>> getIterable() {
            List<Map.Entry<KeyValue, Object>> entries = new ArrayList<>();
            for (Map.Entry<String, Object> entry : mvMap.entrySet()) {
                KeyValue key = (KeyValue) ObjectDataType.deserialize(entry.getKey().getBytes(StandardCharsets.ISO_8859_1));
                entries.add(new AbstractMap.SimpleImmutableEntry<>(key, entry.getValue()));
            }
            return entries;
        }

        @Override
        protected Object getPosition(KeyValue keyValue) {
            return mvMap.get(keyOf(keyValue));
        }

        @Override
        public long getCount() {
            return mvMap.sizeAsLong();
        }

        @Override
        public boolean isEmpty() {
            return mvMap.isEmpty();
        }

        @Override
        public long getDataSize() {
            return getCount();
        }
    }

    /** The MongoDB version and wire version the server claims (see the note at the top). */
    static final class ClaimedVersion implements MongoVersion {
        private final List<Integer> versionArray;
        private final int wireVersion;

        ClaimedVersion(List<Integer> versionArray, int wireVersion) {
            this.versionArray = List.copyOf(versionArray);
            this.wireVersion = wireVersion;
        }

        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public int getWireVersion() {
            return wireVersion;
        }
    }

    private static void usage(String error) {
        if (error != null) {
            System.err.println("MongoLauncher: " + error);
        }
        System.err.println("usage: MongoLauncher --port N [--host 127.0.0.1] [--backend memory|h2] [--file path.mv]"
            + " [--server-version 5.0.0] [--wire-version 13]");
        System.exit(2);
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                usage(null);
            }
            if (!a.startsWith("--")) {
                usage("unexpected argument: " + a);
            }
            String key;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                key = a.substring(2, eq);
                value = a.substring(eq + 1);
            } else {
                if (i + 1 >= args.length) {
                    usage("missing value for " + a);
                }
                key = a.substring(2);
                value = args[++i];
            }
            opts.put(key, value);
        }
        for (String key : opts.keySet()) {
            switch (key) {
                case "port", "host", "backend", "file", "server-version", "wire-version" -> { }
                default -> usage("unknown option --" + key);
            }
        }
        return opts;
    }

    private static List<Integer> parseVersionArray(String v) {
        List<Integer> parts = new ArrayList<>();
        try {
            for (String part : v.split("\\.")) {
                parts.add(Integer.parseInt(part));
            }
        } catch (NumberFormatException e) {
            usage("--server-version must look like 5.0.0: " + v);
        }
        while (parts.size() < 3) {
            parts.add(0);
        }
        return parts;
    }

    private static int parseInt(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            usage("--" + name + " must be a number: " + v);
            return -1;
        }
    }

    public static void main(String[] args) throws Exception {
        // slf4j-simple logs to stderr; add timestamps and silence the per-connection INFO lines
        // (each can be overridden with -Dorg.slf4j.simpleLogger.*=...). Must run before any logger exists.
        System.getProperties().putIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        System.getProperties().putIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        System.getProperties().putIfAbsent(
            "org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler", "warn");

        Map<String, String> opts = parseArgs(args);

        String portText = opts.get("port");
        if (portText == null) {
            usage("--port is required");
        }
        int port = parseInt("port", portText);
        String host = opts.getOrDefault("host", "127.0.0.1");
        String backendName = opts.getOrDefault("backend", "memory");
        MongoVersion version = new ClaimedVersion(
            parseVersionArray(opts.getOrDefault("server-version", "5.0.0")),
            parseInt("wire-version", opts.getOrDefault("wire-version", "13")));

        MongoBackend backend;
        String description;
        switch (backendName) {
            case "memory" -> {
                backend = new IdFirstMemoryBackend();
                description = "memory";
            }
            case "h2" -> {
                String file = opts.get("file");
                if (file == null || file.isEmpty()) {
                    usage("--backend h2 needs --file path/to/db.mv");
                }
                File f = new File(file).getAbsoluteFile();
                File parent = f.getParentFile();
                if (parent != null && !parent.isDirectory() && !parent.mkdirs()) {
                    throw new IllegalStateException("cannot create directory " + parent);
                }
                backend = new IdFirstH2Backend(f.getPath());
                description = "h2 file=" + f.getPath();
            }
            default -> {
                usage("unknown --backend " + backendName + " (memory|h2)");
                return;
            }
        }
        backend.version(version);

        MongoServer server = new MongoServer(backend);
        try {
            server.bind(host, port);
        } catch (RuntimeException e) {
            System.err.println("MongoLauncher: cannot bind " + host + ":" + port + ": " + e);
            try {
                backend.close();
            } catch (RuntimeException closeError) {
                System.err.println("MongoLauncher: closing backend failed: " + closeError);
            }
            System.exit(1);
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("MongoLauncher stopping (" + description + ")");
            System.out.flush();
            try {
                // closes client connections, stops the event loops, then closes the backend
                // (H2Backend.close() closes -- and thereby commits -- the MVStore)
                server.shutdownNow();
                System.out.println("MongoLauncher stopped cleanly");
            } catch (RuntimeException e) {
                System.err.println("MongoLauncher: error during shutdown: " + e);
                e.printStackTrace();
            } finally {
                System.out.flush();
                stopped.countDown();
            }
        }, "mongo-launcher-shutdown"));

        System.out.println("MongoLauncher ready: mongodb://" + host + ":" + port
            + " backend=" + description
            + " serverVersion=" + version.getVersionArray()
            + " wireVersion=" + version.getWireVersion()
            + " pid=" + ProcessHandle.current().pid());
        System.out.flush();

        // Netty's threads keep the JVM alive; just park the main thread until shutdown.
        stopped.await();
    }
}
