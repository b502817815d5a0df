import Foundation
import Testing

/// Every log metadata key in the sources is `component.field` (docs/operations.md, The journal): the journal's
/// `VIGIL_*` field names are derived from them, and operators filter on those.
@Suite struct LogKeyStyleTests {
    @Test func everyMetadataKeyIsComponentDotField() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "Sources")
        // A metadata entry's value is an interpolated string: `"alert.rule": "\(...)"` or `metadata["key"] = "\(`.
        let entry = try Regex(#""([A-Za-z0-9_.]+)"(?:\]\s*=|:)\s*"\\\("#)
        let style = try Regex(#"^[a-z]+(\.[a-z][A-Za-z0-9]*)+$"#)
        var offending: [String] = []
        var seen = 0
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: entry) {
                guard let key = match.output[1].substring.map(String.init) else { continue }
                seen += 1
                if key.wholeMatch(of: style) == nil { offending.append("\(file.lastPathComponent): \(key)") }
            }
        }
        #expect(seen > 50, "the scan found the log calls")
        #expect(offending.isEmpty, "metadata keys not in component.field style: \(offending)")
    }
}
