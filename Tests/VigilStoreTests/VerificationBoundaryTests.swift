import Foundation
import Testing

/// Only code that verifies signatures may make a `VerifiedEvent`: the initialiser is behind the `Verification`
/// SPI, and this test names every source file allowed to import it. A new importer is a decision to review here,
/// not something the compiler lets through unnoticed.
@Suite struct VerificationBoundaryTests {
    static let allowed: Set<String> = [
        "Sources/VigilIngest/Ingestor.swift",
        "Sources/VigilAlerts/AlertEngine.swift",
        "Tests/VigilTestSupport/Fixtures.swift",
        "Tests/VigilEndToEndTests/IntegrityTests.swift",
        "Benchmarks/VigilBench/ClinicLog.swift",
    ]

    @Test func onlyTheVerifiersImportTheVerificationSPI() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var importers: Set<String> = []
        for folder in ["Sources", "Tests", "Benchmarks", "Fuzz"] {
            guard
                let files = FileManager.default.enumerator(
                    at: root.appending(path: folder), includingPropertiesForKeys: nil)
            else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                let relative = String(file.path.dropFirst(root.path.count + 1))
                if text.split(separator: "\n").contains(where: {
                    $0.hasPrefix("@_spi(Verification)") && $0.contains("import")
                }) {
                    importers.insert(relative)
                }
            }
        }
        #expect(importers == Self.allowed)
    }
}
