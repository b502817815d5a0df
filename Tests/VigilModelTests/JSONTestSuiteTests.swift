import Foundation
import Testing
import VigilModel

/// Vigil's strict JSON parser against the parsing cases of JSONTestSuite (Nicolas Seriot, MIT licence; copied in
/// `JSONTestSuite/`): every `n_` case refused, every `y_` case accepted except the strictness listed below, every
/// `i_` case answered either way without a crash.
@Suite struct JSONTestSuiteTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("JSONTestSuite/test_parsing")

    /// `y_` cases Vigil refuses on purpose, and why.
    static let strictness: [String: String] = [
        "y_object_duplicated_key.json": "a duplicate key is refused: which value counts must never be a guess",
        "y_object_duplicated_key_and_value.json": "a duplicate key is refused, even with the same value",
    ]

    static func cases(_ prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(prefix) }.sorted()
    }

    static func parses(_ name: String) throws -> Bool {
        let bytes = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
        do {
            _ = try JSONParser.parse(bytes)
            return true
        } catch {
            return false
        }
    }

    @Test func everyCaseThatMustBeRefusedIs() throws {
        let cases = try Self.cases("n_")
        #expect(cases.count == 188)
        let accepted = try cases.filter { try Self.parses($0) }
        #expect(accepted.isEmpty, "accepted what JSON forbids: \(accepted)")
    }

    @Test func everyCaseThatMustBeAcceptedIsSaveTheListedStrictness() throws {
        let cases = try Self.cases("y_")
        #expect(cases.count == 95)
        let refused = try cases.filter { try !Self.parses($0) }
        #expect(Set(refused) == Set(Self.strictness.keys), "refused beyond the listed strictness: \(refused)")
    }

    @Test func implementationDefinedCasesAnswerWithoutACrash() throws {
        let cases = try Self.cases("i_")
        #expect(cases.count == 35)
        var answers: [String: Bool] = [:]
        for name in cases { answers[name] = try Self.parses(name) }
        #expect(answers.count == 35)
        // Invalid UTF-8 and lone surrogates are refused, whatever a laxer parser does.
        #expect(answers["i_string_invalid_utf-8.json"] == false)
        #expect(answers["i_string_1st_surrogate_but_2nd_missing.json"] == false)
    }
}
