// mongo-java-server with its own H2 backend, unchanged: it writes a store in the format the library
// itself uses (unique indexes keyed by KeyValue objects), so h2-store.test.ts can check that
// scripts/mongo-server/MongoLauncher.java opens such a store. Run like the launcher:
//
//   java -cp "$(cat .run/mongo-classpath.txt)" tests/probe/LegacyH2Server.java PORT FILE
//
// Prints "legacy ready" once it accepts connections; SIGTERM closes (and so commits) the store.

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

import java.util.List;

public class LegacyH2Server {
    public static void main(String[] args) throws Exception {
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
}
