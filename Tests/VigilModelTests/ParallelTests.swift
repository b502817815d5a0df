import Foundation
import Testing
import VigilModel

@Suite struct ParallelTests {
    /// Work the daemon does beside the requests (the periodic log and views checks) runs on a thread of its own at
    /// nice 10, so the scheduler gives the requests' threads the cores first; the caller's thread keeps its own.
    @Test func workBesideTheRequestsRunsOnAThreadOfItsOwnAtALowerPriority() async {
        @Sendable func nice() -> Int32 {
            errno = 0
            return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        }
        let caller = nice()
        let lowered = await Parallel.onThreadOfItsOwn(lowerPriority: true) { nice() }
        #expect(lowered == min(caller + 10, 19))
        #expect(nice() == caller, "the caller's thread is not lowered")
        let unchanged = await Parallel.onThreadOfItsOwn(lowerPriority: false) { nice() }
        #expect(unchanged == caller)
    }
}
