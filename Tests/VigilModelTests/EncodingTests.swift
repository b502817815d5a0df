import Testing
import VigilModel

@Suite struct EncodingTests {
    @Test func base64RoundTripsEveryLength() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
    }

    @Test(arguments: ["Zm8", "Zm9=", "Zm8==", "Z===", "Zm 8=", "Zm8=\n", "Zm-8", "=Zm8"])
    func base64RefusesNonCanonicalText(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func hexRoundTrips() {
        #expect(Hex.encode([0x00, 0xAB, 0xFF]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xAB, 0xFF])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func eventIDsParseAndPrintCanonically() throws {
        let id = try #require(EventID("0192F8A2-7B3C-7DEF-8123-456789ABCDEF"))
        #expect(id.description == "0192f8a2-7b3c-7def-8123-456789abcdef")
        #expect(EventID(bytes: id.bytes) == id)
        #expect(EventID("0192f8a27b3c7def8123456789abcdef") == nil)
        #expect(EventID("0192f8a2-7b3c-7def-8123-456789abcdeg") == nil)
    }

    @Test func uuidV7IsTimeOrderedAndVersioned() throws {
        let early = EventID.v7(at: Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000))
        let late = EventID.v7(at: Timestamp(microsecondsSinceEpoch: 1_700_000_001_000_000))
        #expect(early < late)
        #expect(Array(early.description)[14] == "7")
        #expect(["8", "9", "a", "b"].contains(Array(early.description)[19]))
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-21T10:15:00Z", 1_795_256_100_000_000),
        ("2026-11-21T11:15:00+01:00", 1_795_256_100_000_000),
        ("2026-11-21t10:15:00.5z", 1_795_256_100_500_000),
        ("2026-11-21T10:15:00.123456789Z", 1_795_256_100_123_456),
        ("2024-02-29T23:59:60Z", 1_709_251_199_999_999),
        ("1969-12-31T23:59:59.999999Z", -1),
    ])
    func parsesRFC3339(text: String, micros: Int64) throws {
        let time = try #require(Timestamp(rfc3339: text))
        #expect(time.microsecondsSinceEpoch == micros)
        #expect(Timestamp(rfc3339: time.rfc3339) == time)
    }

    @Test(arguments: [
        "2026-11-21T10:15:00", "2026-11-21 10:15:00Z", "2026-02-30T10:15:00Z", "2026-11-21T24:00:00Z",
        "2026-11-21T10:15Z",
        "2026-11-21T10:15:00+0100", "2026-11-21T10:15:00.Z", "2025-02-29T00:00:00Z", "26-11-21T10:15:00Z", "",
    ])
    func refusesOtherText(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func calendarDatesRoundTrip() throws {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let date = CalendarDate(daysSinceEpoch: days)
            guard date.components.year >= 1 && date.components.year <= 9999 else { continue }
            #expect(CalendarDate(iso8601: date.iso8601) == date)
        }
        #expect(CalendarDate(iso8601: "2024-02-29") != nil)
        #expect(CalendarDate(iso8601: "2023-02-29") == nil)
    }

    @Test func milligramsPrintExactly() {
        #expect(Milligrams(micrograms: 120_000).description == "120")
        #expect(Milligrams(micrograms: 40_500).description == "40.5")
        #expect(Milligrams(micrograms: 125).description == "0.125")
        #expect(Milligrams(micrograms: -1500).description == "-1.5")
        #expect(Milligrams(micrograms: -500).description == "-0.5")
    }
}
