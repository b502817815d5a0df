import Logging
import Testing
import VigilSystemd

@Suite struct JournalLogHandlerTests {
    @Test func metadataKeysBecomeVigilFields() {
        #expect(JournalLogHandler.fieldName(for: "alert.rule") == "VIGIL_ALERT_RULE")
        #expect(JournalLogHandler.fieldName(for: "ingest.code") == "VIGIL_INGEST_CODE")
        #expect(JournalLogHandler.fieldName(for: "hb.request.id") == "VIGIL_HB_REQUEST_ID")
        #expect(JournalLogHandler.fieldName(for: "weird-key é") == "VIGIL_WEIRD_KEY__")
        #expect(JournalLogHandler.fieldName(for: String(repeating: "a", count: 100)).count == 64)
    }

    @Test func levelsMapToSyslogPriorities() {
        let expected: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, priority) in expected {
            #expect(JournalLogHandler.priority(of: level) == priority)
        }
    }

    @Test func theLevelFollowsTheControlUnlessSetOnTheLogger() {
        let control = LogLevelControl(.info)
        var handler = JournalLogHandler(label: "test", control: control)
        #expect(handler.logLevel == .info)
        control.level = .debug
        #expect(handler.logLevel == .debug)
        handler.logLevel = .error
        control.level = .trace
        #expect(handler.logLevel == .error)
    }
}
