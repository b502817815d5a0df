import ServiceLifecycle

/// Runs `body` every `interval` (the first time one interval after start) until graceful shutdown begins;
/// with no interval, only waits for shutdown. For the daemon's periodic services.
func repeatEvery(_ interval: Duration?, _ body: () async -> Void) async {
    guard let interval else {
        try? await gracefulShutdown()
        return
    }
    while !Task.isShuttingDownGracefully {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        } catch {
            return
        }
        await body()
    }
}
