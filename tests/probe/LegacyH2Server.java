// mongo-java-server with its own H2 backend, unchanged: it writes a store in the format the library
// itself uses (unique indexes keyed by KeyValue objects), so h2-store.test.ts can check that
// scripts/mongo-server/MongoLauncher.java opens such a store. Run like the launcher:
//
//   java -cp "$(cat .run/mongo-classpath.txt)" tests/probe/LegacyH2Server.java PORT FILE
//
// Prints "legacy ready" once it accepts connections; SIGTERM closes (and so commits) the store.
//
//   java -cp ... tests/probe/LegacyH2Server.java --interrupt-conversion FILE N
//
// leaves the store (no server running) as a launcher killed while converting it would: next to each
// index map of the library's format, the launcher's map holding only its first N entries.

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ObjectDataType;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

public class LegacyH2Server {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("--interrupt-conversion")) {
            interruptConversion(args[1], Integer.parseInt(args[2]));
            return;
        }
        H2Backend backend = new H2Backend(args[1]);
        // The wire version the launcher claims too (the driver refuses the library's own 8).
        backend.version(new MongoVersion() {
            public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
            public int getWireVersion() { return 13; }
        });
        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", Integer.parseInt(args[0]));
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        System.out.println("legacy ready");
        System.out.flush();
        Thread.currentThread().join();
    }

    /** The launcher's index map: its name and key encoding (MongoLauncher.SerializedKeyIndex). */
    static void interruptConversion(String file, int entries) {
        MVStore store = new MVStore.Builder().fileName(file).open();
        for (String name : store.getMapNames()) {
            if (!name.contains("._index_") || name.endsWith(".serialized")) {
                continue;
            }
            MVMap<KeyValue, Object> legacy = store.openMap(name);
            MVMap<String, Object> converted = store.openMap(name + ".serialized");
            int n = 0;
            for (Map.Entry<KeyValue, Object> entry : legacy.entrySet()) {
                if (n++ == entries) {
                    break;
                }
                converted.put(new String(ObjectDataType.serialize(entry.getKey()), StandardCharsets.ISO_8859_1), entry.getValue());
            }
        }
        store.close();
        System.out.println("conversion interrupted");
    }
}
