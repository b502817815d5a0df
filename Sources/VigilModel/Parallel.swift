import Foundation

/// Data-parallel helpers for CPU-bound work (signature checks, decoding) across the machine's cores.
public enum Parallel {
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Maps `items` with `transform`, in order, splitting them into one contiguous chunk per core. Small
    /// inputs run on the calling task.
    public static func map<Item: Sendable, Output: Sendable>(
        _ items: [Item], minimumChunk: Int = 16, _ transform: @escaping @Sendable (Item) -> Output
    ) async -> [Output] {
        let workers = min(cores, max(1, items.count / minimumChunk))
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
}
