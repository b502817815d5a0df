import Testing
import VigilModel

@Suite struct FailureStreakTests {
    @Test func aRunOfFailuresIsSaidOnceAndItsEndOnce() {
        enum Attempt { case success, failure }
        var streak = FailureStreak()
        let attempts: [Attempt] = [.success, .failure, .failure, .failure, .success, .success, .failure, .success]
        let said = attempts.map { attempt in
            switch attempt {
            case .success: streak.succeeded()
            case .failure: streak.failed()
            }
        }
        // Only the first failure of each run, and the success that ends it, are worth saying.
        #expect(said == [false, true, false, false, true, false, true, true])
        #expect(!streak.failing)
    }
}
