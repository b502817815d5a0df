import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

/// What a daemon acknowledged, and the check that its store still holds all of it.
struct Acknowledged {
    var entries: [(envelope: [UInt8], position: Int64)] = []

    /// Records the positions a `POST /v1/events` or `/v1/events/batch` answer gave `envelopes`.
    mutating func record(_ envelopes: [[UInt8]], answer: TestHTTPClient.Response) throws {
        guard answer.status == 200 || answer.status == 201 else { return }
        let root = try JSONParser.parse(answer.body)
        var results = [root]
        if case .object(let object) = root, case .array(let list)? = object["results"] { results = list }
        for (envelope, result) in zip(envelopes, results) {
            if case .object(let object) = result, case .number(let number)? = object["position"],
                let position = number.integerValue
            {
                entries.append((envelope, position))
            }
        }
    }

    /// Reads the whole store at `path` and checks that positions run 1, 2, 3 ... without a gap, that every
    /// acknowledged envelope is at its position with its exact bytes, and that the chain verifies with every
    /// signature. Returns the number of entries stored.
    @discardableResult
    func checkStore(at path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let reader = try LogReader(path: path)
        defer { reader.close() }
        var stored: [Int64: [UInt8]] = [:]
        var after: Int64 = 0
        while true {
            let page = try reader.entries(after: after, limit: 4096)
            guard !page.isEmpty else { break }
            for entry in page {
                #expect(
                    entry.position == after + 1, "a gap before position \(entry.position)",
                    sourceLocation: sourceLocation)
                after = entry.position
                stored[entry.position] = entry.envelope
            }
        }
        let lost = entries.filter { stored[$0.position] != $0.envelope }.count
        #expect(
            lost == 0, "\(lost) of \(entries.count) acknowledged events are missing or changed",
            sourceLocation: sourceLocation)
        let report = try LogVerifier.verify(path: path)
        #expect(report.isValid, "\(String(describing: report.failure))", sourceLocation: sourceLocation)
        #expect(report.entriesChecked == Int64(stored.count), sourceLocation: sourceLocation)
        return stored.count
    }
}
