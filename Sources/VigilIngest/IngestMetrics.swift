import Metrics
import VigilModel
import VigilStore

/// Counters of what became of submitted events, by outcome and by refusal code.
struct IngestMetrics: Sendable {
    private let stored: Counter
    private let duplicates: Counter
    private let refused: [IngestError.Code: Counter]

    init(factory: any MetricsFactory) {
        stored = Counter(label: "vigil_ingest_events_total", dimensions: [("outcome", "stored")], factory: factory)
        duplicates = Counter(
            label: "vigil_ingest_events_total", dimensions: [("outcome", "duplicate")], factory: factory)
        var refused: [IngestError.Code: Counter] = [:]
        for code in IngestError.Code.allCases {
            refused[code] = Counter(
                label: "vigil_ingest_refused_total", dimensions: [("code", code.rawValue)], factory: factory)
        }
        self.refused = refused
    }

    func record(_ outcome: AppendOutcome) {
        switch outcome {
        case .stored: stored.increment()
        case .duplicate: duplicates.increment()
        case .refused(let error): refused[error.code]?.increment()
        }
    }
}
