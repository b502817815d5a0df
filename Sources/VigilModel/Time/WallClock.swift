#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The source of "now" for everything that stamps or compares wall-clock time.
///
/// Injected so tests can run clinical clocks (skew limits, deadlines) without waiting.
package protocol WallClock: Sendable {
    func now() -> Timestamp
}

/// The system's real-time clock.
package struct SystemWallClock: WallClock {
    package init() {}

    package func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microsecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
