import Foundation
import Logging
import Testing
import VigilModel
import VigilPostgres
import VigilStore
import VigilTestSupport

/// What one append costs the server must not grow with the log: the schema's checks of each insert read the
/// primary key's index, never the whole table.
@Suite struct AppendCostTests {
    /// The server's count of sequential scans of each log table that grows with the history, read once the
    /// backends that appended have reported their counters (they do at the latest when they exit): `inserted`
    /// rows of `events` counted.
    static func sequentialScans(
        afterInserting inserted: Int64, in database: PostgresLocation
    ) async throws -> (events: Int64, treeNodes: Int64) {
        func counter(_ column: String, of table: String) async throws -> Int64 {
            try await PostgresTestDatabase.integer(
                "SELECT \(column) FROM pg_stat_user_tables WHERE relname = '\(table)'", on: database)
        }
        let deadline = Date().addingTimeInterval(30)
        while try await counter("n_tup_ins", of: "events") < inserted {
            guard Date() < deadline else { throw Failure("the server did not report \(inserted) rows of events") }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (try await counter("seq_scan", of: "events"), try await counter("seq_scan", of: "tree_nodes"))
    }

    @Test func appendingGroupsReadsNoTableWhole() async throws {
        try await PostgresTestDatabase.with { database in
            let keys = TestKeys()
            let logger = Logger(label: "append-cost")
            let open = {
                try await EventStore.open(
                    backend: try await PostgresLog.open(database, logger: logger), anchors: keys.anchors,
                    logger: logger)
            }
            // A log of some thousands of entries: large enough that reading the whole table costs the planner
            // more than one entry of the index.
            let store = try await open()
            _ = await store.append(keys.verifiedRegistrations(at: LogBackendContractTests.start))
            for group in LogBackendContractTests.readings(3000, by: keys).chunks(of: 100) {
                _ = await store.append(Array(group))
            }
            let logged = Int64(store.head.size)
            await store.close()
            let before = try await Self.sequentialScans(afterInserting: logged, in: database)

            // 200 groups more, each checked by the triggers: far more than the five runs after which PL/pgSQL
            // plans a statement once for any value.
            let reopened = try await open()
            let groups = LogBackendContractTests.readings(1000, by: keys, from: 3000).chunks(of: 5)
            for group in groups {
                #expect(await reopened.append(Array(group)).allSatisfy(LogBackendContractTests.isStored))
            }
            #expect(reopened.head.size == Int(logged) + 1000)
            await reopened.close()
            let after = try await Self.sequentialScans(afterInserting: logged + 1000, in: database)

            // Reopening the store may read a table whole once or twice; 200 groups must not add one each.
            #expect(
                after.events - before.events < 10, "sequential scans of events: \(before.events) -> \(after.events)")
            #expect(
                after.treeNodes - before.treeNodes < 10,
                "sequential scans of tree_nodes: \(before.treeNodes) -> \(after.treeNodes)")
        }
    }
}
