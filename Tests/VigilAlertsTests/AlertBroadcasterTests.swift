import Testing
import VigilAlerts

@Suite struct AlertBroadcasterTests {
    /// Shutdown finishes the live streams while subscribers are still attached (a console tab left open); that
    /// once took the broadcaster's lock twice and crashed vigild on SIGTERM.
    @Test func finishingEndsStreamsThatAreStillSubscribed() async {
        let broadcaster = AlertBroadcaster()
        let streams = (0..<3).map { _ in broadcaster.subscribe() }
        #expect(broadcaster.subscriberCount == 3)
        broadcaster.heartbeat()
        broadcaster.finish()
        for stream in streams {
            var received = 0
            for await _ in stream { received += 1 }
            #expect(received == 1, "the heartbeat, then the end")
        }
        #expect(broadcaster.subscriberCount == 0)
    }
}
