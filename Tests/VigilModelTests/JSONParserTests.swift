import Testing
import VigilModel

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(Array(#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\n"], "b": {}} "#.utf8))
        guard case .object(let object) = value, case .array(let array)? = object["a"] else {
            Issue.record("not an object with an array")
            return
        }
        #expect(array.count == 6)
        #expect(array[0] == .number(JSONNumber(uncheckedLiteral: "1")))
        #expect(array[1] == .number(JSONNumber(uncheckedLiteral: "-2.5e3")))
        #expect(array[5] == .string("xé\n"))
        #expect(object["b"] == .object(JSONObject()))
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate key"),
        (#"{"a":1} x"#, "unexpected bytes"),
        (#"{"a":01}"#, "leading zeros"),
        (#"{"a":"\ud800"}"#, "unpaired"),
        (#"{"a":"\udc00x"}"#, "unpaired"),
        ("{\"a\":\"\u{1}\"}", "control character"),
        (#"{"a":1,}"#, "expected a string key"),
        (#"[1,2"#, "unterminated"),
        (#"{"a":tru}"#, "invalid literal"),
        (#"{"a":1.}"#, "invalid number"),
        (#"{"a":"\x"}"#, "invalid escape"),
        ("", "unexpected end"),
    ])
    func refusesInvalidText(text: String, reason: String) {
        #expect {
            try JSONParser.parse(Array(text.utf8))
        } throws: { error in
            (error as? JSONParseError)?.reason.contains(reason) == true
        }
    }

    @Test func refusesDuplicateKeysInLargeObjects() {
        var members = (0..<40).map { "\"k\($0)\": \($0)" }
        members.append("\"k7\": 0")
        let text = "{" + members.joined(separator: ",") + "}"
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONParser.parse(Array(fine.utf8)) }
    }

    @Test func splitsArraysKeepingEachElementsBytes() throws {
        let text = #"  [ {"a": 1} ,{"b":[2, 3]}, "s" ]  "#
        let elements = try JSONParser.parseArrayElements(Array(text.utf8))
        let slices = elements.map { String(decoding: Array(text.utf8)[$0.range], as: UTF8.self) }
        #expect(slices == [#"{"a": 1}"#, #"{"b":[2, 3]}"#, #""s""#])
        #expect(try JSONParser.parseArrayElements(Array("[]".utf8)).isEmpty)
        #expect(throws: JSONParseError.self) { try JSONParser.parseArrayElements(Array("{}".utf8)) }
    }

    @Test func writerOutputParsesBackToTheSameValue() throws {
        let value = JSONValue.object(
            JSONObject([
                "quote": .string("a \"b\" \\ c\u{0}\u{1f}\t"), "n": .number(JSONNumber(12.5)),
                "list": .array([.null, .bool(true)]),
                "emoji": .string("🧪"),
            ])
        )
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
    }

    @Test(arguments: [
        ("120", 3, Int64(120_000)), ("40.5", 3, 40_500), ("0.125", 3, 125), ("1.2e2", 3, 120_000),
        ("1200e-1", 3, 120_000),
        ("-3", 3, -3000), ("0", 3, 0), ("2.0", 0, 2),
    ])
    func scalesDecimalLiteralsExactly(literal: String, places: Int, expected: Int64) {
        #expect(JSONNumber.scaledInteger(literal, decimalPlaces: places) == expected)
    }

    @Test func refusesInexactScaling() {
        #expect(JSONNumber.scaledInteger("1.2345", decimalPlaces: 3) == nil)
        #expect(JSONNumber.scaledInteger("2.5", decimalPlaces: 0) == nil)
        #expect(JSONNumber.scaledInteger("1e30", decimalPlaces: 3) == nil)
    }
}
