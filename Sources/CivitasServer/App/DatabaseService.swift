import CivitasStore
import Logging
import ServiceLifecycle

/// Closes the database after everything that uses it has stopped.
struct DatabaseService: Service {
    let stores: Stores

    func run() async throws {
        try? await gracefulShutdown()
        await stores.database.shutdown()
    }
}
