import Foundation
import Testing
import VigilModel
import VigilProjections
import VigilTestSupport

/// The views' write-ahead log under steady flushes: issue 20's soak found it grew without end (6.7 GB in 19 minutes
/// at 600 events/s) while a checkpoint beside the flushes copied it into the file every second.
@Suite struct ViewLogTests {
    @Test func theViewsLogStartsAgainWhileFlushesAndReadsGoOn() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/vigil.projections.sqlite"
            let views = try ProjectionDatabase.open(path: path)
            let flushes = 4000
            try await withThrowingTaskGroup { group in
                // What ViewLogService does every second, here every few milliseconds, with a small log allowed.
                group.addTask {
                    while !Task.isCancelled {
                        try await views.moveLogIntoFile(restartingPast: 32)
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
                // Officers' reads meanwhile: each one is a snapshot that may hold the log where it was.
                group.addTask {
                    while !Task.isCancelled { _ = try await views.checkpoint() }
                }
                for position in 1...flushes {
                    try await views.write(settings: .default) { views in
                        try views.setCheckpoint(
                            position: Int64(position), evaluated: Int64(position),
                            now: Timestamp(microsecondsSinceEpoch: 0))
                    }
                }
                group.cancelAll()
            }
            // Each flush appended at least one 4 KB page to the log. A log that is never started again holds all of
            // them; one that is started again keeps only what came between two restarts.
            let frameBytes = 4096 + 24
            let logBytes = try #require(
                try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
            #expect(
                logBytes < flushes * frameBytes / 2,
                "the views' log holds \(logBytes / frameBytes) frames after \(flushes) flushes")
            try views.close()
        }
    }
}
