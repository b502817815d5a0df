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
}
