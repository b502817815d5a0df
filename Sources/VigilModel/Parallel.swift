import Foundation

/// Data-parallel helpers for CPU-bound work (signature checks, decoding) across the machine's cores.
package enum Parallel {
    package static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Maps `items` with `transform`, in order, splitting them into a few contiguous chunks per core (so that a
    /// core busy with something else does not hold the whole map back). Small inputs run on the calling task.
    package static func map<Item: Sendable, Output: Sendable>(
        _ items: [Item], minimumChunk: Int = 16, _ transform: @escaping @Sendable (Item) -> Output
    ) async -> [Output] {
        let workers = min(cores * 4, max(1, items.count / minimumChunk))
        if workers <= 1 { return items.map(transform) }
        let chunk = (items.count + workers - 1) / workers
        return await withTaskGroup(of: (Int, [Output]).self) { group in
            for worker in 0..<workers {
                let start = worker * chunk
                let end = min(start + chunk, items.count)
                guard start < end else { continue }
                group.addTask { (worker, items[start..<end].map(transform)) }
            }
            var parts = [[Output]](repeating: [], count: workers)
            for await (worker, part) in group { parts[worker] = part }
            return parts.flatMap { $0 }
        }
    }

    /// Maps `items` with `transform` on every core, in order, blocking the calling thread until done: for
    /// offline work on a thread of its own (the verifier), never on the cooperative pool's threads.
    package static func mapBlocking<Item, Output>(
        _ items: [Item], minimumChunk: Int = 16, _ transform: @Sendable (Item) -> Output
    ) -> [Output] {
        let workers = min(cores, max(1, items.count / minimumChunk))
        if workers <= 1 { return items.map(transform) }
        let chunk = (items.count + workers - 1) / workers
        return [Output](unsafeUninitializedCapacity: items.count) { buffer, initialized in
            // Each worker initialises its own disjoint range of the buffer.
            nonisolated(unsafe) let output = buffer
            items.withUnsafeBufferPointer { input in
                nonisolated(unsafe) let input = input
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let start = worker * chunk
                    let end = min(start + chunk, input.count)
                    guard start < end else { return }
                    for index in start..<end { (output.baseAddress! + index).initialize(to: transform(input[index])) }
                }
            }
            initialized = items.count
        }
    }

    /// Runs `body` on a thread of its own, for work that takes a while and must not hold a thread of the
    /// cooperative pool; with `lowerPriority` the thread runs at nice 10, so that the requests' threads come
    /// first whenever both want a core (on Linux the nice value belongs to the thread: this lowers `body` alone).
    package static func onThreadOfItsOwn<Output: Sendable>(
        lowerPriority: Bool, _ body: @escaping @Sendable () -> Output
    ) async -> Output {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                if lowerPriority { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
                continuation.resume(returning: body())
            }
        }
    }
}
