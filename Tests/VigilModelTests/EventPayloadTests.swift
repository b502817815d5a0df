import Testing
import VigilModel
import VigilTestSupport

@Suite struct EventPayloadTests {
    let context = ValidationContext(limits: .default, now: Fixtures.now())

    @Test func everyTypeHasASampleAndRoundTrips() throws {
        let samples = Samples.everyType(keys: TestKeys())
        #expect(Set(samples.map(\.payload.type)) == Set(EventType.allCases))
        for sample in samples {
            let decoded = try EventPayload.decode(sample.payload.jsonBytes, context: context)
            #expect(decoded == sample.payload, "\(sample.payload.type)")
        }
    }

    /// Takes a valid vitals event as JSON, applies `edit`, and returns the error's field path and reason.
    func refusal(of type: EventType = .vitalsRecorded, _ edit: (inout JSONObject) -> Void) -> String? {
        let sample = Samples.everyType(keys: TestKeys()).first { $0.payload.type == type }!.payload
        guard case .object(var object) = sample.json else { return nil }
        edit(&object)
        do {
            _ = try EventPayload.decode(JSONWriter.bytes(.object(object)), context: context)
            return nil
        } catch {
            return error.description
        }
    }

    func setData(_ key: String, _ value: JSONValue?) -> (inout JSONObject) -> Void {
        { object in
            guard case .object(var data)? = object["data"] else { return }
            data[key] = value
            object["data"] = .object(data)
        }
    }

    @Test func namesTheFieldOfEveryRefusal() {
        #expect(
            refusal(setData("hartRate", .number(JSONNumber(80))))?.hasPrefix("data.hartRate: unknown field") == true)
        #expect(
            refusal(setData("systolic", .number(JSONNumber(400))))?.hasPrefix(
                "data.systolic: must be between 40 and 300") == true)
        #expect(
            refusal(setData("diastolic", .number(JSONNumber(150))))?.hasPrefix("data.diastolic: must be below systolic")
                == true)
        #expect(refusal(setData("temperatureC", .number(JSONNumber(3))))?.hasPrefix("data.temperatureC") == true)
        #expect(refusal(setData("systolic", .string("high")))?.hasPrefix("data.systolic: must be a number") == true)
        #expect(refusal(setData("systolic", .null))?.contains("must not be null") == true)
        #expect(refusal { $0["id"] = .string("not-a-uuid") }?.hasPrefix("id: must be a UUID") == true)
        #expect(refusal { $0["type"] = .string("vitals.recordd") }?.hasPrefix("type: is not an event type") == true)
        #expect(
            refusal { $0["occurredAt"] = .string("2026-11-21T10:15:00") }?.hasPrefix("occurredAt: must be an RFC 3339")
                == true)
        #expect(
            refusal { $0["occurredAt"] = .string("2999-01-01T00:00:00Z") }?.hasPrefix("occurredAt: lies in the future")
                == true)
        #expect(refusal { $0["session"] = nil }?.hasPrefix("session: is required") == true)
        #expect(refusal { $0["participant"] = .string("Jane Doe") }?.hasPrefix("participant: must use letters") == true)
        #expect(refusal { $0["extra"] = .bool(true) }?.hasPrefix("extra: unknown field") == true)
        #expect(refusal { $0["data"] = .array([]) }?.hasPrefix("data: must be an object") == true)
        #expect(refusal { $0["data"] = .object(JSONObject()) }?.contains("at least one of") == true)
    }

    @Test func acceptsLateEntriesAndKeepsTheirTime() throws {
        let sample = Fixtures.vitals(at: Timestamp(rfc3339: "2020-01-01T08:00:00+02:00")!)
        let decoded = try EventPayload.decode(sample.jsonBytes, context: context)
        #expect(decoded.occurredAt.rfc3339 == "2020-01-01T06:00:00.000000Z")
    }

    @Test func dosesAreCheckedAgainstTheConfiguredCeiling() {
        #expect(
            refusal(of: .doseDispensed, setData("doseMg", .number(JSONNumber(0))))?.contains("greater than 0") == true)
        #expect(
            refusal(of: .doseDispensed, setData("doseMg", .number(JSONNumber(-40))))?.contains("greater than 0") == true
        )
        #expect(
            refusal(of: .doseDispensed, setData("doseMg", .number(JSONNumber(1200))))?.contains("at most 250 mg")
                == true)
        #expect(
            refusal(of: .doseDispensed, setData("doseMg", .number(JSONNumber(uncheckedLiteral: "40.0001"))))?.contains(
                "3 decimals") == true)
        #expect(
            refusal(of: .doseDispensed, setData("kind", .string("booster")))?.contains("\"initial\", \"supplemental\"")
                == true)
    }

    @Test func scalesAreChecked() {
        #expect(
            refusal(of: .moodCheckCompleted, setData("phq9", .array([.number(JSONNumber(1))])))?.contains("exactly 9")
                == true)
        let ten = JSONValue.array((0..<9).map { _ in .number(JSONNumber(4)) })
        #expect(
            refusal(of: .moodCheckCompleted, setData("phq9", ten))?.hasPrefix("data.phq9[0]: must be between 0 and 3")
                == true)
        #expect(
            refusal(of: .moodCheckCompleted, setData("cssrs", .object(JSONObject(["q1": .bool(true)]))))?.hasPrefix(
                "data.cssrs.q2: is required") == true)
        #expect(
            refusal(of: .moodCheckCompleted, setData("day", .number(JSONNumber(91))))?.hasPrefix("data.day") == true)
        #expect(
            refusal(of: .adverseEventReported, setData("severity", .number(JSONNumber(6))))?.hasPrefix("data.severity")
                == true)
        #expect(
            refusal(of: .adverseEventReported, setData("criteria", .array([])))?.contains("at least one criterion")
                == true)
        #expect(
            refusal(of: .adverseEventReported, setData("onset", .string("2026-02-30")))?.hasPrefix("data.onset") == true
        )
    }
}
