import Foundation
import Testing
import VigilModel

@testable import VigilProjections

@Suite struct ViewCodingTests {
    let time = Timestamp(rfc3339: "2026-03-02T09:00:00.5Z")!

    @Test func viewsHaveOneCompactFormWithSortedKeysAndNoNulls() throws {
        let lot = LotView(
            lot: "L-1", substance: nil, receivedMg: Milligrams(micrograms: 10_000_000),
            dispensedMg: Milligrams(micrograms: 482_500), wastedMg: .zero, destroyedMg: .zero, lostMg: .zero,
            onHandMg: Milligrams(micrograms: 9_517_500), received: true, lastCount: nil, lastActivity: time)
        let text = String(decoding: try ViewCoding.encode(lot), as: UTF8.self)
        #expect(
            text
                == #"{"destroyedMg":0,"dispensedMg":482.5,"lastActivity":"2026-03-02T09:00:00.500000Z","lostMg":0,"lot":"L-1","onHandMg":9517.5,"received":true,"receivedMg":10000,"wastedMg":0}"#
        )
        #expect(try ViewCoding.decode(LotView.self, from: try ViewCoding.encode(lot)) == lot, "exact milligrams back")
    }

    @Test func vigilctlReadsBackWhatTheDaemonWrites() throws {
        let id = EventID("0190f0c6-7a2b-7c3d-8e4f-5a6b7c8d9e0f")!
        let alert = AlertView(
            alertId: id, rule: .hypertension, severity: .urgent, participant: "P-1", session: "P-1-S1",
            causes: [id], message: "blood pressure \"165/95\" mmHg\n(at or above 160/100)", raisedAt: time,
            position: 42,
            acknowledged: AlertAction(
                keyid: KeyID(publicKey: [1, 2, 3]), name: "Sam Safety", at: time, note: "called", position: 43))
        let list = AlertList(alerts: [alert], asOf: 43, next: 42)
        let decoded = try ViewCoding.decode(AlertList.self, from: try ViewCoding.encode(list))
        #expect(decoded == list)
        let reading = VitalsReading(
            at: time, session: "S", position: 7, systolic: 150, diastolic: nil, heartRate: 101.5, temperatureC: 37.8,
            spo2: nil, minutesFromInitialDose: 0.1)
        #expect(try ViewCoding.decode(VitalsReading.self, from: try ViewCoding.encode(reading)) == reading)
        let json = String(decoding: try ViewCoding.encode(reading), as: UTF8.self)
        #expect(json.contains(#""systolic":150,"#) && json.contains(#""temperatureC":37.8"#))
        #expect(!json.contains("null"))
    }
}
