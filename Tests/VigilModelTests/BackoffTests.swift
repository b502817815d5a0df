import Testing
import VigilModel

@Suite struct BackoffTests {
    @Test func waitsDoubleUpToTheCeiling() async {
        var backoff = Backoff(first: .milliseconds(1), ceiling: .milliseconds(3))
        #expect(backoff.delay == .milliseconds(1))
        await backoff.wait()
        #expect(backoff.delay == .milliseconds(2))
        await backoff.wait()
        #expect(backoff.delay == .milliseconds(3))
        await backoff.wait()
        #expect(backoff.delay == .milliseconds(3), "never past the ceiling")
        #expect(Backoff(first: .seconds(10), ceiling: .seconds(5)).delay == .seconds(5))
    }

    @Test func aScheduledRetryTakesTheDelaysAWaitWouldSleep() {
        var backoff = Backoff(first: .seconds(1), ceiling: .seconds(5))
        let delays = (0..<5).map { _ in backoff.next() }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(backoff.delay == .seconds(5))
    }
}
