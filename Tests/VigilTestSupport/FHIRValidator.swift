import Foundation

/// `scripts/validate-fhir`: loads a FHIR export with a real FHIR library (fhir.resources' R4B models) and checks
/// that every reference inside a bundle resolves.
package enum FHIRValidator {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/validate-fhir").path

    package struct Report: Sendable {
        package var valid: Bool
        /// Resources per type.
        package var counts: [String: Int]
        /// What the library refused, when it refused anything.
        package var problems: String
    }

    package static func check(_ path: String) async throws -> Report {
        try await onOwnThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, path]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            var counts: [String: Int] = [:]
            for line in stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, let count = Int(parts[1]) { counts[String(parts[0])] = count }
            }
            return Report(valid: process.terminationStatus == 0, counts: counts, problems: stderr)
        }
    }
}
