import Foundation
import Testing

/// The boundaries the compiler keeps, and the two this test names so that widening them is a reviewed decision.
///
/// Vigil ships programs, not a library: its modules share `package` declarations, and the only `public` one is
/// ``VerifierSeal``, whose initialiser sits behind the `Verification` SPI so that only code that verifies
/// signatures can make a `VerifiedEvent`. This test names every source file allowed to import that SPI.
@Suite struct VerificationBoundaryTests {
    static let allowedImporters: Set<String> = [
        "Sources/VigilIngest/Ingestor.swift",
        "Sources/VigilAlerts/AlertEngine.swift",
        "Tests/VigilTestSupport/Fixtures.swift",
        "Tests/VigilEndToEndTests/IntegrityTests.swift",
        "Benchmarks/VigilBench/ClinicLog.swift",
    ]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every Swift file under the package's source folders, by path relative to the package, with its lines.
    static func sources() throws -> [(path: String, lines: [Substring])] {
        var found: [(path: String, lines: [Substring])] = []
        for folder in ["Sources", "Tests", "Benchmarks", "Fuzz"] {
            guard
                let files = FileManager.default.enumerator(
                    at: root.appending(path: folder), includingPropertiesForKeys: nil)
            else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                found.append(
                    (
                        String(file.path.dropFirst(root.path.count + 1)),
                        text.split(separator: "\n", omittingEmptySubsequences: false)
                    ))
            }
        }
        return found
    }

    @Test func onlyTheVerifiersImportTheVerificationSPI() throws {
        let importers = try Self.sources().filter { file in
            file.lines.contains { $0.hasPrefix("@_spi(Verification)") && $0.contains("import") }
        }
        #expect(Set(importers.map(\.path)) == Self.allowedImporters)
    }

    @Test func nothingIsPublicButTheVerifierSeal() throws {
        let declaration = /^\s*(@\w+(\([^)]*\))?\s+)*(\w+\s+)*public\s/
        var publicLines: [String] = []
        for file in try Self.sources() {
            for (number, line) in file.lines.enumerated() where line.firstMatch(of: declaration) != nil {
                publicLines.append("\(file.path):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(
            publicLines == [
                "Sources/VigilStore/StoreTypes.swift:29: public struct VerifierSeal: Sendable {",
                "Sources/VigilStore/StoreTypes.swift:31: public init() {}",
            ])
    }
}
